import { describe, expect, it } from 'vitest';
import { realRunNote } from '../../src/cli/real/index.ts';
import { hasPath, jsonLines, runCli, scenarioFields } from '../unit/cli-capture.ts';

describe('ferry bench --real: real UDP on loopback through the impairment relay', () => {
  it('kcp-echo and im-30 deliver everything once and in order, with the scenarios.md fields', async () => {
    for (const [scenario, duration] of [
      ['kcp-echo', '1.5'],
      ['im-30', '1'],
    ] as const) {
      const run = await runCli([
        'bench',
        scenario,
        '--real',
        '--json',
        '--duration',
        duration,
        '--loss',
        '20',
      ]);
      expect(run.code, run.err.join('\n')).toBe(0);
      expect(run.err).toEqual([`ferry: ${realRunNote}`]);
      const [line] = jsonLines(run);
      expect(Object.keys(line!).sort()).toEqual(['params', 'results', 'scenario', 'seed', 'wallMs']);
      expect(line!['params']).toMatchObject({ lossPercent: 20, clock: 'wall', fec: false });
      const results = line!['results'] as Record<string, number>;
      for (const field of scenarioFields[scenario]!) expect(hasPath(results, field), field).toBe(true);
      expect(results).toMatchObject({ duplicates: 0, outOfOrder: 0 });
      if (scenario === 'kcp-echo') {
        expect(results['echoed']).toBe(75);
        // The relay's one-way delay is at least 30 ms each way.
        expect(results['avgRttMs']).toBeGreaterThanOrEqual(60);
      } else {
        expect(results['delivered']).toBe(results['sent']);
        expect(results['latencyP50Ms']).toBeGreaterThanOrEqual(30);
      }
    }
  }, 20_000);

  it('bulk-30 delivers in order through the bottleneck; --vs with --real is one note, Ferry runs alone', async () => {
    const run = await runCli(['bench', 'bulk-30', '--real', '--json', '--duration', '1', '--vs', 'kcp']);
    expect(run.code, run.err.join('\n')).toBe(0);
    expect(run.err).toEqual([
      'ferry: KCP rows skipped with --real: the KCP adapters run in the simulator only',
      `ferry: ${realRunNote}`,
    ]);
    const lines = jsonLines(run);
    expect(lines.map((l) => l['protocol'])).toEqual(['ferry']);
    const results = lines[0]!['results'] as Record<string, number>;
    for (const field of scenarioFields['bulk-30']!) expect(hasPath(results, field), field).toBe(true);
    expect(results['orderErrors']).toBe(0);
    expect(results['deliveredBytes']).toBeGreaterThan(0);
    // The relay's 20 Mbit/s bottleneck bounds goodput.
    expect(results['goodputMbps']).toBeLessThanOrEqual(20);
  }, 20_000);
});
