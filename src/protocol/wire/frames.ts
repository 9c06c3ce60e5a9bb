import { ackFrameLength, decodeAckFrame, encodeAckFrame } from './ack-frame.ts';
import { closeFrameLength, decodeCloseFrame, encodeCloseFrame } from './close-frame.ts';
import { type DecodeResult, decodeFailure, WireEncodeError } from './errors.ts';
import { type Frame, FrameType } from './frame-types.ts';
import { decodeMessageFrame, encodeMessageFrame, messageFrameLength } from './message-frame.ts';
import { WireReader } from './reader.ts';
import { varintLength } from './varint.ts';
import { writeU8, writeVarint, writeZeros } from './writer.ts';

/** Throws {@link WireEncodeError} unless a PADDING frame's length is a positive integer (R-FRAME-4). */
function checkPadding(length: number): void {
  if (!(Number.isInteger(length) && length >= 1)) {
    throw new WireEncodeError('invalid-frame', `PADDING length must be a positive integer, got ${length}`);
  }
}

/** Encoded size of `frame` in bytes (spec §4). Throws {@link WireEncodeError} if it cannot be encoded. */
export function encodedFrameLength(frame: Frame): number {
  switch (frame.type) {
    case 'padding':
      checkPadding(frame.length);
      return frame.length;
    case 'ping':
      return 1;
    case 'ack':
      return ackFrameLength(frame);
    case 'close':
      return closeFrameLength(frame);
    case 'max_data':
      return 1 + varintLength(frame.maximumBytes);
    case 'max_channel_data':
      return 1 + varintLength(frame.channelId) + varintLength(frame.maximumBytes);
    case 'expired':
      return 1 + varintLength(frame.channelId) + varintLength(frame.forwardMessageId);
    case 'message':
      return messageFrameLength(frame);
  }
}

/**
 * Encodes `frame` into `buf` at `offset` and returns the offset after it (spec §4). Throws
 * {@link WireEncodeError} (a `RangeError`) if the frame is invalid or `buf` is too small: local misuse.
 */
export function encodeFrame(frame: Frame, buf: Uint8Array, offset: number): number {
  switch (frame.type) {
    case 'padding':
      checkPadding(frame.length);
      return writeZeros(buf, offset, frame.length);
    case 'ping':
      return writeU8(buf, offset, FrameType.ping);
    case 'ack':
      return encodeAckFrame(frame, buf, offset);
    case 'close':
      return encodeCloseFrame(frame, buf, offset);
    case 'max_data':
      // Check the value before writing the type byte so a misuse leaves no half frame.
      varintLength(frame.maximumBytes);
      return writeVarint(buf, writeU8(buf, offset, FrameType.maxData), frame.maximumBytes);
    case 'max_channel_data': {
      varintLength(frame.channelId);
      varintLength(frame.maximumBytes);
      const at = writeVarint(buf, writeU8(buf, offset, FrameType.maxChannelData), frame.channelId);
      return writeVarint(buf, at, frame.maximumBytes);
    }
    case 'expired': {
      varintLength(frame.channelId);
      varintLength(frame.forwardMessageId);
      const at = writeVarint(buf, writeU8(buf, offset, FrameType.expired), frame.channelId);
      return writeVarint(buf, at, frame.forwardMessageId);
    }
    case 'message':
      return encodeMessageFrame(frame, buf, offset);
  }
}

/**
 * Decodes one frame at the reader's offset, or returns `undefined` with the reader's error set. Unknown and
 * reserved types are `unknown-frame` (R-FRAME-1, R-FRAME-2).
 */
export function decodeFrame(reader: WireReader): Frame | undefined {
  const frameAt = reader.offset;
  const type = reader.u8();
  if (type < 0) return undefined;
  switch (type) {
    case FrameType.padding: {
      // R-FRAME-4: a run of zero bytes is one PADDING frame.
      const bytes = reader.bytes;
      let at = reader.offset;
      while (at < reader.end && bytes[at] === 0) at++;
      reader.offset = at;
      return { type: 'padding', length: at - frameAt };
    }
    case FrameType.ping:
      return { type: 'ping' };
    case FrameType.ack:
      return decodeAckFrame(reader);
    case FrameType.close:
      return decodeCloseFrame(reader);
    case FrameType.maxData: {
      const maximumBytes = reader.varint();
      return maximumBytes < 0 ? undefined : { type: 'max_data', maximumBytes };
    }
    case FrameType.maxChannelData: {
      const channelId = reader.varint();
      const maximumBytes = channelId < 0 ? -1 : reader.varint();
      return maximumBytes < 0 ? undefined : { type: 'max_channel_data', channelId, maximumBytes };
    }
    case FrameType.expired: {
      const channelId = reader.varint();
      const forwardMessageId = channelId < 0 ? -1 : reader.varint();
      return forwardMessageId < 0 ? undefined : { type: 'expired', channelId, forwardMessageId };
    }
    case 0x10:
    case 0x11:
    case 0x12:
    case 0x13:
      return decodeMessageFrame(reader, type, frameAt);
    default:
      reader.fail('unknown-frame', frameAt);
      return undefined;
  }
}

/**
 * Decodes the frames of a DATA packet's payload, from `offset` to the end of `bytes` (spec §4). Never throws:
 * malformed bytes give a typed failure whose offset counts from the start of `bytes`, and then no frame is
 * returned (R-WIRE-13). A payload without frames is `empty-packet` (R-WIRE-12). Payloads and connection ids
 * in the result are views of `bytes`.
 */
export function decodeFrames(bytes: Uint8Array, offset = 0): DecodeResult<Frame[]> {
  if (offset >= bytes.length) return decodeFailure('empty-packet', offset);
  const reader = new WireReader(bytes, offset);
  const frames: Frame[] = [];
  while (reader.offset < reader.end) {
    const frame = decodeFrame(reader);
    if (frame === undefined) return { ok: false, error: reader.error! };
    frames.push(frame);
  }
  return { ok: true, value: frames };
}
