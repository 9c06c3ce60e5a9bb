import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';
import { FecArgumentError } from '../../src/fec/reed-solomon-errors.ts';

/** One call on the codec under test, with whatever arguments the storm produced. */
type Call = (codec: ReedSolomonCodec) => unknown;

const junk = fc.anything({
  withTypedArray: true,
  withSparseArray: true,
  withBoxedValues: true,
  withMap: true,
});
const badCount = fc.oneof(
  fc.constantFrom(0, -1, 256, 257, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5, 2 ** 31, 2 ** 53),
  junk,
);
const shard = (size: number) => fc.uint8Array({ minLength: size, maxLength: size });
/** Valid-looking data shards: 1..12 shards of one size in 1..40 bytes. */
const goodShards = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 40 }))
  .chain(([k, size]) => fc.array(shard(size), { minLength: k, maxLength: k }));

/** Replaces entry `at` of a copy of `list` by `value` (may also extend a sparse array). */
const spoil = <T>(list: readonly T[], at: number, value: unknown): unknown[] => {
  const copy: unknown[] = [...list];
  copy[at % (list.length + 1)] = value;
  return copy;
};

/** Near-miss and nonsense calls: each should be refused with a typed error (or be harmlessly valid). */
const badCall: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(junk, junk).map(
    ([a, b]): Call =>
      (c) =>
        c.encode(a as never, b as never),
  ),
  fc.tuple(junk, junk).map(
    ([a, b]): Call =>
      (c) =>
        c.encodeInto(a as never, b as never),
  ),
  fc.tuple(junk, junk, junk).map(
    ([a, b, o]): Call =>
      (c) =>
        c.reconstruct(a as never, b as never, o as never),
  ),
  fc.tuple(goodShards, badCount).map(
    ([d, m]): Call =>
      (c) =>
        c.encode(d, m as never),
  ),
  fc.tuple(goodShards, fc.nat(), fc.oneof(junk, shard(0), shard(41), fc.uint8Array({ maxLength: 80 }))).map(
    ([d, at, v]): Call =>
      (c) =>
        c.encode(spoil(d, at, v) as never, 2),
  ),
  fc.tuple(goodShards, fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 45 })).map(
    ([d, m, size]): Call =>
      (c) =>
        c.encodeInto(
          d,
          Array.from({ length: m }, () => new Uint8Array(size)),
        ),
  ),
  fc
    .tuple(
      goodShards,
      badCount,
      fc.nat(),
      fc.oneof(junk, fc.constant(undefined), fc.uint8Array({ maxLength: 50 })),
    )
    .map(
      ([d, k, at, v]): Call =>
        (c) =>
          c.reconstruct(spoil(d, at, v) as never, k as never),
    ),
  fc.tuple(goodShards, fc.integer({ min: -3, max: 300 }), fc.nat(), fc.uint8Array({ maxLength: 50 })).map(
    ([d, k, at, v]): Call =>
      (c) =>
        c.reconstruct(spoil([...d, undefined, undefined], at, v) as never, k),
  ),
  fc.tuple(fc.integer({ min: 250, max: 300 }), fc.integer({ min: 0, max: 80 })).map(
    ([n, k]): Call =>
      (c) =>
        c.reconstruct(new Array(n).fill(new Uint8Array(1)), k),
  ),
);

/** A valid group and erasure pattern, checked against a codec that never saw bad input. */
const goodCall = fc.record({
  data: goodShards,
  m: fc.integer({ min: 1, max: 6 }),
  lostMask: fc.nat(),
});

describe('Reed-Solomon argument storm (fast-check)', () => {
  it('thousands of invalid calls only ever throw FecArgumentError, and never corrupt later calls', () => {
    const codec = new ReedSolomonCodec({ maxShardBytes: 48 });
    const reference = new ReedSolomonCodec();
    let refused = 0;
    fc.assert(
      fc.property(fc.array(badCall, { minLength: 15, maxLength: 25 }), goodCall, (calls, good) => {
        for (const call of calls) {
          try {
            call(codec);
          } catch (error) {
            if (!(error instanceof FecArgumentError)) throw error;
            refused++;
          }
        }
        const parity = codec.encode(good.data, good.m);
        expect(parity).toEqual(reference.encode(good.data, good.m));
        const group = [...good.data, ...parity];
        // Lose at most m shards, chosen by the bits of lostMask.
        let budget = good.m;
        const damaged = group.map((s, i) => ((good.lostMask >> i) & 1 && budget-- > 0 ? undefined : s));
        expect(codec.reconstruct(damaged, good.data.length, { restoreParity: true })).toMatchObject({
          ok: true,
          data: good.data,
          parity,
        });
      }),
      { numRuns: 250 },
    );
    expect(refused).toBeGreaterThan(3000);
    // Validation kept every bad argument away from wasm: no trap, no instance thrown away.
    expect(codec.stats.recycledAfterError).toBe(0);
    expect(codec.stats.instancesCreated).toBe(1);
  });
});
