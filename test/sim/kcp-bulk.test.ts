import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runBulk30WithKcp } from '../../src/cli/kcp/bulk-30-kcp.ts';
import { loadKcp } from '../../src/cli/kcp/node-kcp.ts';
import { bulk30Params } from '../../src/cli/scenarios/bulk-30.ts';

const loaded = loadKcp();
const binding = 'module' in loaded ? loaded.module : undefined;
const skipReason = 'error' in loaded ? ` (skipped: ${loaded.error})` : '';

describe(`KCP bulk-30 adapter in the simulator${skipReason}`, () => {
  it.skipIf(!binding)(
    'delivers the whole transfer once and in order, within the bottleneck rate, resending what was lost',
    () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** 31 }),
          fc.integer({ min: 0, max: 40 }),
          fc.constantFrom('bernoulli' as const, 'bag' as const, 'gilbert' as const),
          fc.constantFrom('fast' as const, 'normal' as const),
          fc.integer({ min: 1, max: 600_000 }),
          (seed, lossPercent, lossModel, mode, transferBytes) => {
            const params = { ...bulk30Params({ seed, lossPercent, lossModel }), transferBytes };
            const { results, params: used } = runBulk30WithKcp(binding!, params, mode);
            expect(results).toMatchObject({
              deliveredBytes: transferBytes,
              completed: true,
              orderErrors: 0,
            });
            expect(used).toMatchObject({ profile: `kcp-${mode}`, lossPercent, lossModel });
            // Goodput can't beat the 20 Mbit/s bottleneck (delivery time includes one 30 ms trip).
            expect(results['goodputMbps']).toBeLessThanOrEqual(params.rateMbps);
            expect(results['transferMs']).toBeGreaterThanOrEqual(params.delayMs);
            if (lossPercent === 0) expect(results['retransmitRatio']).toBe(0);
          },
        ),
        { numRuns: 12 },
      );
    },
  );

  it.skipIf(!binding)('30% loss both ways: resends every lost segment; same seed, same run', () => {
    const params = { ...bulk30Params({ seed: 5 }), transferBytes: 1_000_000 };
    const a = runBulk30WithKcp(binding!, params, 'fast').results;
    expect(a).toMatchObject({ deliveredBytes: 1_000_000, completed: true, orderErrors: 0 });
    // About 30% of first sends are lost, each needing at least one resend.
    expect(a['retransmitRatio']).toBeGreaterThan(0.3);
    expect(runBulk30WithKcp(binding!, params, 'fast').results).toEqual(a);
    expect(runBulk30WithKcp(binding!, { ...params, seed: 6 }, 'fast').results).not.toEqual(a);
  });

  it.skipIf(!binding)('a --duration run sends without end and stops at the time limit', () => {
    const { results } = runBulk30WithKcp(binding!, bulk30Params({ seed: 2, durationS: 2 }), 'normal');
    expect(results['completed']).toBe(false);
    expect(results['transferMs']).toBe(2000);
    expect(results['deliveredBytes']).toBeGreaterThan(0);
  });
});
