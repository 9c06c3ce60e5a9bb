import { describe, expect, it } from 'vitest';
import { realRunNote } from '../../src/cli/real/index.ts';
import { type CliRun, hasPath, jsonLines, runCli, scenarioFields } from '../unit/cli-capture.ts';

/** The one JSON line of a successful `--real --json` run, checked for the scenarios.md fields. */
function realResult(
  run: CliRun,
  scenario: string,
): { params: Record<string, unknown>; results: Record<string, number> } {
  expect(run.code, run.err.join('\n')).toBe(0);
  expect(run.err.at(-1)).toBe(`ferry: ${realRunNote}`);
  const lines = jsonLines(run);
  expect(lines).toHaveLength(1);
  const results = lines[0]!['results'] as Record<string, number>;
  for (const field of scenarioFields[scenario]!) expect(hasPath(results, field), field).toBe(true);
  return { params: lines[0]!['params'] as Record<string, unknown>, results };
}

describe('ferry bench --real: real UDP on loopback through the impairment relay', () => {
  it('kcp-echo and im-30 deliver everything once and in order; --encrypt reports the cost of encryption', async () => {
    const echo = (encrypt: boolean) =>
      runCli([
        'bench',
        'kcp-echo',
        '--real',
        '--json',
        '--duration',
        '1',
        '--loss',
        '0',
        ...(encrypt ? ['--encrypt'] : []),
      ]);
    const [plain, encrypted, im] = await Promise.all([
      echo(false),
      echo(true),
      runCli(['bench', 'im-30', '--real', '--json', '--duration', '1', '--loss', '20']),
    ]);
    const a = realResult(plain, 'kcp-echo');
    const b = realResult(encrypted, 'kcp-echo');
    expect(a.params).toMatchObject({ lossPercent: 0, clock: 'wall', fec: false, encrypted: false });
    expect(b.params).toMatchObject({ encrypted: true });
    for (const { results } of [a, b]) {
      expect(results).toMatchObject({ echoed: 50, duplicates: 0, outOfOrder: 0 });
      // The relay's one-way delay is at least 30 ms each way.
      expect(results['avgRttMs']).toBeGreaterThanOrEqual(60);
    }
    // Each datagram carries an AEAD tag (and the handshake comes first).
    expect(b.results['bytesPerMsg']).toBeGreaterThan(a.results['bytesPerMsg']!);
    const { params, results } = realResult(im, 'im-30');
    expect(params).toMatchObject({ lossPercent: 20 });
    expect(results).toMatchObject({ delivered: results['sent'], duplicates: 0, outOfOrder: 0 });
    expect(results['latencyP50Ms']).toBeGreaterThanOrEqual(30);
  }, 20_000);

  it('bulk-30 delivers in order through the bottleneck; --vs with --real is one note, Ferry runs alone', async () => {
    const run = await runCli(['bench', 'bulk-30', '--real', '--json', '--duration', '2', '--vs', 'kcp']);
    expect(run.err[0]).toBe(
      'ferry: KCP rows skipped with --real: the KCP adapters run in the simulator only',
    );
    expect(jsonLines(run).map((l) => l['protocol'])).toEqual(['ferry']);
    const { results } = realResult(run, 'bulk-30');
    expect(results['orderErrors']).toBe(0);
    expect(results['deliveredBytes']).toBeGreaterThan(0);
    // The relay's 20 Mbit/s bottleneck bounds goodput.
    expect(results['goodputMbps']).toBeLessThanOrEqual(20);
  }, 20_000);
});
