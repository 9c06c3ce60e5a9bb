import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bulk30Params, runBulk30Sweep, runBulkTransfer } from '../../src/cli/scenarios/bulk-30.ts';

// bulk-30 (scenarios.md, issue 4): 20 MB through a 20 Mbit/s bottleneck, RTT 60 ms, 150 KB drop-tail queue,
// random loss both ways. The loss-tolerant controller keeps ≥ 90% of the erasure-channel capacity
// rate × (1 − loss); the loss-based controllers collapse. Virtual-time figures, deterministic per seed.

describe('bulk-30: the loss-tolerant controller uses (1 − loss) of the capacity', () => {
  it('30% Bernoulli loss both ways: efficiency ≥ 0.9, every byte in order; NewReno and CUBIC below 0.1', () => {
    const params = bulk30Params({ seed: 1 });
    const ferry = runBulkTransfer(params, 'loss-tolerant');
    expect(ferry.completed).toBe(true);
    expect(ferry.orderErrors).toBe(0);
    expect(ferry.efficiency).toBeGreaterThanOrEqual(0.9);
    expect(ferry.retransmitRatio).toBeLessThan(0.55); // ≈ p / (1 − p) = 0.43 repairs per fragment, few wasted
    const shortParams = { ...params, timeLimitS: 20 };
    expect(runBulkTransfer(shortParams, 'newreno').efficiency).toBeLessThan(0.1);
    expect(runBulkTransfer(shortParams, 'cubic').efficiency).toBeLessThan(0.1);
  });

  it('no loss: goodput ≥ 95% of the bottleneck and the p99 queueing delay within one base RTT (60 ms)', () => {
    const result = runBulkTransfer(bulk30Params({ seed: 2, lossPercent: 0 }), 'loss-tolerant');
    expect(result.goodputMbps / 20).toBeGreaterThanOrEqual(0.95);
    expect(result.queueDelayP99Ms).toBeLessThanOrEqual(60);
  });

  it('Gilbert bursts of mean length 3 at 30% and Bernoulli at 50%: efficiency ≥ 0.9', () => {
    const rows = [
      ...runBulk30Sweep({ seed: 3, lossModel: 'gilbert', burst: 3 }, [30], ['loss-tolerant']),
      ...runBulk30Sweep({ seed: 3 }, [50], ['loss-tolerant']),
    ];
    for (const row of rows) expect(row.results['loss-tolerant'].efficiency).toBeGreaterThanOrEqual(0.9);
  });

  it('any seed and loss rate of the sweep, either loss model: efficiency ≥ 0.9', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(1, 5, 10, 20, 40),
        fc.constantFrom('bernoulli' as const, 'gilbert' as const),
        (seed, lossPercent, lossModel) => {
          const result = runBulkTransfer(
            bulk30Params({ seed, lossPercent, lossModel, burst: 3 }),
            'loss-tolerant',
          );
          expect(result.completed).toBe(true);
          expect(result.efficiency).toBeGreaterThanOrEqual(0.9);
        },
      ),
      { numRuns: 3 },
    );
  });
});
