import { WireEncodeError } from './errors.ts';
import { FrameType, type MessageFrame, messageLengthFlag, messageOffsetFlag } from './frame-types.ts';
import type { WireReader } from './reader.ts';
import { varintLength } from './varint.ts';
import { writeBytes, writeU8, writeVarint } from './writer.ts';

/** Whether the OFFSET fields must be written: the frame is not a whole message from offset 0 (R-FRAME-16). */
function needsOffset(frame: MessageFrame): boolean {
  return frame.offset !== 0 || frame.totalLength !== frame.payload.length;
}

/** Throws {@link WireEncodeError} unless the fragment lies inside its message (R-FRAME-15). */
function checkMessage(frame: MessageFrame): void {
  if (!(frame.offset + frame.payload.length <= frame.totalLength)) {
    throw new WireEncodeError(
      'invalid-frame',
      `MESSAGE fragment [${frame.offset}, +${frame.payload.length}) exceeds its total length ${frame.totalLength}`,
    );
  }
}

/** Encoded size of a MESSAGE frame (spec §4.7). Throws {@link WireEncodeError} if it is invalid. */
export function messageFrameLength(frame: MessageFrame): number {
  checkMessage(frame);
  let length = 1 + varintLength(frame.channelId) + varintLength(frame.messageId) + frame.payload.length;
  if (needsOffset(frame)) length += varintLength(frame.offset) + varintLength(frame.totalLength);
  if (frame.lengthPresent) length += varintLength(frame.payload.length);
  return length;
}

/** Encodes a MESSAGE frame (R-FRAME-13) at `offset`; returns the offset after it. */
export function encodeMessageFrame(frame: MessageFrame, buf: Uint8Array, offset: number): number {
  checkMessage(frame);
  const withOffset = needsOffset(frame);
  const type =
    FrameType.message | (withOffset ? messageOffsetFlag : 0) | (frame.lengthPresent ? messageLengthFlag : 0);
  let at = writeU8(buf, offset, type);
  at = writeVarint(buf, at, frame.channelId);
  at = writeVarint(buf, at, frame.messageId);
  if (withOffset) {
    at = writeVarint(buf, at, frame.offset);
    at = writeVarint(buf, at, frame.totalLength);
  }
  if (frame.lengthPresent) at = writeVarint(buf, at, frame.payload.length);
  return writeBytes(buf, at, frame.payload);
}

/**
 * Decodes a MESSAGE frame body whose type byte `type` (0x10–0x13) started at `frameAt`, or returns `undefined`
 * with the reader's error set (`invalid-message` for R-FRAME-15 and R-FRAME-16). The payload is a view.
 */
export function decodeMessageFrame(
  reader: WireReader,
  type: number,
  frameAt: number,
): MessageFrame | undefined {
  const channelId = reader.varint();
  const messageId = channelId < 0 ? -1 : reader.varint();
  if (messageId < 0) return undefined;
  const withOffset = (type & messageOffsetFlag) !== 0;
  const lengthPresent = (type & messageLengthFlag) !== 0;
  let offset = 0;
  let totalLength = -1;
  if (withOffset) {
    offset = reader.varint();
    totalLength = offset < 0 ? -1 : reader.varint();
    if (totalLength < 0) return undefined;
  }
  // R-FRAME-14: without LENGTH the payload runs to the end of the packet.
  const payloadLength = lengthPresent ? reader.varint() : reader.remaining;
  if (payloadLength < 0) return undefined;
  const payload = reader.view(payloadLength);
  if (payload === undefined) return undefined;
  if (!withOffset) {
    totalLength = payloadLength;
  } else if (offset + payloadLength > totalLength || (offset === 0 && totalLength === payloadLength)) {
    // R-FRAME-15: the fragment lies inside its message; R-FRAME-16: OFFSET is present only when needed.
    reader.fail('invalid-message', frameAt);
    return undefined;
  }
  return { type: 'message', channelId, messageId, offset, totalLength, payload, lengthPresent };
}
