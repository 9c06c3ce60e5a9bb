import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { TraceSinks } from '../protocol/trace.ts';
import { UsageError } from './errors.ts';
import { flatten, formatValue, renderTable } from './format.ts';
import { type BenchArgs, parseBenchArgs, sweepableFlags } from './options.ts';
import { plotSpec, renderSvg } from './plot.ts';
import { createProgress } from './progress.ts';
import { type Protocol, unavailableReason } from './protocols.ts';
import { RealRunError, realPeerNote, realRunNote, realUnavailableReason, runWith } from './real/index.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from './scenario.ts';
import { findScenario, scenarios } from './scenarios/index.ts';
import { runSummary } from './summary.ts';
import { runTraced } from './trace/bench-trace.ts';
import { applicableOptions, flagNotes } from './validate.ts';

const usage = `usage: ferry bench [scenario] [--json] [--seed N] [--loss P] [--loss-model bernoulli|bag|gilbert]
                   [--burst B] [--rtt MS] [--delay MS] [--jitter MS] [--rate MBPS] [--duration S] [--profile NAME]
                   [--fec on|off] [--sweep NAME=V1,V2,…] [--vs kcp|kcp-fast|kcp-normal] [--metric KEY[,KEY…]]
                   [--plot FILE.svg] [--real [--encrypt]] [--trace FILE]
  --sweep   one run per value of one knob (${sweepableFlags.join(', ')}); one table row per run
  --vs      KCP (C, via node-kcp) on the same simulated link and seed, beside Ferry
  --metric  result keys (dotted when nested) shown in tables and drawn against a swept value
  --plot    SVG chart: latency CDF (kcp-echo, im-30), goodput vs loss (bulk-30), residual loss vs overhead
            (media-30), or --metric against the swept value
  --real    the same scenarios over real UDP on loopback through the impairment relay (wall-clock time, not
            deterministic; kcp-echo, im-30, bulk-30; Ferry only); plaintext, or encrypted with --encrypt
  --trace   qlog event trace (JSON, spec §15) of one simulated run: packets, losses, RTT, congestion state, FEC
  --json    one JSON object (../shared/scenarios.md shape); with --sweep or --vs, one object per line (JSON
            Lines) with two more fields, "protocol" and "sweep": {"name", "value"}`;

/** Output sinks, injectable for tests. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Terminal for the progress bar; undefined = no bar (stderr is not a TTY, or a test). */
  progress?: NodeJS.WritableStream;
  /** Writes a file (`--plot`). */
  writeFile?: (path: string, text: string) => Promise<void>;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  progress: process.stderr.isTTY ? process.stderr : undefined,
  writeFile: (path, text) => writeFile(path, text),
};

/** One finished run. */
interface Run {
  protocol: Protocol;
  sweepValue?: string;
  options: ScenarioOptions;
  result: ScenarioResult;
  wallMs: number;
}

function listScenarios(): string {
  return scenarios.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`).join('\n');
}

/** A typed sweep value for JSON: a number when it reads as one. */
function jsonValue(raw: string): number | string {
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
}

/** The protocols to run: Ferry, then each `--vs` peer that can run here (one note line per skipped one). */
function protocolsFor(scenario: Scenario, peers: readonly Protocol[], io: CliIo, real = false): Protocol[] {
  const out: Protocol[] = ['ferry'];
  const notes = new Set<string>();
  for (const peer of peers) {
    const reason = real ? realPeerNote : unavailableReason(scenario.name, peer);
    if (reason) notes.add(reason);
    else out.push(peer);
  }
  for (const note of notes) io.err(`ferry: ${note}`);
  return out;
}

/** Runs every (sweep value × protocol) of one scenario, with a progress bar on a TTY. */
async function runAll(
  scenario: Scenario,
  args: BenchArgs,
  protocols: readonly Protocol[],
  io: CliIo,
  trace?: TraceSinks,
): Promise<Run[]> {
  const variants = args.sweep
    ? args.sweep.values.map((value, i) => ({ value, options: args.sweep!.options[i]! }))
    : [{ value: undefined, options: args.options }];
  const progress = createProgress({
    stream: args.json ? undefined : io.progress,
    totalRuns: variants.length * protocols.length,
  });
  const runs: Run[] = [];
  const real = args.real ?? false;
  try {
    for (const variant of variants) {
      for (const protocol of protocols) {
        const label = [
          scenario.name,
          protocol,
          variant.value !== undefined ? `${args.sweep!.name}=${variant.value}` : '',
        ]
          .filter(Boolean)
          .join(' ');
        const onProgress = progress.run(runs.length, label);
        const started = performance.now();
        const options = {
          ...applicableOptions(scenario.name, variant.options, real),
          onProgress,
          trace: protocol === 'ferry' ? trace : undefined,
        };
        const result = await runWith(scenario, protocol, options, real, args.encrypt);
        const wallMs = Math.round(performance.now() - started);
        runs.push({ protocol, sweepValue: variant.value, options: variant.options, result, wallMs });
      }
    }
  } finally {
    progress.stop();
  }
  return runs;
}

function printJson(name: string, args: BenchArgs, runs: readonly Run[], io: CliIo): void {
  const plain = !args.sweep && args.peers.length === 0;
  for (const run of runs) {
    const { params, results } = run.result;
    const line: Record<string, unknown> = {
      scenario: name,
      seed: run.options.seed,
      params,
      results,
      wallMs: run.wallMs,
    };
    if (!plain) {
      line['protocol'] = run.protocol;
      if (args.sweep && run.sweepValue !== undefined) {
        line['sweep'] = { name: args.sweep.name, value: jsonValue(run.sweepValue) };
      }
    }
    io.out(JSON.stringify(line));
  }
}

/** Metric columns of a sweep table: `--metric`, else the scenario's headline, else its first four results. */
function sweepColumns(scenario: Scenario, args: BenchArgs, runs: readonly Run[]): readonly string[] {
  if (args.metrics) return args.metrics;
  if (scenario.headline) return scenario.headline;
  return flatten(runs[0]!.result.results)
    .slice(0, 4)
    .map(([k]) => k);
}

function printTable(
  scenario: Scenario,
  args: BenchArgs,
  runs: readonly Run[],
  protocols: readonly Protocol[],
  io: CliIo,
) {
  const first = runs[0]!;
  const totalWallMs = runs.reduce((sum, r) => sum + r.wallMs, 0);
  if (args.sweep) {
    const columns = sweepColumns(scenario, args, runs);
    const seed = args.sweep.name === 'seed' ? '' : `  seed ${args.options.seed}`;
    io.out(`${scenario.name}${seed}  sweep ${args.sweep.name}  (${totalWallMs} ms wall)`);
    const header = [args.sweep.name, ...(protocols.length > 1 ? ['protocol'] : []), ...columns];
    const rows = runs.map((run) => {
      const flat = new Map(flatten(run.result.results));
      return [
        run.sweepValue ?? '',
        ...(protocols.length > 1 ? [run.protocol] : []),
        ...columns.map((c) => (flat.has(c) ? formatValue(flat.get(c)) : '—')),
      ];
    });
    io.out(renderTable(header, rows));
    return;
  }
  io.out(`${scenario.name}  seed ${args.options.seed}  (${totalWallMs} ms wall)`);
  io.out(`params: ${JSON.stringify(first.result.params)}`);
  // One column per protocol; rows: `--metric`, else the union of the metrics in order of first appearance.
  const flats = runs.map((run) => new Map(flatten(run.result.results)));
  const keys = args.metrics ?? [...new Set(flats.flatMap((flat) => [...flat.keys()]))];
  if (runs.length === 1) {
    const flat = flats[0]!;
    io.out(
      renderTable(
        ['metric', 'value'],
        keys.map((k) => [k, flat.has(k) ? formatValue(flat.get(k)) : '—']),
      ),
    );
    return;
  }
  io.out(
    renderTable(
      ['metric', ...runs.map((r) => r.protocol)],
      keys.map((k) => [k, ...flats.map((flat) => (flat.has(k) ? formatValue(flat.get(k)) : '—'))]),
    ),
  );
  io.out('same simulated link, loss and delay draws, and seed for every protocol');
}

/** Runs one scenario (optionally swept and beside KCP) and prints JSON or a table; draws `--plot`. */
async function runScenario(name: string, args: BenchArgs, io: CliIo): Promise<number> {
  const scenario = findScenario(name);
  if (!scenario)
    throw new UsageError(`unknown scenario '${name}' (known: ${scenarios.map((s) => s.name).join(', ')})`);
  if (args.metrics && args.plotFile && !args.sweep) {
    throw new UsageError('--metric plots a result against a swept value: add --sweep');
  }
  const realReason = args.real ? realUnavailableReason(name) : undefined;
  if (realReason) throw new UsageError(`--real: ${realReason}`);
  const protocols = protocolsFor(scenario, args.peers, io, args.real);
  for (const note of flagNotes(name, args, protocols.length > 1)) io.err(`ferry: ${note}`);
  if (args.real) io.err(`ferry: ${realRunNote}`);
  const runs = await runTraced(
    args.traceFile,
    { scenario: name, seed: args.options.seed },
    (sinks) => runAll(scenario, args, protocols, io, sinks),
    (line) => io.err(`ferry: ${line}`),
  );
  if (args.json) printJson(name, args, runs, io);
  else printTable(scenario, args, runs, protocols, io);
  if (args.plotFile) {
    const spec = plotSpec({
      scenario: name,
      seed: args.options.seed,
      runs: runs.map((r) => ({ protocol: r.protocol, sweepValue: r.sweepValue, result: r.result })),
      sweepName: args.sweep?.name,
      metrics: args.metrics,
      headline: scenario.headline,
    });
    await (io.writeFile ?? processIo.writeFile!)(args.plotFile, await renderSvg(spec));
    io.err(`ferry: chart written to ${args.plotFile}`);
  }
  return 0;
}

/** Entry point of the `ferry` command; returns the process exit code (2 for usage errors). */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(`${usage}\n\nscenarios:\n${listScenarios()}`);
      return command === undefined ? 2 : 0;
    }
    if (command !== 'bench') throw new UsageError(`unknown command '${command}' (try: ferry bench)`);
    const parsed = parseBenchArgs(rest);
    if (parsed.help) {
      io.out(`${usage}\n\nscenarios:\n${listScenarios()}`);
      return 0;
    }
    if (parsed.scenario === undefined) return await runSummary(parsed, io);
    return await runScenario(parsed.scenario, parsed, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ferry: ${err.message}`);
      return 2;
    }
    if (err instanceof RealRunError) {
      io.err(`ferry: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
