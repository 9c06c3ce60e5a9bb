import type { TraceSinks } from '../../protocol/trace.ts';
import { UsageError } from '../errors.ts';
import type { ScenarioResult } from '../scenario.ts';
import { QlogTraceWriter, qlogVersion } from './qlog-writer.ts';

/** What `--trace` needs from the rest of the command line. */
export interface TraceFlagContext {
  scenario: string | undefined;
  sweep?: unknown;
  real?: boolean;
}

/**
 * Checks `--trace FILE` against the other flags (spec §15): one simulated run of one scenario. Returns the file.
 * Throws {@link UsageError} with a one-line message otherwise.
 */
export function traceFileArg(file: string, context: TraceFlagContext): string {
  if (file.trim() === '') throw new UsageError('--trace needs a file name');
  if (context.scenario === undefined) {
    throw new UsageError('--trace records one run: ferry bench <scenario> --trace FILE');
  }
  if (context.sweep !== undefined) throw new UsageError('--trace records one run: drop --sweep');
  if (context.real) throw new UsageError('--trace records simulated runs only: drop --real');
  return file;
}

/** One finished run, as `ferry bench` keeps it. */
export interface TracedRun {
  protocol: string;
  result: ScenarioResult;
}

/** How the trace file describes the run. */
export interface BenchTraceInfo {
  scenario: string;
  seed: number;
}

/**
 * Runs `run` with the sinks of a trace written to `file` (none when `file` is undefined), then writes the file
 * (spec §15.1) with the Ferry run's parameters in its summary and reports it with `note`. A failed run leaves no
 * file; a scenario that traced nothing (no Ferry connection) is a usage error and leaves no file either.
 */
export async function runTraced<R extends TracedRun>(
  file: string | undefined,
  info: BenchTraceInfo,
  run: (sinks: TraceSinks | undefined) => Promise<R[]>,
  note: (line: string) => void,
): Promise<R[]> {
  if (file === undefined) return run(undefined);
  const writer = new QlogTraceWriter(file);
  let runs: R[];
  try {
    runs = await run(writer.sinks);
  } catch (err) {
    writer.abort();
    throw err;
  }
  const events = writer.eventCount;
  if (events === 0) {
    writer.abort();
    throw new UsageError(`--trace: ${info.scenario} runs no Ferry connection, nothing to trace`);
  }
  const params = runs.find((r) => r.protocol === 'ferry')?.result.params;
  const title = `ferry bench ${info.scenario}`;
  writer.finish({
    title,
    description: `${title} --seed ${info.seed}`,
    summary: { scenario: info.scenario, seed: info.seed, params, events },
  });
  note(`trace written to ${file} (${events} events, qlog ${qlogVersion})`);
  return runs;
}
