import { performance } from 'node:perf_hooks';
import { UsageError } from './errors.ts';
import { flatten, formatValue, renderTable } from './format.ts';
import { parseBenchArgs } from './options.ts';
import type { ScenarioOptions } from './scenario.ts';
import { findScenario, scenarios } from './scenarios/index.ts';

const usage = `usage: ferry bench [scenario] [--json] [--seed N] [--loss P] [--loss-model bernoulli|bag|gilbert]
                   [--burst B] [--rtt MS] [--delay MS] [--jitter MS] [--rate MBPS] [--duration S] [--profile NAME]`;

/** Output sinks, injectable for tests. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

function listScenarios(): string {
  return scenarios.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`).join('\n');
}

/** Runs one scenario and prints it as JSON (scenarios.md shape) or as a table. */
function runOne(name: string, argv: readonly string[], json: boolean, io: CliIo): number {
  const scenario = findScenario(name);
  if (!scenario)
    throw new UsageError(`unknown scenario '${name}' (known: ${scenarios.map((s) => s.name).join(', ')})`);
  const { options } = parseBenchArgs(argv);
  const started = performance.now();
  const { params, results } = scenario.run(options);
  const wallMs = Math.round(performance.now() - started);
  if (json) {
    io.out(JSON.stringify({ scenario: name, seed: options.seed, params, results, wallMs }));
  } else {
    io.out(`${name}  seed ${options.seed}  (${wallMs} ms wall)`);
    io.out(`params: ${JSON.stringify(params)}`);
    io.out(
      renderTable(
        ['metric', 'value'],
        flatten(results).map(([k, v]) => [k, formatValue(v)]),
      ),
    );
  }
  return 0;
}

/** Runs every scenario at reduced duration and prints one summary table (or one JSON object per line). */
function runSummary(options: ScenarioOptions, json: boolean, io: CliIo): number {
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    const started = performance.now();
    const { params, results } = scenario.run({ ...options, quick: true });
    const wallMs = Math.round(performance.now() - started);
    if (json) {
      io.out(JSON.stringify({ scenario: scenario.name, seed: options.seed, params, results, wallMs }));
      continue;
    }
    const flat = new Map(flatten(results));
    const keys = scenario.headline ?? [...flat.keys()].slice(0, 4);
    rows.push([scenario.name, keys.map((k) => `${k}=${formatValue(flat.get(k))}`).join('  '), `${wallMs}`]);
  }
  if (!json) {
    io.out(
      `ferry bench: every scenario at reduced duration, seed ${options.seed} (ferry bench <scenario> runs one in full)`,
    );
    io.out(renderTable(['scenario', 'headline results', 'wall ms'], rows));
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
    if (parsed.scenario === undefined) return runSummary(parsed.options, parsed.json, io);
    return runOne(
      parsed.scenario,
      rest.filter((a) => a !== parsed.scenario),
      parsed.json,
      io,
    );
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ferry: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
