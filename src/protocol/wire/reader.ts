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
    const b = this.bytes;
    if (start >= this.end) return this.fail('truncated');
    const first = b[start]!;
    const prefix = first >>> 6;
    const length = 1 << prefix;
    if (start + length > this.end) return this.fail('truncated');
    let value: number;
    if (prefix === 0) {
      value = first;
    } else if (prefix === 1) {
      value = ((first & 0x3f) << 8) | b[start + 1]!;
      if (value <= 0x3f) return this.fail('non-minimal-varint');
    } else if (prefix === 2) {
      value = ((first & 0x3f) << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!;
      if (value <= 0x3fff) return this.fail('non-minimal-varint');
    } else {
      const high = ((first & 0x3f) << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!;
      if (high > 0x1f_ffff) return this.fail('value-too-large');
      const low =
        ((b[start + 4]! << 24) | (b[start + 5]! << 16) | (b[start + 6]! << 8) | b[start + 7]!) >>> 0;
      value = high * 0x1_0000_0000 + low;
      if (value <= 0x3fff_ffff) return this.fail('non-minimal-varint');
    }
    this.offset = start + length;
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
