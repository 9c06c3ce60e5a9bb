import fc from 'fast-check';
import type { LinkProfile } from '../../src/sim/link.ts';

/** Bounds of {@link lossyLinkArb}. */
export interface LossyLinkBounds {
  /** Largest one-way delay (ms). */
  maxDelayMs: number;
  /** Largest jitter (ms). */
  maxJitterMs: number;
  /** Whether some links get a rate-limited bottleneck with a drop-tail queue. */
  bottleneck: boolean;
}

/**
 * One direction of a hostile path for end-to-end properties: 0–50 % loss under each loss model, bursts, delay,
 * jitter with or without reordering, duplication, and optionally a bottleneck. Corruption stays 0 until packets
 * are authenticated (spec §13): v0 has no integrity check, so a flipped payload bit would reach the application.
 */
export function lossyLinkArb(bounds: LossyLinkBounds): fc.Arbitrary<LinkProfile> {
  return fc
    .record({
      lossPercent: fc.integer({ min: 0, max: 50 }),
      lossModel: fc.constantFrom('bernoulli' as const, 'gilbert' as const, 'bag' as const),
      burst: fc.integer({ min: 1, max: 6 }),
      delayMs: fc.integer({ min: 1, max: bounds.maxDelayMs }),
      jitterMs: fc.integer({ min: 0, max: bounds.maxJitterMs }),
      fifo: fc.boolean(),
      duplicatePercent: fc.integer({ min: 0, max: 20 }),
      bottleneck: bounds.bottleneck
        ? fc.option(
            fc.record({
              rateMbps: fc.integer({ min: 1, max: 50 }),
              queueBytes: fc.integer({ min: 16 * 1024, max: 256 * 1024 }),
            }),
            { nil: undefined },
          )
        : fc.constant(undefined),
    })
    .map(({ bottleneck, ...rest }) => ({ ...rest, ...bottleneck }));
}
