import { WireEncodeError } from './errors.ts';
import { varintLength } from './varint.ts';

/** Throws unless `length` bytes fit in `buf` at `offset`. */
function ensureRoom(buf: Uint8Array, offset: number, length: number): void {
  if (offset + length > buf.length || offset < 0) {
    throw new WireEncodeError(
      'buffer-too-small',
      `need ${length} bytes at offset ${offset}, buffer holds ${buf.length}`,
    );
  }
}

/** Writes one byte at `offset`; returns the offset after it. Throws {@link WireEncodeError} if it does not fit. */
export function writeU8(buf: Uint8Array, offset: number, value: number): number {
  ensureRoom(buf, offset, 1);
  buf[offset] = value;
  return offset + 1;
}

/**
 * Writes `value` as the shortest QUIC varint (RFC 9000 §16, R-WIRE-1, R-WIRE-2) at `offset`; returns the offset
 * after it. Throws {@link WireEncodeError} if the value is out of range or the buffer is too small.
 */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  const length = varintLength(value);
  ensureRoom(buf, offset, length);
  switch (length) {
    case 1:
      buf[offset] = value;
      break;
    case 2:
      buf[offset] = 0x40 | (value >>> 8);
      buf[offset + 1] = value & 0xff;
      break;
    case 4:
      buf[offset] = 0x80 | (value >>> 24);
      buf[offset + 1] = (value >>> 16) & 0xff;
      buf[offset + 2] = (value >>> 8) & 0xff;
      buf[offset + 3] = value & 0xff;
      break;
    default: {
      const high = Math.floor(value / 0x1_0000_0000);
      const low = value >>> 0;
      buf[offset] = 0xc0 | (high >>> 24);
      buf[offset + 1] = (high >>> 16) & 0xff;
      buf[offset + 2] = (high >>> 8) & 0xff;
      buf[offset + 3] = high & 0xff;
      buf[offset + 4] = low >>> 24;
      buf[offset + 5] = (low >>> 16) & 0xff;
      buf[offset + 6] = (low >>> 8) & 0xff;
      buf[offset + 7] = low & 0xff;
    }
  }
  return offset + length;
}

/** Copies `bytes` to `offset`; returns the offset after them. Throws {@link WireEncodeError} if they do not fit. */
export function writeBytes(buf: Uint8Array, offset: number, bytes: Uint8Array): number {
  ensureRoom(buf, offset, bytes.length);
  buf.set(bytes, offset);
  return offset + bytes.length;
}

/** Writes `length` zero bytes at `offset`; returns the offset after them. */
export function writeZeros(buf: Uint8Array, offset: number, length: number): number {
  ensureRoom(buf, offset, length);
  buf.fill(0, offset, offset + length);
  return offset + length;
}
