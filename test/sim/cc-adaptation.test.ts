import { describe, expect, it } from 'vitest';
import { BulkFlows } from '../../src/harness/bulk-flows.ts';
import { AdjustableDelay, AdjustableRateLimit } from '../../src/sim/link/adjustable.ts';

// Adaptation (issue 4, spec §9.3 R-CC-7/8): the path changes under a running bulk flow; goodput must come back
// within a few round trips of the new path. Recovery is asserted in virtual time.

const windows = { channelWindowBytes: 16 << 20, connectionWindowBytes: 32 << 20 };

/** Mbit/s delivered to the receiving application over [fromMs, toMs). */
function mbps(net: BulkFlows, fromMs: number, toMs: number): number {
  return (net.flows[0]!.goodputBytesPerSec(fromMs, toMs) * 8) / 1e6;
}

/** First time ≥ `fromMs` (in `stepMs` steps) at which goodput over the next `stepMs` reaches `mbpsTarget`. */
function recoveredAt(
  net: BulkFlows,
  fromMs: number,
  toMs: number,
  stepMs: number,
  mbpsTarget: number,
): number {
  for (let t = fromMs; t + stepMs <= toMs; t += stepMs) if (mbps(net, t, t + stepMs) >= mbpsTarget) return t;
  return Number.POSITIVE_INFINITY;
}

describe('adaptation to path changes', () => {
  it('RTT 25 → 500 ms and back: goodput recovers within 6 round trips of the new path', () => {
    const bottleneck = new AdjustableRateLimit(20e6, 150_000);
    const out = new AdjustableDelay(12.5);
    const back = new AdjustableDelay(12.5);
    const net = new BulkFlows({
      seed: 1,
      flows: [{ config: windows }],
      forward: () => [bottleneck, out],
      reverse: () => [back],
      messageBytes: 16_384,
      queuedTargetBytes: 8 << 20,
    });
    net.sim.schedule(5000, () => {
      out.setDelayMs(250);
      back.setDelayMs(250);
    });
    net.sim.schedule(15_000, () => {
      out.setDelayMs(12.5);
      back.setDelayMs(12.5);
    });
    net.run(20_000);
    expect(mbps(net, 3000, 5000)).toBeGreaterThan(18);
    // After the jump: within 6 RTTs of 500 ms the flow is back at ≥ 80% of the link, and stays there.
    const up = recoveredAt(net, 5000, 15_000, 500, 16);
    expect(up - 5000).toBeLessThanOrEqual(6 * 500);
    expect(mbps(net, up, 15_000)).toBeGreaterThan(16);
    // Back to 25 ms: recovered within a few short round trips (no re-learning needed, the min RTT just drops).
    const down = recoveredAt(net, 15_000, 20_000, 100, 16);
    expect(down - 15_000).toBeLessThanOrEqual(500);
    expect(mbps(net, 16_000, 20_000)).toBeGreaterThan(18);
    expect(net.flows[0]!.orderErrors).toBe(0);
  });

  it('bottleneck 20 → 10 → 20 Mbit/s: the rate follows within a few round trips, the queue does not overflow for long', () => {
    const bottleneck = new AdjustableRateLimit(20e6, 150_000);
    const net = new BulkFlows({
      seed: 2,
      flows: [{ config: windows }],
      forward: () => [bottleneck, new AdjustableDelay(30)],
      reverse: () => [new AdjustableDelay(30)],
      messageBytes: 16_384,
    });
    net.sim.schedule(5000, (now) => bottleneck.setRateBps(now, 10e6));
    net.sim.schedule(10_000, (now) => bottleneck.setRateBps(now, 20e6));
    net.run(15_000);
    expect(mbps(net, 3000, 5000)).toBeGreaterThan(18);
    // Halved: at ≥ 85% of the new rate within 25 RTTs (1.5 s), then steady, and few queue drops.
    const dropsBefore = bottleneck.counters.dropped.queue ?? 0;
    const half = recoveredAt(net, 5000, 10_000, 250, 8.5);
    expect(half - 5000).toBeLessThanOrEqual(1500);
    expect(mbps(net, 7000, 10_000)).toBeGreaterThan(9);
    // Doubled again: back at ≥ 85% of 20 Mbit/s within 1.5 s.
    const full = recoveredAt(net, 10_000, 15_000, 250, 17);
    expect(full - 10_000).toBeLessThanOrEqual(1500);
    expect(mbps(net, 12_000, 15_000)).toBeGreaterThan(18);
    expect((bottleneck.counters.dropped.queue ?? 0) - dropsBefore).toBeLessThan(200);
  });
});
