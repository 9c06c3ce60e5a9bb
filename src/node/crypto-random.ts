import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '../protocol/random.ts';

/** Bytes drawn from the CSPRNG at once; `uint32()` is served from this pool. */
const poolBytes = 256;

/**
 * The Node binding's only {@link RandomSource}: `node:crypto`'s CSPRNG (design.md rule 1). It takes no seed
 * and no options, and the binding never accepts a random source from its caller, so a seeded or predictable
 * generator cannot reach connection ids (or, later, keys and cookies) by construction.
 */
export class CryptoRandom implements RandomSource {
  private readonly pool = new Uint8Array(poolBytes);
  private readonly view = new DataView(this.pool.buffer);
  private offset = poolBytes;

  /** A uniformly distributed integer in [0, 2^32). */
  uint32(): number {
    if (this.offset + 4 > poolBytes) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const value = this.view.getUint32(this.offset);
    // Never hand out the same pool bytes twice.
    this.view.setUint32(this.offset, 0);
    this.offset += 4;
    return value;
  }

  /** Fills `bytes` straight from the CSPRNG. */
  fill(bytes: Uint8Array): void {
    randomFillSync(bytes);
  }
}
