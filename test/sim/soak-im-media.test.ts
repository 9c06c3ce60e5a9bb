import { describe, expect, it } from 'vitest';
import { runSoak } from '../support/soak-harness.ts';

// Soak, reduced (spec §14, R-LIMIT-7): two simulated minutes at 30% loss both ways carrying IM both ways plus a
// 50 frame/s media stream on a deadline channel. `npm run soak` runs one simulated hour with 1,000,000 IM messages.

describe('soak (R-LIMIT-7): IM and media at 30% loss, reduced to two simulated minutes', () => {
  it('zero IM messages lost, duplicated, corrupted or reordered; media settled at most once; state flat', () => {
    const result = runSoak({
      seed: 20_261_126,
      durationMs: 120_000,
      imMessages: 12_000,
      mediaFramesPerSecond: 50,
    });
    expect(result.imSent).toBe(12_000);
    expect(result.imLost).toBe(0);
    expect(result.imReceived).toBe(result.imSent);
    expect(result.imDuplicates).toBe(0);
    expect(result.imCorrupt).toBe(0);
    expect(result.imOutOfOrder).toBe(0);
    expect(result.closedEarly).toBe(false);
    expect(result.violations).toEqual([]);
    // Media (deadline channel, R-PR-2): every frame delivered at most once; the rest expired or skipped.
    expect(result.mediaSent).toBeGreaterThan(5000);
    expect(result.mediaDuplicates).toBe(0);
    expect(result.mediaReceived).toBeLessThanOrEqual(result.mediaSent);
    expect(result.mediaReceived).toBeGreaterThan(result.mediaSent * 0.9);
    // State is flat: the structures stay small and bounded minute after minute, whatever has been carried.
    expect(result.samples.length).toBeGreaterThanOrEqual(3);
    for (const sample of result.samples) {
      expect(sample.sizes.trackedPackets).toBeLessThan(1000);
      expect(sample.sizes.retransmitQueue).toBeLessThan(1000);
      expect(sample.sizes.ackRanges).toBeLessThanOrEqual(256);
      expect(sample.sizes.receivePendingMessages).toBeLessThan(1000);
      expect(sample.sizes.queuedEvents).toBe(0);
      expect(sample.sizes.receiveChannels).toBe(3);
    }
    const last = result.samples[result.samples.length - 1]!;
    expect(last.sizes.sendBufferedBytes).toBe(0);
    expect(last.sizes.receiveBufferedBytes).toBe(0);
  });
});
