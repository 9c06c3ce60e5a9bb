import { describe, expect, it } from 'vitest';
import {
  varintLength,
  varintMax,
  WireEncodeError,
  WireReader,
  writeBytes,
  writeU8,
  writeVarint,
  writeZeros,
} from '../../src/protocol/wire/index.ts';

/** Naive reference encoder (BigInt, RFC 9000 §16 pseudo-code), as yamux compares its codec to one. */
function referenceEncode(value: bigint): Uint8Array {
  const length = value < 64n ? 1 : value < 16_384n ? 2 : value < 1_073_741_824n ? 4 : 8;
  const prefix = BigInt([1, 2, 4, 8].indexOf(length));
  const bytes = new Uint8Array(length);
  let rest = value | (prefix << BigInt(8 * length - 2));
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

const edges = [0, 1, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, 2 ** 32, 2 ** 53 - 1];

describe('varint codec (spec §2.3)', () => {
  it.each(edges)('%d encodes like the reference, in the shortest length, and reads back', (value) => {
    const expected = referenceEncode(BigInt(value));
    expect(varintLength(value)).toBe(expected.length);
    const buf = new Uint8Array(12).fill(0xee);
    expect(writeVarint(buf, 3, value)).toBe(3 + expected.length);
    expect([...buf.subarray(3, 3 + expected.length)]).toEqual([...expected]);
    expect(buf[3 + expected.length]).toBe(0xee); // nothing written past the varint
    const reader = new WireReader(buf, 3);
    expect(reader.varint()).toBe(value);
    expect(reader.offset).toBe(3 + expected.length);
    expect(reader.error).toBeUndefined();
  });

  it.each([-1, 0.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, -0.5])(
    'refuses to encode %d (local misuse, a RangeError)',
    (value) => {
      expect(() => varintLength(value)).toThrow(WireEncodeError);
      expect(() => writeVarint(new Uint8Array(8), 0, value)).toThrow(RangeError);
      try {
        writeVarint(new Uint8Array(8), 0, value);
      } catch (error) {
        expect((error as WireEncodeError).reason).toBe('value-out-of-range');
      }
    },
  );

  it.each(edges)('refuses to write %d into a buffer one byte too small', (value) => {
    const length = varintLength(value);
    expect(() => writeVarint(new Uint8Array(length - 1), 0, value)).toThrow(
      expect.objectContaining({ name: 'WireEncodeError', reason: 'buffer-too-small' }),
    );
    expect(() => writeVarint(new Uint8Array(length + 2), 3, value)).toThrow(RangeError);
  });

  it.each(edges)('every strict prefix of the encoding of %d is truncated, at the varint start', (value) => {
    const bytes = referenceEncode(BigInt(value));
    for (let cut = 0; cut < bytes.length; cut++) {
      const reader = new WireReader(bytes.subarray(0, cut));
      expect(reader.varint()).toBe(-1);
      expect(reader.error).toEqual(expect.objectContaining({ reason: 'truncated', offset: 0 }));
      expect(reader.offset).toBe(0);
    }
  });

  it('varintMax is 2^53-1', () => {
    expect(varintMax).toBe(2 ** 53 - 1);
  });
});

describe('checked reader and writer', () => {
  it('reads bytes and views within bounds, then fails with truncated', () => {
    const bytes = Uint8Array.of(1, 2, 3, 4);
    const reader = new WireReader(bytes, 1, 3);
    expect(reader.remaining).toBe(2);
    expect(reader.u8()).toBe(2);
    expect(reader.view(2)).toBeUndefined();
    expect(reader.error).toEqual(expect.objectContaining({ reason: 'truncated', offset: 2 }));
    const again = new WireReader(bytes, 1, 3);
    const view = again.view(2)!;
    expect([...view]).toEqual([2, 3]);
    bytes[1] = 9; // a view, not a copy
    expect(view[0]).toBe(9);
    expect(again.u8()).toBe(-1);
  });

  it('keeps the first failure only', () => {
    const reader = new WireReader(Uint8Array.of(0x40, 0x01));
    expect(reader.varint()).toBe(-1);
    expect(reader.u8()).toBe(0x40);
    reader.fail('unknown-frame');
    expect(reader.error?.reason).toBe('non-minimal-varint');
  });

  it('writes bytes and zeros, refusing to overflow the buffer', () => {
    const buf = new Uint8Array(6).fill(0xff);
    let at = writeU8(buf, 0, 7);
    at = writeBytes(buf, at, Uint8Array.of(8, 9));
    at = writeZeros(buf, at, 2);
    expect(at).toBe(5);
    expect([...buf]).toEqual([7, 8, 9, 0, 0, 0xff]);
    expect(() => writeBytes(buf, 5, Uint8Array.of(1, 2))).toThrow(RangeError);
    expect(() => writeZeros(buf, 4, 3)).toThrow(RangeError);
    expect(() => writeU8(buf, 6, 1)).toThrow(RangeError);
    expect(() => writeU8(buf, -1, 1)).toThrow(RangeError);
  });
});
