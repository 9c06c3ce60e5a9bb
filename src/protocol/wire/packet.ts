import { type DecodeResult, decodeFailure, WireEncodeError } from './errors.ts';
import type { Frame } from './frame-types.ts';
import { decodeFrames, encodedFrameLength, encodeFrame } from './frames.ts';
import { decodeHeader, encodeHeader, headerLength, type PacketHeader, PacketType } from './header.ts';

/** A decoded DATA packet: its header and its frames, in wire order (spec §3). */
export interface Packet {
  /** The packet header. */
  header: PacketHeader;
  /** The frames, at least one (R-WIRE-12). */
  frames: Frame[];
}

/** Throws {@link WireEncodeError} unless `packet` is a DATA packet whose frames can follow each other. */
function checkPacket(packet: Packet): void {
  if (packet.header.type !== PacketType.data) {
    throw new WireEncodeError(
      'invalid-header',
      `only DATA packets carry frames, got type ${packet.header.type}`,
    );
  }
  const frames = packet.frames;
  if (frames.length === 0)
    throw new WireEncodeError('invalid-frame', 'a DATA packet carries at least one frame');
  for (let i = 0; i < frames.length - 1; i++) {
    const frame = frames[i]!;
    // R-FRAME-14: a MESSAGE without LENGTH runs to the end of the packet, so it must be last.
    if (frame.type === 'message' && !frame.lengthPresent) {
      throw new WireEncodeError('invalid-frame', `MESSAGE frame ${i} without LENGTH is not the last frame`);
    }
  }
}

/** Encoded size of a DATA packet in bytes. Throws {@link WireEncodeError} if it cannot be encoded. */
export function encodedPacketLength(packet: Packet): number {
  checkPacket(packet);
  let length = headerLength(packet.header);
  for (const frame of packet.frames) length += encodedFrameLength(frame);
  return length;
}

/**
 * Encodes a DATA packet (header, then frames) into `buf` at `offset`; returns the offset after it. Throws
 * {@link WireEncodeError} on local misuse (invalid packet, buffer too small).
 */
export function encodePacket(packet: Packet, buf: Uint8Array, offset: number): number {
  checkPacket(packet);
  let at = encodeHeader(packet.header, buf, offset);
  for (const frame of packet.frames) at = encodeFrame(frame, buf, at);
  return at;
}

/**
 * Decodes a whole DATA packet (spec §3–§4). Never throws: malformed bytes give a typed failure and no frames
 * (R-WIRE-13). Other packet types are `unsupported-packet-type` here; use {@link decodeHeader} to dispatch them
 * (R-WIRE-11). Connection id and payloads in the result are views of `bytes`, not copies.
 */
export function decodePacket(bytes: Uint8Array): DecodeResult<Packet> {
  const decoded = decodeHeader(bytes);
  if (!decoded.ok) return decoded;
  const { header, bodyOffset } = decoded.value;
  if (header.type !== PacketType.data) return decodeFailure('unsupported-packet-type', 0);
  const frames = decodeFrames(bytes, bodyOffset);
  if (!frames.ok) return frames;
  return { ok: true, value: { header, frames: frames.value } };
}
