import { describe, expect, it } from 'vitest';
import { BulkFlows } from '../../src/harness/bulk-flows.ts';
import type { ConnectionConfig } from '../../src/protocol/connection-config.ts';
import { bernoulliLoss } from '../../src/sim/link/bernoulli-loss.ts';
import { fixedDelay } from '../../src/sim/link/fixed-delay.ts';
import type { LinkNode } from '../../src/sim/link/node.ts';
import { rateLimit } from '../../src/sim/link/rate-limit.ts';

// Fairness (issue 4, spec §9.3 R-CC-7): flows through ONE rate-limited link (20 Mbit/s, 150 KB drop-tail
// queue, 30 ms each way). The bottleneck node is shared by both flows' forward paths; each path has its own loss
// and delay nodes. Shares are measured in virtual time from what each receiver's application got.

const windows: Partial<ConnectionConfig> = {
  channelWindowBytes: 8 * 1024 * 1024,
  connectionWindowBytes: 16 << 20,
};

function twoFlows(
  seed: number,
  controllers: [string, string],
  secondStartMs: number,
  lossRate: number,
): BulkFlows {
  const bottleneck = rateLimit({ rateBps: 20e6, queueBytes: 150_000 });
  const loss = (): LinkNode[] => (lossRate > 0 ? [bernoulliLoss(lossRate)] : []);
  return new BulkFlows({
    seed,
    flows: [
      { config: { ...windows, congestionControl: controllers[0] as ConnectionConfig['congestionControl'] } },
      {
        config: { ...windows, congestionControl: controllers[1] as ConnectionConfig['congestionControl'] },
        startMs: secondStartMs,
      },
    ],
    forward: () => [bottleneck, ...loss(), fixedDelay(30)],
    reverse: () => [...loss(), fixedDelay(30)],
    messageBytes: 16_384,
  });
}

/** Each flow's share of what both delivered over [fromMs, toMs). */
function shares(net: BulkFlows, fromMs: number, toMs: number): [number, number] {
  const a = net.flows[0]!.goodputBytesPerSec(fromMs, toMs);
  const b = net.flows[1]!.goodputBytesPerSec(fromMs, toMs);
  return [a / (a + b), b / (a + b)];
}

describe('congestion-control fairness on a shared bottleneck', () => {
  it.each([
    [1, 0],
    [2, 0],
    [3, 0.3],
  ])(
    'seed %i, loss %d: a Ferry flow joining a running one converges to ±20% of an equal share within 10 s',
    (seed, loss) => {
      const start = 2000;
      const net = twoFlows(seed, ['loss-tolerant', 'loss-tolerant'], start, loss);
      net.run(start + 10_000);
      // The last 2 s of the 10 s after the second flow joined.
      const [first, second] = shares(net, start + 8000, start + 10_000);
      expect(Math.abs(first - 0.5) / 0.5).toBeLessThanOrEqual(0.2);
      expect(Math.abs(second - 0.5) / 0.5).toBeLessThanOrEqual(0.2);
      // Together they still use the link: ≥ 85% of the erasure-channel capacity.
      const total =
        net.flows[0]!.goodputBytesPerSec(start + 8000, start + 10_000) +
        net.flows[1]!.goodputBytesPerSec(start + 8000, start + 10_000);
      expect((total * 8) / 1e6 / (20 * (1 - loss))).toBeGreaterThan(0.85);
      expect(net.flows[0]!.orderErrors + net.flows[1]!.orderErrors).toBe(0);
    },
  );

  it('beside a NewReno flow on a clean path a Ferry flow takes at most 4× the NewReno share', () => {
    const net = twoFlows(4, ['loss-tolerant', 'newreno'], 0, 0);
    net.run(20_000);
    const [ferry, reno] = shares(net, 5000, 20_000);
    expect(ferry / reno).toBeLessThanOrEqual(4);
    expect(ferry + reno).toBeCloseTo(1, 9);
    expect(net.flows[1]!.goodputBytesPerSec(5000, 20_000)).toBeGreaterThan(0); // both make progress
    expect(net.flows[0]!.goodputBytesPerSec(5000, 20_000)).toBeGreaterThan(0);
  });
});
