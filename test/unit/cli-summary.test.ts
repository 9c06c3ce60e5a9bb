import { describe, expect, it } from 'vitest';
import { loadKcp } from '../../src/cli/kcp/node-kcp.ts';
import { hasKcpAdapter } from '../../src/cli/protocols.ts';
import { scenarios } from '../../src/cli/scenarios/index.ts';
import { summaryPlan } from '../../src/cli/summary.ts';
import { hasPath, jsonLines, runCli, scenarioFields } from './cli-capture.ts';

const kcpLoads = !('error' in loadKcp());

/** (scenario, protocol) pairs the summary must print, in order. */
function expectedRows(): string[] {
  return scenarios.flatMap((s) => [
    `${s.name} ferry`,
    ...(kcpLoads && hasKcpAdapter(s.name) ? [`${s.name} kcp-fast`, `${s.name} kcp-normal`] : []),
  ]);
}

describe('ferry bench (no scenario): the all-scenarios summary', () => {
  it('runs every registered scenario at reduced duration, KCP rows beside Ferry, in one table', async () => {
    const run = await runCli(['bench']);
    expect(run.code).toBe(0);
    expect(run.err).toEqual(kcpLoads ? [] : [expect.stringMatching(/KCP comparison skipped/)]);
    const lines = run.out.join('\n').split('\n');
    expect(lines[0]).toMatch(/every scenario at reduced duration in the simulator, seed 1/);
    expect(lines[1]).toMatch(/^scenario\s+protocol\s+headline results\s+wall ms$/);
    const rows = lines.slice(3, -1);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2).join(' '))).toEqual(expectedRows());
    for (const row of rows) {
      const [name] = row.split(/\s+/);
      const scenario = scenarios.find((s) => s.name === name)!;
      // Every headline metric of the scenario is shown with a value (KCP rows lack Ferry-only sub-results).
      const shown = [...row.matchAll(/(\S+)=(\S+)/g)].map((m) => m[1]);
      expect(shown.length).toBeGreaterThan(0);
      for (const key of shown) expect(scenario.headline ?? shown).toContain(key);
      expect(row).toMatch(/\s\d+$/);
    }
    // Reduced durations: kcp-echo echoes 200 messages rather than 1000.
    expect(rows[0]).toMatch(/echoed=200\b/);
    expect(lines.at(-1)).toMatch(new RegExp(`^${rows.length} runs, \\d+\\.\\d s wall$`));
  });

  it('--json: one line per run with `protocol`, every scenarios.md field present; same seed, same results', async () => {
    const argv = ['bench', '--json', '--duration', '0.5', '--seed', '9'];
    const first = jsonLines(await runCli(argv));
    expect(first.map((l) => `${l['scenario']} ${l['protocol']}`)).toEqual(expectedRows());
    for (const line of first) {
      expect(Object.keys(line).sort()).toEqual([
        'params',
        'protocol',
        'results',
        'scenario',
        'seed',
        'wallMs',
      ]);
      expect(line).toMatchObject({ seed: 9 });
      for (const field of scenarioFields[line['scenario'] as string] ?? []) {
        expect(hasPath(line['results'], field), `${line['scenario']} ${line['protocol']}: ${field}`).toBe(
          true,
        );
      }
    }
    const results = (lines: Record<string, unknown>[]) => lines.map((l) => l['results']);
    expect(results(jsonLines(await runCli(argv)))).toEqual(results(first));
    const otherSeed = jsonLines(await runCli(['bench', '--json', '--duration', '0.5', '--seed', '10']));
    expect(results(otherSeed)).not.toEqual(results(first));
  });

  it('--real plans only the scenarios with a real run, Ferry only, one note per skipped scenario', () => {
    const { plan, notes } = summaryPlan(scenarios, true, []);
    expect(plan.every((e) => e.protocol === 'ferry')).toBe(true);
    expect(plan.map((e) => e.scenario.name)).toEqual(
      scenarios.map((s) => s.name).filter((n) => ['kcp-echo', 'im-30', 'bulk-30'].includes(n)),
    );
    expect(notes).toHaveLength(scenarios.length - plan.length);
    for (const note of notes) expect(note).toMatch(/has no --real run .*: skipped$/);
  });

  it('--vs picks the peers beside Ferry; with --real they are one note', async () => {
    const run = await runCli(['bench', '--json', '--duration', '0.3', '--vs', 'kcp-fast']);
    const rows = jsonLines(run).map((l) => `${l['scenario']} ${l['protocol']}`);
    expect(rows).toEqual(expectedRows().filter((r) => !r.endsWith('kcp-normal')));
    expect(summaryPlan(scenarios, true, ['kcp-fast']).notes).toContain(
      'KCP rows skipped with --real: the KCP adapters run in the simulator only',
    );
  });

  it('rejects per-scenario flags and notes flags a scenario cannot apply', async () => {
    const sweep = await runCli(['bench', '--plot', 'x.svg']);
    expect(sweep.code).toBe(2);
    const fec = await runCli(['bench', '--duration', '0.2', '--fec', 'on']);
    expect(fec.code).toBe(0);
    expect(fec.err).toContain(
      'ferry: --fec ignored for sim-selftest: sim-selftest sends raw datagrams through the link (no protocol, so no FEC)',
    );
    expect(fec.err.some((l) => /--fec ignored for bulk-30/.test(l))).toBe(true);
    if (kcpLoads) expect(fec.err).toContain('ferry: KCP rows of kcp-echo run without FEC (KCP has none)');
  });
});
