import { performance } from 'node:perf_hooks';
import { UsageError } from './errors.ts';
import { flatten, formatValue, renderTable } from './format.ts';
import type { CliIo } from './main.ts';
import type { BenchArgs } from './options.ts';
import { createProgress } from './progress.ts';
import { hasKcpAdapter, type Protocol, unavailableReason } from './protocols.ts';
import { realPeerNote, realRunNote, realUnavailableReason, runWith } from './real/index.ts';
import type { Scenario, ScenarioResult } from './scenario.ts';
import { scenarios } from './scenarios/index.ts';
import { applicableOptions, flagNotes } from './validate.ts';

/** One run of the summary: a scenario with one protocol. */
export interface SummaryEntry {
  scenario: Scenario;
  protocol: Protocol;
}

/** A finished summary run. */
export interface SummaryRun extends SummaryEntry {
  result: ScenarioResult;
  wallMs: number;
}

/** The KCP modes the summary runs beside Ferry unless `--vs` picks others. */
const summaryPeers: readonly Protocol[] = ['kcp-fast', 'kcp-normal'];

/**
 * What the summary runs: every registered scenario with Ferry, then the peers (`--vs`; default KCP's fast and
 * normal modes) beside it where a KCP adapter exists and node-kcp loads (simulator only). Each skip is one note.
 */
export function summaryPlan(
  registry: readonly Scenario[],
  real: boolean,
  peers: readonly Protocol[] = summaryPeers,
): { plan: SummaryEntry[]; notes: string[] } {
  const plan: SummaryEntry[] = [];
  const notes = new Set<string>();
  if (real && peers.length > 0) notes.add(realPeerNote);
  for (const scenario of registry) {
    if (real) {
      const reason = realUnavailableReason(scenario.name);
      if (reason) notes.add(`${reason}: skipped`);
      else plan.push({ scenario, protocol: 'ferry' });
      continue;
    }
    plan.push({ scenario, protocol: 'ferry' });
    if (!hasKcpAdapter(scenario.name)) continue;
    for (const protocol of peers) {
      const reason = unavailableReason(scenario.name, protocol);
      if (reason) notes.add(reason);
      else plan.push({ scenario, protocol });
    }
  }
  return { plan, notes: [...notes] };
}

/** One table row: scenario, protocol, the scenario's headline results as `key=value`, wall ms. */
export function summaryRow(run: SummaryRun): string[] {
  const flat = new Map(flatten(run.result.results));
  const keys = run.scenario.headline ?? [...flat.keys()].slice(0, 4);
  const shown = keys.filter((k) => flat.has(k));
  return [
    run.scenario.name,
    run.protocol,
    shown.map((k) => `${k}=${formatValue(flat.get(k))}`).join('  '),
    `${run.wallMs}`,
  ];
}

/** The summary table with its title and closing wall-time line. */
export function summaryTable(runs: readonly SummaryRun[], seed: number, real: boolean): string {
  const totalWallMs = runs.reduce((sum, r) => sum + r.wallMs, 0);
  const where = real ? 'over real UDP (loopback, impairment relay)' : 'in the simulator';
  return [
    `ferry bench: every scenario at reduced duration ${where}, seed ${seed} (ferry bench <scenario> runs one in full)`,
    renderTable(
      ['scenario', 'protocol', 'headline results', 'wall ms'],
      runs.map((run) => summaryRow(run)),
    ),
    `${runs.length} runs, ${(totalWallMs / 1000).toFixed(1)} s wall`,
  ].join('\n');
}

/**
 * `ferry bench` without a scenario: every registered scenario at its reduced duration (`quick`; an explicit
 * `--duration` wins), KCP beside Ferry where it has an adapter, then one summary table (or JSON Lines with
 * `protocol` on every line).
 */
export async function runSummary(
  args: BenchArgs,
  io: CliIo,
  registry: readonly Scenario[] = scenarios,
): Promise<number> {
  if (args.sweep || args.plotFile || args.metrics) {
    throw new UsageError('--sweep, --plot and --metric need a scenario: ferry bench <scenario> …');
  }
  const real = args.real ?? false;
  const peers = args.peers.length > 0 ? args.peers : summaryPeers;
  const { plan, notes } = summaryPlan(registry, real, real ? args.peers : peers);
  const flagLines = new Set(
    plan.flatMap(({ scenario, protocol }) =>
      protocol === 'ferry' ? flagNotes(scenario.name, args, !real && hasKcpAdapter(scenario.name)) : [],
    ),
  );
  for (const note of [...notes, ...flagLines]) io.err(`ferry: ${note}`);
  if (real) io.err(`ferry: ${realRunNote}`);
  const progress = createProgress({ stream: args.json ? undefined : io.progress, totalRuns: plan.length });
  const runs: SummaryRun[] = [];
  try {
    for (const [index, { scenario, protocol }] of plan.entries()) {
      const onProgress = progress.run(index, `${scenario.name} ${protocol}`);
      const started = performance.now();
      const options = { ...applicableOptions(scenario.name, args.options, real), quick: true, onProgress };
      const result = await runWith(scenario, protocol, options, real, args.encrypt);
      const run = { scenario, protocol, result, wallMs: Math.round(performance.now() - started) };
      runs.push(run);
      if (args.json) {
        const { params, results } = result;
        const line = {
          scenario: scenario.name,
          seed: args.options.seed,
          params,
          results,
          wallMs: run.wallMs,
        };
        io.out(JSON.stringify({ ...line, protocol }));
      }
    }
  } finally {
    progress.stop();
  }
  if (!args.json) io.out(summaryTable(runs, args.options.seed, real));
  return 0;
}
