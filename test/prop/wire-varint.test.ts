import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { varintLength, WireReader, writeVarint } from '../../src/protocol/wire/index.ts';

// The varint codec against a naive BigInt reference (RFC 9000 §16), as yamux does (spec §2.3).

const runs = { numRuns: 10_000 };
const max = 2n ** 53n - 1n;

/** Reference decoder: no shortcuts, BigInt arithmetic, the same failure reasons as spec §2.3. */
function referenceDecode(bytes: Uint8Array): { value: number; length: number } | { reason: string } {
  if (bytes.length === 0) return { reason: 'truncated' };
  const length = 2 ** (bytes[0]! >> 6);
  if (bytes.length < length) return { reason: 'truncated' };
  let value = BigInt(bytes[0]! & 0x3f);
  for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(bytes[i]!);
  if (value > max) return { reason: 'value-too-large' };
  const shortest = value < 64n ? 1 : value < 16_384n ? 2 : value < 1_073_741_824n ? 4 : 8;
  if (shortest !== length) return { reason: 'non-minimal-varint' };
  return { value: Number(value), length };
}

/** Values spread over all four encoding lengths, with the boundaries. */
const varintValue = fc.oneof(
  fc.constantFrom(0, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, 2 ** 53 - 1),
  fc.nat(63),
  fc.integer({ min: 64, max: 16_383 }),
  fc.integer({ min: 16_384, max: 2 ** 30 - 1 }),
  fc.bigInt({ min: 2n ** 30n, max }).map(Number),
);

describe('varint codec vs a BigInt reference', () => {
  it('decode(encode(v)) = v, in the reference length', () => {
    fc.assert(
      fc.property(varintValue, (value) => {
        const buf = new Uint8Array(8);
        const end = writeVarint(buf, 0, value);
        expect(end).toBe(varintLength(value));
        expect(referenceDecode(buf.subarray(0, end))).toEqual({ value, length: end });
        const reader = new WireReader(buf, 0, end);
        expect(reader.varint()).toBe(value);
        expect(reader.offset).toBe(end);
      }),
      runs,
    );
  });

  it('any bytes decode exactly as the reference says (value, or the same failure), never throwing', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 9 }),
      // Biased towards the interesting prefix/boundary bytes.
      fc
        .array(
          fc.constantFrom(0x00, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xc0, 0xdf, 0xe0, 0xff, 0x1f, 0x20),
          {
            maxLength: 9,
          },
        )
        .map((a) => Uint8Array.from(a)),
    );
    fc.assert(
      fc.property(bytes, (input) => {
        const reader = new WireReader(input);
        const value = reader.varint();
        const expected = referenceDecode(input);
        if ('reason' in expected) {
          expect(value).toBe(-1);
          expect(reader.error?.reason).toBe(expected.reason);
          expect(reader.error?.offset).toBe(0);
        } else {
          expect({ value, length: reader.offset }).toEqual(expected);
        }
      }),
      runs,
    );
  });
});
