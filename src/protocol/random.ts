/**
 * An injected source of randomness (design.md rule 1). The core never calls `Math.random()`: the simulator
 * passes a seeded generator (reproducible runs) and the Node binding passes `node:crypto`'s CSPRNG.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [0, 2^32). */
  uint32(): number;
  /** Fills `bytes` with uniformly distributed bytes. */
  fill(bytes: Uint8Array): void;
}
