import { main } from '../../src/cli/main.ts';

/** Captured output of one `ferry` invocation. */
export interface CliRun {
  code: number;
  out: string[];
  err: string[];
  files: Map<string, string>;
}

/** Runs `ferry <argv>` in process with captured stdout, stderr and written files. */
export async function runCli(argv: readonly string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const files = new Map<string, string>();
  const code = await main(argv, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    writeFile: async (path, text) => {
      files.set(path, text);
    },
  });
  return { code, out, err, files };
}

/** The JSON Lines of a `--json` run. */
export function jsonLines(run: CliRun): Record<string, unknown>[] {
  return run.out.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The result fields ../shared/scenarios.md names for each scenario (media-30: per channel). A scenario not
 * listed (sim-selftest) has no fixed field list there.
 */
export const scenarioFields: Readonly<Record<string, readonly string[]>> = {
  'kcp-echo': [
    'avgRttMs',
    'p99RttMs',
    'maxRttMs',
    'echoed',
    'datagramsPerMsg',
    'bytesPerMsg',
    'duplicates',
    'outOfOrder',
  ],
  'im-30': [
    'sent',
    'delivered',
    'duplicates',
    'outOfOrder',
    'latencyP50Ms',
    'latencyP99Ms',
    'latencyP999Ms',
    'latencyMaxMs',
    'overhead',
  ],
  'bulk-30': ['goodputMbps', 'capacityMbps', 'efficiency', 'retransmitRatio', 'queueDelayP99Ms'],
  'media-30': ['audio', 'video'].flatMap((channel) =>
    [
      'frames',
      'residualLoss',
      'playoutDelayMeanMs',
      'playoutDelayP99Ms',
      'overhead',
      'recoveredByFec',
      'recoveredByRetransmit',
      'lateDrops',
    ].map((field) => `${channel}.${field}`),
  ),
};

/** Whether `record` has the dotted `path`. */
export function hasPath(record: unknown, path: string): boolean {
  let at: unknown = record;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || !(key in at)) return false;
    at = (at as Record<string, unknown>)[key];
  }
  return true;
}
