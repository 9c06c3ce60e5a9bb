import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelOf, SeededRandom } from '../../src/sim/random.ts';

const draw = (random: SeededRandom, n: number) => Array.from({ length: n }, () => random.uint32());

describe('SeededRandom', () => {
  it('replays the same stream for the same seed and differs between seeds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        expect(draw(new SeededRandom(seed), 8)).toEqual(draw(new SeededRandom(seed), 8));
        expect(draw(new SeededRandom(seed), 8)).not.toEqual(draw(new SeededRandom(seed + 1), 8));
      }),
    );
  });

  it('nearby seeds give unrelated first outputs (seeding goes through a mixer)', () => {
    const firsts = new Set(Array.from({ length: 1000 }, (_, seed) => new SeededRandom(seed).uint32() >>> 24));
    // 1000 draws of a uniform byte cover nearly all 256 values; raw seeding would give a handful.
    expect(firsts.size).toBeGreaterThan(240);
  });

  it('fork depends on the label and the parent seed, never on how much the parent has drawn', () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat(1000), fc.nat(100), (seed, label, used) => {
        const fresh = new SeededRandom(seed);
        const worn = new SeededRandom(seed);
        draw(worn, used);
        expect(draw(worn.fork(label), 4)).toEqual(draw(fresh.fork(label), 4));
        expect(draw(fresh.fork(label), 4)).not.toEqual(draw(fresh.fork(label + 1), 4));
        expect(draw(fresh.fork(label), 4)).not.toEqual(draw(new SeededRandom(seed + 1).fork(label), 4));
        // Forking leaves the parent's own stream untouched.
        const parent = new SeededRandom(seed);
        parent.fork(label);
        expect(draw(parent, 4)).toEqual(draw(new SeededRandom(seed), 4));
      }),
    );
  });

  it('keeps every draw in range', () => {
    const random = new SeededRandom(7);
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.nat(1e6), (min, span) => {
        const value = random.int(min, min + span);
        expect(Number.isInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(min);
        expect(value).toBeLessThanOrEqual(min + span);
        const u = random.float();
        expect(u >= 0 && u < 1).toBe(true);
        const x = random.uint32();
        expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
        expect(random.exponential(3)).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('fill writes every byte and its bytes are uniform', () => {
    const random = new SeededRandom(3);
    const bytes = new Uint8Array(256 * 400 + 3);
    random.fill(bytes);
    const counts = new Array<number>(256).fill(0);
    for (const b of bytes) counts[b] = (counts[b] ?? 0) + 1;
    // Each count is Binomial(n, 1/256): mean ≈ 400, sd ≈ 20; 5 sigma = 100.
    const expected = bytes.length / 256;
    for (const c of counts) expect(Math.abs(c - expected)).toBeLessThan(5 * Math.sqrt(expected));
  });

  it('int is uniform over a small range (5 sigma per face)', () => {
    const random = new SeededRandom(11);
    const n = 120_000;
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const face = random.int(1, 6) - 1;
      counts[face] = (counts[face] ?? 0) + 1;
    }
    const sd = Math.sqrt((n * (1 / 6) * 5) / 6);
    for (const c of counts) expect(Math.abs(c - n / 6)).toBeLessThan(5 * sd);
  });

  it('normal and exponential have their configured moments (5 sigma)', () => {
    const random = new SeededRandom(5);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    let expSum = 0;
    for (let i = 0; i < n; i++) {
      const x = random.normal(10, 4);
      sum += x;
      sumSq += x * x;
      expSum += random.exponential(2);
    }
    const mean = sum / n;
    const sd = Math.sqrt(sumSq / n - mean * mean);
    expect(Math.abs(mean - 10)).toBeLessThan((5 * 4) / Math.sqrt(n));
    expect(Math.abs(sd - 4)).toBeLessThan((5 * 4) / Math.sqrt(2 * n));
    expect(Math.abs(expSum / n - 2)).toBeLessThan((5 * 2) / Math.sqrt(n));
  });

  it('labelOf is stable and spreads names', () => {
    expect(labelOf('a>b')).toBe(labelOf('a>b'));
    expect(labelOf('a>b')).not.toBe(labelOf('b>a'));
    expect(labelOf('')).toBe(0x811c9dc5);
  });
});
