import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';
import {
  FecArgumentError,
  type FecArgumentReason,
  FecCodecError,
} from '../../src/fec/reed-solomon-errors.ts';
import { RsWasmInstance } from '../../src/fec/reed-solomon-wasm.ts';

/** The package's own instance, called directly: the reference the wrapper must agree with byte for byte. */
interface RawRs {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  encode(ptr: number, size: number, k: number, m: number): number;
}
const raw = createRequire(import.meta.url)('reed-solomon-erasure/reed_solomon_erasure_bg.js') as RawRs;

function rawEncode(data: Uint8Array[], parityCount: number): Uint8Array[] {
  const size = data[0]!.length;
  const k = data.length;
  const base = raw.memory.grow(Math.ceil(((k + parityCount) * size) / 65536)) * 65536;
  data.forEach((shard, i) => {
    new Uint8Array(raw.memory.buffer).set(shard, base + i * size);
  });
  expect(raw.encode(base, size, k, parityCount)).toBe(0);
  const memory = new Uint8Array(raw.memory.buffer);
  return Array.from({ length: parityCount }, (_, j) =>
    memory.slice(base + (k + j) * size, base + (k + j + 1) * size),
  );
}

/** Deterministic pseudo-random shards (xorshift32), so examples need no randomness source. */
function shards(count: number, size: number, seed: number): Uint8Array[] {
  let x = seed | 1;
  return Array.from({ length: count }, () => {
    const shard = new Uint8Array(size);
    for (let j = 0; j < size; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      shard[j] = x & 0xff;
    }
    return shard;
  });
}

/** Byte equality of two shard lists, without expect()'s per-element diffing. */
function sameShards(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((shard, i) => Buffer.compare(shard, b[i]!) === 0);
}

describe('ReedSolomonCodec encode', () => {
  it.each([
    [1, 1, 1],
    [4, 2, 1200],
    [10, 3, 100],
    [1, 255, 3],
    [255, 1, 5],
    [128, 128, 2],
  ])('%i+%i shards of %i bytes match the raw package', (k, m, size) => {
    const data = shards(k, size, k * 1000 + m);
    const codec = new ReedSolomonCodec();
    expect(codec.encode(data, m)).toEqual(rawEncode(data, m));
  });

  it.each([
    [255, 1],
    [1, 255],
  ])('the largest region (%i+%i shards of 64 KiB) encodes and rebuilds', (k, m) => {
    const codec = new ReedSolomonCodec();
    const data = shards(k, 65_536, k);
    const parity = codec.encode(data, m);
    // Deep equality of 16 MiB is slow in expect(); compare the bytes directly.
    expect(sameShards(parity, rawEncode(data, m))).toBe(true);
    const group = [...data, ...parity].map((s, i) => (i === 0 ? undefined : s));
    const result = codec.reconstruct(group, k);
    expect(result.ok && result.rebuilt).toEqual([0]);
    expect(result.ok && sameShards(result.data, data)).toBe(true);
  });

  it('encodeInto writes into caller buffers, including offset views, and leaves data untouched', () => {
    const codec = new ReedSolomonCodec();
    const data = shards(6, 50, 7);
    const copies = data.map((shard) => shard.slice());
    const backing = new Uint8Array(3 * 50 + 7);
    const parity = [0, 1, 2].map((j) => backing.subarray(7 + j * 50, 7 + (j + 1) * 50));
    codec.encodeInto(data, parity);
    expect(parity).toEqual(codec.encode(data, 3));
    expect(parity).toEqual(rawEncode(data, 3));
    expect(data).toEqual(copies);
    expect(Array.from(backing.subarray(0, 7))).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('ReedSolomonCodec reconstruct', () => {
  const codec = new ReedSolomonCodec();
  const data = shards(10, 64, 99);
  // Encoded elsewhere, so the decoder's scratch region cannot already hold this parity.
  const parity = rawEncode(data, 4);
  const group = (lost: number[]): (Uint8Array | undefined)[] =>
    [...data, ...parity].map((shard, i) => (lost.includes(i) ? undefined : shard));

  it('rebuilds lost data and, when asked, lost parity', () => {
    const result = codec.reconstruct(group([0, 5, 9, 12]), 10, { restoreParity: true });
    expect(result).toEqual({ ok: true, data, parity, rebuilt: [0, 5, 9, 12] });
  });

  it('returns the caller arrays untouched when nothing is missing', () => {
    const result = codec.reconstruct(group([]), 10);
    expect(result.ok && result.data.every((shard, i) => shard === data[i])).toBe(true);
  });

  it('rebuilds parity alone when only parity is lost', () => {
    expect(codec.reconstruct(group([10, 13]), 10, { restoreParity: true })).toEqual({
      ok: true,
      data,
      parity,
      rebuilt: [10, 13],
    });
  });

  it('reports more erasures than parity as unrecoverable, never garbage', () => {
    expect(codec.reconstruct(group([0, 1, 2, 3, 4]), 10)).toEqual({
      ok: false,
      reason: 'unrecoverable',
      presentCount: 9,
      neededCount: 10,
    });
    expect(codec.reconstruct(new Array(14).fill(undefined), 10)).toMatchObject({
      ok: false,
      presentCount: 0,
    });
    expect(codec.stats.unrecoverable).toBe(2);
  });
});

describe('ReedSolomonCodec argument checks', () => {
  const codec = new ReedSolomonCodec({ maxShardBytes: 100 });
  const ok = shards(3, 10, 5);
  const cases: [string, () => unknown, FecArgumentReason][] = [
    ['no data shards', () => codec.encode([], 2), 'data-count'],
    ['zero parity', () => codec.encode(ok, 0), 'parity-count'],
    ['fractional parity', () => codec.encode(ok, 1.5), 'parity-count'],
    ['NaN parity', () => codec.encode(ok, Number.NaN), 'parity-count'],
    ['k + m > 256', () => codec.encode(shards(200, 1, 1), 57), 'total-count'],
    ['empty shard', () => codec.encode([new Uint8Array(0)], 1), 'shard-size'],
    ['shard over the cap', () => codec.encode([new Uint8Array(101)], 1), 'shard-size'],
    ['ragged data', () => codec.encode([new Uint8Array(3), new Uint8Array(4)], 1), 'size-mismatch'],
    ['not an array', () => codec.encode('abc' as never, 1), 'not-an-array'],
    ['not a shard', () => codec.encode([ok[0]!, [1, 2] as never], 1), 'not-a-shard'],
    ['parity size', () => codec.encodeInto(ok, [new Uint8Array(9)]), 'size-mismatch'],
    ['no parity buffers', () => codec.encodeInto(ok, []), 'parity-count'],
    ['group with no parity', () => codec.reconstruct(ok, 3), 'parity-count'],
    ['dataCount 0', () => codec.reconstruct(ok, 0), 'data-count'],
    ['group of 257', () => codec.reconstruct(new Array(257).fill(undefined), 200), 'total-count'],
    ['null shard', () => codec.reconstruct([ok[0], null as never, undefined], 2), 'not-a-shard'],
    ['ragged group', () => codec.reconstruct([ok[0], new Uint8Array(11), undefined], 2), 'size-mismatch'],
    ['bad option', () => new ReedSolomonCodec({ maxShardBytes: 70_000 }), 'option'],
    ['bad cap', () => new ReedSolomonCodec({ memoryCapBytes: 0 }), 'option'],
  ];
  it.each(cases)('%s → FecArgumentError', (_name, call, reason) => {
    expect(call).toThrow(FecArgumentError);
    expect(call).toThrow(expect.objectContaining({ reason }));
  });

  it('none of them reached wasm', () => {
    expect(codec.stats).toMatchObject({ instancesCreated: 0, recycledAfterError: 0 });
  });
});

describe('wasm instance lifecycle', () => {
  it('the raw module panics on a zero shard size (what validation prevents)', () => {
    const instance = new RsWasmInstance();
    const offset = instance.region(4096);
    expect(() => instance.encode(offset, 0, 2, 1)).toThrow(/unreachable/);
  });

  it('recycles past a tiny memory cap and stays correct across recycles', () => {
    const small = new ReedSolomonCodec({ memoryCapBytes: 1 });
    const big = new ReedSolomonCodec();
    for (let round = 0; round < 5; round++) {
      const data = shards(8, 300, round + 1);
      const parity = small.encode(data, 4);
      expect(parity).toEqual(big.encode(data, 4));
      const rebuilt = small.reconstruct([undefined, ...data.slice(1, 6), undefined, undefined, ...parity], 8);
      expect(rebuilt).toEqual({ ok: true, data, rebuilt: [0, 6, 7] });
    }
    expect(small.stats).toMatchObject({ instancesCreated: 10, recycledForMemory: 10, recycledAfterError: 0 });
    expect(big.stats.instancesCreated).toBe(1);
  });

  it('bounds the leaking allocator: memory never stays above the cap between calls', () => {
    const capBytes = 4 * 1024 * 1024;
    const codec = new ReedSolomonCodec({ memoryCapBytes: capBytes });
    const data = shards(64, 4, 11);
    const parity = codec.encode(data, 32);
    const damaged = [...data, ...parity].map((s, i) => (i % 3 === 0 ? undefined : s));
    let peakBytes = 0;
    for (let i = 0; i < 250; i++) {
      expect(codec.reconstruct(damaged, 64)).toMatchObject({ ok: true, data });
      peakBytes = Math.max(peakBytes, codec.stats.memoryBytes);
    }
    // ~27 KB leaks per 64+32 reconstruct (anchors.md), so 250 calls pass a 4 MiB cap more than once.
    expect(codec.stats.recycledForMemory).toBeGreaterThanOrEqual(2);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThanOrEqual(capBytes);
  });

  it('a failed memory grow is a FecCodecError and the codec recovers', () => {
    let instances = 0;
    /** The first instance cannot grow. */
    class NoGrowInstance extends RsWasmInstance {
      readonly #broken = ++instances === 1;
      override region(byteLength: number): number {
        if (this.#broken) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
        return super.region(byteLength);
      }
    }
    const codec = new ReedSolomonCodec({ createInstance: () => new NoGrowInstance() });
    const data = shards(3, 10, 4);
    expect(() => codec.encode(data, 2)).toThrow(expect.objectContaining({ failure: 'memory' }));
    expect(codec.encode(data, 2)).toEqual(rawEncode(data, 2));
    expect(codec.stats).toMatchObject({ instancesCreated: 2, recycledAfterError: 1 });
  });

  it('replaces an instance after a trap or bad status and keeps working', () => {
    let calls = 0;
    /** Fails its 2nd call with a trap and its 4th with a non-zero status. */
    class FaultyInstance extends RsWasmInstance {
      override encode(ptr: number, size: number, k: number, m: number): number {
        calls++;
        if (calls === 2) return super.encode(ptr, 0, k, m);
        if (calls === 4) return 7;
        return super.encode(ptr, size, k, m);
      }
    }
    const codec = new ReedSolomonCodec({ createInstance: () => new FaultyInstance() });
    const data = shards(4, 20, 3);
    const expected = rawEncode(data, 2);
    expect(codec.encode(data, 2)).toEqual(expected);
    expect(() => codec.encode(data, 2)).toThrow(expect.objectContaining({ failure: 'trap' }));
    expect(codec.encode(data, 2)).toEqual(expected);
    expect(() => codec.encode(data, 2)).toThrow(FecCodecError);
    expect(codec.encode(data, 2)).toEqual(expected);
    expect(codec.stats).toMatchObject({ instancesCreated: 3, recycledAfterError: 2, encodes: 3 });
  });
});
