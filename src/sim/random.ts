import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import type { RandomSource } from '../protocol/random.ts';

/** One round of the murmur3 32-bit finaliser: a bijective avalanche mix used only to derive seeds. */
function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * Expands `(key, salt)` into a 128-bit xoroshiro state. Seeding through a mixer rather than
 * `xoroshiro128plus(seed)` matters: pure-rand's seeding puts the raw seed in the state, so its first
 * outputs of nearby seeds are nearly equal (Vigna recommends seeding xoroshiro through a mixer).
 */
function deriveState(key: readonly number[], salt: number): number[] {
  const state: number[] = [];
  let acc = mix32(salt ^ 0x9e3779b9);
  for (let i = 0; i < 4; i++) {
    acc = mix32(acc + Math.imul(i + 1, 0x7f4a7c15) + (key[i] ?? 0));
    state.push(acc);
  }
  // The all-zero state is xoroshiro's one fixed point; never hand it out.
  if (!state.some((w) => w !== 0)) state[0] = 1;
  return state;
}

/** Turns a name (an address, `a->b`, a node kind) into a fork label for `SeededRandom.fork` (FNV-1a, 32 bits). */
export function labelOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Seeded, deterministic randomness for the simulator: pure-rand's xoroshiro128+ and its distributions.
 * Implements the core's `RandomSource`, so the same object can be injected into sans-IO endpoints.
 * `fork(label)` derives an independent stream from this generator's identity (its seed path), not from
 * its current position: forking never consumes draws, so adding a consumer never perturbs the others.
 */
export class SeededRandom implements RandomSource {
  private readonly gen: JumpableRandomGenerator;
  /** The seed path this generator was created from; forks derive from it. */
  private readonly forkKey: readonly number[];
  /** Second value of the last polar-method pair, or NaN when none is cached. */
  private spareNormal = Number.NaN;

  /** Creates a generator from a 32-bit seed (any integer; only the low 32 bits count). */
  constructor(seed: number, forkKey?: readonly number[]) {
    this.forkKey = forkKey ?? deriveState([seed | 0, 0, 0, 0], 0x5eed);
    this.gen = xoroshiro128plusFromState(this.forkKey);
  }

  /** An independent generator for consumer `label`; the same label always yields the same stream. */
  fork(label: number): SeededRandom {
    return new SeededRandom(0, deriveState(this.forkKey, label));
  }

  /** A uniformly distributed integer in [0, 2^32). */
  uint32(): number {
    return this.gen.next() >>> 0;
  }

  /** Fills `bytes` with uniformly distributed bytes. */
  fill(bytes: Uint8Array): void {
    let word = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((i & 3) === 0) word = this.gen.next();
      bytes[i] = word & 0xff;
      word >>>= 8;
    }
  }

  /** A uniformly distributed float in [0, 1) with 53 random bits. */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** A uniformly distributed integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return uniformInt(this.gen, min, max);
  }

  /** True with probability `p` (p ≤ 0 never, p ≥ 1 always). */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A normally distributed value (Marsaglia polar method; the pair's second value is cached). */
  normal(mean: number, stdev: number): number {
    let z = this.spareNormal;
    if (Number.isNaN(z)) {
      let u: number;
      let v: number;
      let s: number;
      do {
        u = 2 * this.float() - 1;
        v = 2 * this.float() - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const factor = Math.sqrt((-2 * Math.log(s)) / s);
      z = u * factor;
      this.spareNormal = v * factor;
    } else {
      this.spareNormal = Number.NaN;
    }
    return mean + stdev * z;
  }

  /** An exponentially distributed value with the given mean (inverse-CDF method). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }
}
