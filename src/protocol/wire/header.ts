import { type DecodeResult, decodeFailure, WireEncodeError } from './errors.ts';
import { varintAt, varintFailureReason } from './reader.ts';
import { varintLength } from './varint.ts';
import { writeBytes, writeU8, writeVarint } from './writer.ts';

/** The packet type in bits 7–6 of the flags byte (spec §3.1, R-WIRE-6). */
export const PacketType = {
  /** Frames (spec §4). */
  data: 0,
  /** Reserved for the handshake (spec §13). */
  handshake: 1,
  /** Reserved for FEC repair packets (spec §11). */
  fecRepair: 2,
  /** Reserved; not sent by this version (R-WIRE-11). */
  reserved: 3,
} as const;

/** One of the {@link PacketType} values. */
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** The header in front of every Ferry packet (spec §3.1). */
export interface PacketHeader {
  /** What follows the header (R-WIRE-6). */
  type: PacketType;
  /**
   * The destination connection id: 0, 4, 8 or 16 bytes (R-WIRE-7). In a decoded header this is a view of the
   * packet's bytes, not a copy.
   */
  connectionId: Uint8Array;
  /** The key phase bit, carried unchanged; its meaning is defined with the handshake (R-WIRE-9). */
  keyPhase: boolean;
  /** The packet number, a varint carried in full (R-WIRE-10). */
  packetNumber: number;
}

/** A decoded header and the offset of the first byte after it (where the frames or the ciphertext start). */
export interface DecodedHeader {
  /** The decoded header. */
  header: PacketHeader;
  /** Offset of the first byte after the header. */
  bodyOffset: number;
}

const typeShift = 6;
const connectionIdShift = 4;
const keyPhaseBit = 0x08;
const reservedBits = 0x07;
/** Connection id length in bytes for each 2-bit length code (R-WIRE-7). */
const connectionIdLengths = [0, 4, 8, 16] as const;

/** The 2-bit code for a connection id length, or -1 if the length is not allowed. */
function connectionIdCode(length: number): number {
  return connectionIdLengths.indexOf(length as 0 | 4 | 8 | 16);
}

/** Throws {@link WireEncodeError} unless `header` can be encoded. */
function checkHeader(header: PacketHeader): number {
  const code = connectionIdCode(header.connectionId.length);
  if (code < 0) {
    throw new WireEncodeError(
      'invalid-header',
      `connection id must be 0, 4, 8 or 16 bytes, got ${header.connectionId.length}`,
    );
  }
  if (!Number.isInteger(header.type) || header.type < 0 || header.type > 3) {
    throw new WireEncodeError('invalid-header', `packet type must be 0..3, got ${header.type}`);
  }
  return code;
}

/** Encoded size in bytes of `header` (spec §3.1). Throws {@link WireEncodeError} if it cannot be encoded. */
export function headerLength(header: PacketHeader): number {
  checkHeader(header);
  return 1 + header.connectionId.length + varintLength(header.packetNumber);
}

/**
 * Encodes `header` into `buf` at `offset` and returns the offset after it (spec §3.1). Throws
 * {@link WireEncodeError} if the header is invalid or `buf` is too small.
 */
export function encodeHeader(header: PacketHeader, buf: Uint8Array, offset: number): number {
  const code = checkHeader(header);
  const flags =
    (header.type << typeShift) | (code << connectionIdShift) | (header.keyPhase ? keyPhaseBit : 0);
  let at = writeU8(buf, offset, flags);
  at = writeBytes(buf, at, header.connectionId);
  return writeVarint(buf, at, header.packetNumber);
}

/**
 * Decodes the packet header at the start of `bytes` (spec §3.1). Never throws: a malformed header is a typed
 * failure (`truncated`, `reserved-bits`, `non-minimal-varint`, `value-too-large`). Every packet type decodes;
 * what follows a non-DATA header is left to the caller (R-WIRE-11).
 */
export function decodeHeader(bytes: Uint8Array): DecodeResult<DecodedHeader> {
  // Every datagram is decoded here by each layer it crosses, so this reads the bytes directly (no reader object).
  const end = bytes.length;
  if (end < 1) return decodeFailure('truncated', 0);
  const flags = bytes[0]!;
  // R-WIRE-8: reserved bits must be zero.
  if ((flags & reservedBits) !== 0) return decodeFailure('reserved-bits', 0);
  const pnAt = 1 + connectionIdLengths[(flags >>> connectionIdShift) & 0x03]!;
  if (pnAt > end) return decodeFailure('truncated', 1);
  const packetNumber = varintAt(bytes, pnAt, end);
  if (packetNumber < 0) return decodeFailure(varintFailureReason(packetNumber), pnAt);
  const connectionId = bytes.subarray(1, pnAt);
  return {
    ok: true,
    value: {
      header: {
        type: (flags >>> typeShift) as PacketType,
        connectionId,
        keyPhase: (flags & keyPhaseBit) !== 0,
        packetNumber,
      },
      bodyOffset: pnAt + (1 << (bytes[pnAt]! >>> 6)),
    },
  };
}
