import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PlotRun, plotSpec, renderSvg } from '../../src/cli/plot.ts';

type Row = Record<string, number | string>;
const rowsOf = (spec: unknown): Row[] => (spec as { data: { values: Row[] } }).data.values;

describe('ferry bench --plot charts', () => {
  it('latency CDF: per series non-decreasing in both axes, ends at fraction 1 at the largest sample, thinned', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: 1, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 2000 }), {
          minLength: 1,
          maxLength: 3,
        }),
        (sampleSets) => {
          const runs: PlotRun[] = sampleSets.map((latencyMs, i) => ({
            protocol: 'ferry',
            sweepValue: String(i),
            result: { params: {}, results: {}, samples: { latencyMs } } as PlotRun['result'],
          }));
          const rows = rowsOf(plotSpec({ scenario: 'im-30', seed: 1, runs, sweepName: 'loss' }));
          sampleSets.forEach((samples, i) => {
            const series = rows.filter((r) => r['series'] === `loss=${i}`);
            expect(series.length).toBeLessThanOrEqual(401);
            for (let k = 1; k < series.length; k++) {
              expect(series[k]!['latencyMs']).toBeGreaterThanOrEqual(series[k - 1]!['latencyMs'] as number);
              expect(series[k]!['fraction']).toBeGreaterThan(series[k - 1]!['fraction'] as number);
            }
            expect(series.at(-1)).toMatchObject({ fraction: 1, latencyMs: Math.max(...samples) });
            expect(series[0]!['latencyMs']).toBe(Math.min(...samples));
          });
        },
      ),
      { numRuns: 50 },
    );
  });

  it('bulk-30 with a loss sweep: goodput, the reference controllers and the capacity against loss', () => {
    const runs: PlotRun[] = [10, 30].map((loss) => ({
      protocol: 'ferry',
      sweepValue: String(loss),
      result: {
        params: {},
        results: {
          goodputMbps: 20 - loss / 3,
          capacityMbps: 20 * (1 - loss / 100),
          newreno: { goodputMbps: 1 },
          cubic: { goodputMbps: 2 },
        },
      },
    }));
    const rows = rowsOf(plotSpec({ scenario: 'bulk-30', seed: 1, runs, sweepName: 'loss' }));
    expect(rows).toHaveLength(8);
    expect(rows.filter((r) => r['series'] === 'NewReno').map((r) => r['x'])).toEqual([10, 30]);
    expect(rows.find((r) => r['series'] === 'capacity = rate × (1 − loss)' && r['x'] === 30)?.['y']).toBe(14);
  });

  it('bulk-30 beside KCP: Ferry keeps its curves, each peer adds one goodput curve, one capacity line', () => {
    const runs: PlotRun[] = [10, 30].flatMap((loss) =>
      ['ferry', 'kcp-fast'].map((protocol) => ({
        protocol,
        sweepValue: String(loss),
        result: {
          params: {},
          results: {
            goodputMbps: protocol === 'ferry' ? 15 : 5,
            capacityMbps: 20 * (1 - loss / 100),
            ...(protocol === 'ferry' ? { newreno: { goodputMbps: 1 }, cubic: { goodputMbps: 2 } } : {}),
          },
        },
      })),
    );
    const rows = rowsOf(plotSpec({ scenario: 'bulk-30', seed: 1, runs, sweepName: 'loss' }));
    expect([...new Set(rows.map((r) => r['series']))]).toEqual([
      'Ferry (loss-tolerant)',
      'NewReno',
      'CUBIC',
      'capacity = rate × (1 − loss)',
      'KCP fast',
    ]);
    expect(rows.filter((r) => r['series'] === 'KCP fast').map((r) => [r['x'], r['y']])).toEqual([
      [10, 5],
      [30, 5],
    ]);
  });

  it('media-30: residual loss against overhead, one point per run and channel', async () => {
    const runs: PlotRun[] = ['on', 'off'].map((fec, i) => ({
      protocol: 'ferry',
      sweepValue: fec,
      result: {
        params: {},
        results: {
          audio: { residualLoss: 0.01 * i, overhead: 1 - i / 2 },
          video: { residualLoss: 0.02 * i, overhead: 0.9 - i / 2 },
        },
      },
    }));
    const spec = plotSpec({ scenario: 'media-30', seed: 1, runs, sweepName: 'fec' });
    const rows = rowsOf(spec);
    expect(rows.map((r) => [r['series'], r['overhead'], r['residualLoss']])).toEqual([
      ['audio', 1, 0],
      ['video', 0.9, 0],
      ['audio', 0.5, 0.01],
      ['video', 0.4, 0.02],
    ]);
    const svg = await renderSvg(spec);
    expect(svg).toContain('residual loss at playout vs overhead');
  });

  it('--metric against the swept value; an unknown metric is a usage error', () => {
    const runs: PlotRun[] = ['a', 'b'].map((v, i) => ({
      protocol: 'ferry',
      sweepValue: v,
      result: { params: {}, results: { x: { y: i * 2 } } },
    }));
    const rows = rowsOf(plotSpec({ scenario: 's', seed: 1, runs, sweepName: 'profile', metrics: ['x.y'] }));
    expect(rows.map((r) => [r['x'], r['y']])).toEqual([
      ['a', 0],
      ['b', 2],
    ]);
    expect(() => plotSpec({ scenario: 's', seed: 1, runs, sweepName: 'profile', metrics: ['nope'] })).toThrow(
      /no numeric result named nope/,
    );
  });
});
