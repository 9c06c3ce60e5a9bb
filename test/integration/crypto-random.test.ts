import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoRandom } from '../../src/node/crypto-random.ts';

describe('CryptoRandom (the binding’s only random source, design.md rule 1)', () => {
  it('takes no seed: its constructor has no parameters', () => {
    expect(CryptoRandom.length).toBe(0);
  });

  it('uint32 stays in [0, 2^32) and fill writes every requested byte', () => {
    const random = new CryptoRandom();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), (draws) => {
        for (let i = 0; i < draws; i++) {
          const v = random.uint32();
          if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) return false;
        }
        return true;
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 4096 }), (length) => {
        const bytes = new Uint8Array(length);
        random.fill(bytes);
        // 16+ bytes from a CSPRNG are all zero with probability ≤ 2^-128.
        return bytes.some((b) => b !== 0);
      }),
    );
  });

  it('two instances never produce the same stream (no shared seed)', () => {
    const a = new CryptoRandom();
    const b = new CryptoRandom();
    const draw = (r: CryptoRandom) => Array.from({ length: 8 }, () => r.uint32());
    expect(draw(a)).not.toEqual(draw(b));
    const seen = new Set(Array.from({ length: 10_000 }, () => a.uint32()));
    expect(seen.size).toBeGreaterThan(9_990); // birthday bound: ~0.01 expected collisions in 2^32
  });
});
