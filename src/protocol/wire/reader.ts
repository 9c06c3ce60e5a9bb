import { WireError, type WireErrorReason } from './errors.ts';

/**
 * A checked view over untrusted bytes (design.md rule 4, after smoltcp). Every read checks the bounds and the
 * encoding rules; on the first failure the reader records a {@link WireError} and returns a sentinel (`-1` for
 * numbers, `undefined` for byte views). Nothing throws, and numbers are returned without allocating.
 */
export class WireReader {
  /** The bytes being decoded. */
  readonly bytes: Uint8Array;
  /** Offset one past the last readable byte. */
  readonly end: number;
  /** Offset of the next unread byte. */
  offset: number;
  /** The first failure, once a read has failed. */
  error: WireError | undefined = undefined;

  /** Reads `bytes` from `offset` (default 0) to `end` (default the end of `bytes`). */
  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.offset;
  }

  /** Records the first failure (later ones are ignored) and returns the `-1` sentinel. */
  fail(reason: WireErrorReason, at: number = this.offset): -1 {
    this.error ??= new WireError(reason, at);
    return -1;
  }

  /** Reads one byte, or returns -1 (`truncated`). */
  u8(): number {
    if (this.offset >= this.end) return this.fail('truncated');
    return this.bytes[this.offset++]!;
  }

  /**
   * Reads a QUIC varint (RFC 9000 §16), or returns -1: `truncated`, `non-minimal-varint` (R-WIRE-2) or
   * `value-too-large` (above 2^53−1, R-WIRE-3).
   */
  varint(): number {
    const start = this.offset;
    const value = varintAt(this.bytes, start, this.end);
    if (value < 0) return this.fail(varintFailureReason(value));
    this.offset = start + (1 << (this.bytes[start]! >>> 6));
    return value;
  }

  /**
   * Returns a view (no copy) of the next `length` bytes, or `undefined` (`truncated`). The view aliases the
   * decoded buffer: it changes if the caller reuses that buffer.
   */
  view(length: number): Uint8Array | undefined {
    if (length > this.remaining) {
      this.fail('truncated');
      return undefined;
    }
    const start = this.offset;
    this.offset = start + length;
    return this.bytes.subarray(start, this.offset);
  }
}

/** Why {@link varintAt} failed, from its negative result. */
export function varintFailureReason(result: number): WireErrorReason {
  return result === -1 ? 'truncated' : result === -2 ? 'non-minimal-varint' : 'value-too-large';
}

/**
 * The QUIC varint (RFC 9000 §16) at `start`, read without a reader object (the header decoder's fast path); its
 * length is `1 << (bytes[start] >>> 6)`. Negative on failure: -1 `truncated` (past `end`), -2
 * `non-minimal-varint` (R-WIRE-2), -3 `value-too-large` (above 2^53−1, R-WIRE-3).
 */
export function varintAt(b: Uint8Array, start: number, end: number): number {
  if (start >= end) return -1;
  const first = b[start]!;
  const prefix = first >>> 6;
  if (start + (1 << prefix) > end) return -1;
  if (prefix === 0) return first;
  if (prefix === 1) {
    const value = ((first & 0x3f) << 8) | b[start + 1]!;
    return value <= 0x3f ? -2 : value;
  }
  if (prefix === 2) {
    // >>> 0: a 30-bit value stays positive.
    const value =
      (((first & 0x3f) << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) >>> 0;
    return value <= 0x3fff ? -2 : value;
  }
  const high = ((first & 0x3f) << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!;
  if (high > 0x1f_ffff) return -3;
  const low = ((b[start + 4]! << 24) | (b[start + 5]! << 16) | (b[start + 6]! << 8) | b[start + 7]!) >>> 0;
  const value = high * 0x1_0000_0000 + low;
  return value <= 0x3fff_ffff ? -2 : value;
}
