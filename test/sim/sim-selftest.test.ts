import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { simSelftest } from '../../src/cli/scenarios/sim-selftest.ts';

type Pair = { configured: number; measured: number };

describe('ferry bench sim-selftest', () => {
  it.each([
    ['bernoulli', 30, undefined],
    ['gilbert', 10, 4],
    ['bag', 15, undefined],
  ] as const)('%s %i%%: measured matches configured', (lossModel, lossPercent, burst) => {
    const { params, results } = simSelftest.run({ seed: 5, lossModel, lossPercent, burst, durationS: 60 });
    expect(params).toMatchObject({ lossModel, lossPercent, rateMbps: 10, delayMs: 50, jitterMs: 15 });
    const r = results as Record<string, Pair & Record<string, number | boolean>>;
    const past = (r['datagrams'] as unknown as { pastBottleneck: number }).pastBottleneck;
    const q = lossPercent / 100;
    // ~60k datagrams; bursty loss widens the error, so allow 5 sigma of a burst-inflated binomial.
    const lossSe = Math.sqrt((q * (1 - q) * (burst ?? 1) * 2) / past);
    expect(Math.abs(r['lossRate']!.measured - q)).toBeLessThan(5 * lossSe);
    if (burst) expect(Math.abs(r['meanBurst']!.measured - burst)).toBeLessThan(0.2);
    expect(Math.abs(r['delayMeanMs']!.measured - 50)).toBeLessThan(0.3);
    expect(Math.abs(r['delayStdevMs']!.measured - r['delayStdevMs']!.configured)).toBeLessThan(0.2);
    expect(r['bottleneckMbps']!.measured).toBeLessThanOrEqual(10);
    expect(r['bottleneckMbps']!.measured).toBeGreaterThan(9.9);
    expect(r['queue']!['respected']).toBe(true);
    expect(r['queue']!['drops']).toBeGreaterThan(0);
  });

  it('prints one JSON object in the scenarios.md shape, reproducible from its seed', async () => {
    const run = async () => {
      const out: string[] = [];
      const code = await main(
        ['bench', 'sim-selftest', '--json', '--seed', '9', '--duration', '5', '--loss', '5', '--rtt', '40'],
        { out: (t) => out.push(t), err: () => {} },
      );
      expect(code).toBe(0);
      expect(out).toHaveLength(1);
      return JSON.parse(out[0]!) as Record<string, unknown> & {
        results: unknown;
        params: Record<string, unknown>;
      };
    };
    const first = await run();
    expect(first).toMatchObject({ scenario: 'sim-selftest', seed: 9 });
    expect(first.params).toMatchObject({ lossPercent: 5, delayMs: 20, durationS: 5 });
    expect((await run()).results).toEqual(first.results);
  });

  it('turns an impossible Gilbert setting into a usage error', async () => {
    const err: string[] = [];
    const code = await main(
      ['bench', 'sim-selftest', '--loss-model', 'gilbert', '--loss', '90', '--burst', '2', '--duration', '1'],
      { out: () => {}, err: (t) => err.push(t) },
    );
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/meanLoss/);
  });
});
