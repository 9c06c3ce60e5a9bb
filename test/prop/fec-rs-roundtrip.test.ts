import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';

/**
 * A group shape: k in 1..128, m in 1..128, k + m ≤ 256, and a shard size kept small when the group is
 * large so a run stays within a few seconds (the matrix work grows with k², the copying with k · size).
 */
const shape = fc
  .record({ k: fc.integer({ min: 1, max: 128 }), m: fc.integer({ min: 1, max: 128 }) })
  .chain(({ k, m }) =>
    fc.record({
      k: fc.constant(k),
      m: fc.constant(m),
      size: fc.integer({ min: 1, max: Math.max(1, Math.floor(4096 / (k + m))) }),
      seed: fc.integer(),
    }),
  );

/** Shards filled by a fast deterministic generator seeded by fast-check (shrinks with the seed). */
function makeShards(count: number, size: number, seed: number): Uint8Array[] {
  let x = seed | 1;
  return Array.from({ length: count }, () =>
    Uint8Array.from({ length: size }, () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x & 0xff;
    }),
  );
}

/** `count` distinct shard indices of a group of `total`, in random order. */
const indices = (total: number, count: number) =>
  fc.shuffledSubarray(
    Array.from({ length: total }, (_, i) => i),
    { minLength: count, maxLength: count },
  );

/** A group with erasures at the chosen indices. */
const erase = (all: Uint8Array[], lost: ReadonlySet<number>) =>
  all.map((shard, i) => (lost.has(i) ? undefined : shard));

describe('Reed-Solomon round trip (fast-check)', () => {
  const codec = new ReedSolomonCodec();
  // A separate decoder, so its scratch region never holds the parity the encoder just computed.
  const decoder = new ReedSolomonCodec();

  it('any erasure pattern of at most m shards rebuilds the original data and parity', () => {
    fc.assert(
      fc.property(
        shape.chain((s) =>
          fc.record({
            s: fc.constant(s),
            // Exactly m lost (the edge) half of the time, else a uniform count in 0..m.
            lost: fc
              .oneof(fc.constant(s.m), fc.integer({ min: 0, max: s.m }))
              .chain((count) => indices(s.k + s.m, count)),
          }),
        ),
        ({ s, lost }) => {
          const data = makeShards(s.k, s.size, s.seed);
          const parity = codec.encode(data, s.m);
          const result = decoder.reconstruct(erase([...data, ...parity], new Set(lost)), s.k, {
            restoreParity: true,
          });
          expect(result).toEqual({ ok: true, data, parity, rebuilt: [...lost].sort((a, b) => a - b) });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('more than m erasures is unrecoverable', () => {
    fc.assert(
      fc.property(
        shape.chain((s) =>
          fc.record({
            s: fc.constant(s),
            lost: fc
              .oneof(fc.constant(s.m + 1), fc.integer({ min: s.m + 1, max: s.k + s.m }))
              .chain((count) => indices(s.k + s.m, count)),
          }),
        ),
        ({ s, lost }) => {
          const data = makeShards(s.k, s.size, s.seed);
          const parity = codec.encode(data, s.m);
          expect(decoder.reconstruct(erase([...data, ...parity], new Set(lost)), s.k)).toEqual({
            ok: false,
            reason: 'unrecoverable',
            presentCount: s.k + s.m - lost.length,
            neededCount: s.k,
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('the code is linear over GF(2^8): parity(a xor b) = parity(a) xor parity(b)', () => {
    const xor = (a: Uint8Array[], b: Uint8Array[]) => a.map((shard, i) => shard.map((v, j) => v ^ b[i]![j]!));
    fc.assert(
      fc.property(shape, fc.integer(), (s, otherSeed) => {
        const a = makeShards(s.k, s.size, s.seed);
        const b = makeShards(s.k, s.size, otherSeed);
        expect(codec.encode(xor(a, b), s.m)).toEqual(xor(codec.encode(a, s.m), codec.encode(b, s.m)));
      }),
      { numRuns: 60 },
    );
  });

  it('encode is deterministic across instances: a fresh codec agrees', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const data = makeShards(s.k, s.size, s.seed);
        const parity = new ReedSolomonCodec({ memoryCapBytes: 1 }).encode(data, s.m);
        expect(parity).toEqual(codec.encode(data, s.m));
        expect(parity.every((shard) => shard.length === s.size)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
