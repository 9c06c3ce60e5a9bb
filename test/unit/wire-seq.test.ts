import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seqAdd32, seqDiff32, seqLessThan32 } from '../../src/protocol/wire/index.ts';

/** Reference signed 32-bit difference (RFC 1982 §3.2), in BigInt. */
function referenceDiff(a: number, b: number): number {
  const d = (BigInt(a) - BigInt(b)) & 0xffff_ffffn;
  return Number(d >= 0x8000_0000n ? d - 0x1_0000_0000n : d);
}

const u32 = fc.oneof(
  fc.nat({ max: 0xffff_ffff }),
  fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_fffe, 0xffff_ffff),
);

describe('32-bit serial numbers (spec §2.4)', () => {
  it.each([
    [0, 0, 0],
    [1, 0, 1],
    [0, 1, -1],
    [0, 0xffff_ffff, 1],
    [0xffff_ffff, 0, -1],
    [0x7fff_ffff, 0, 0x7fff_ffff],
    [0x8000_0000, 0, -0x8000_0000],
  ])('seqDiff32(%d, %d) = %d', (a, b, diff) => {
    expect(seqDiff32(a, b)).toBe(diff);
    expect(seqDiff32(a, b)).toBe(referenceDiff(a, b));
  });

  it('matches the BigInt reference and stays antisymmetric away from the half-way point', () => {
    fc.assert(
      fc.property(u32, u32, (a, b) => {
        const diff = seqDiff32(a, b);
        expect(diff).toBe(referenceDiff(a, b));
        expect(seqLessThan32(a, b)).toBe(diff < 0);
        if (diff !== -0x8000_0000) expect(seqDiff32(b, a)).toBe(-diff || 0);
      }),
      { numRuns: 10_000 },
    );
  });

  it('seqAdd32 wraps modulo 2^32 and moves forward by n', () => {
    fc.assert(
      fc.property(u32, fc.nat({ max: 0x7fff_ffff }), (a, n) => {
        const sum = seqAdd32(a, n);
        expect(sum).toBe(Number((BigInt(a) + BigInt(n)) % 0x1_0000_0000n));
        expect(seqDiff32(sum, a)).toBe(n);
      }),
      { numRuns: 10_000 },
    );
  });
});
