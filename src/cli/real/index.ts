import { type Protocol, runWithProtocol } from '../protocols.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from '../scenario.ts';
import { type Bulk30Params, bulk30Params } from '../scenarios/bulk-30.ts';
import { im30Params } from '../scenarios/im-30.ts';
import { kcpEchoParams } from '../scenarios/kcp-echo.ts';
import { runBulk30Real } from './bulk-30-real.ts';
import { runIm30Real } from './im-30-real.ts';
import { runKcpEchoReal } from './kcp-echo-real.ts';

/** Runs one scenario over real UDP on loopback (wall-clock time). */
type RealRunner = (options: ScenarioOptions) => Promise<ScenarioResult>;

/** Reduced real bulk-30 (the summary): 5 MB within 20 s, since the relay forwards in wall-clock time. */
function realBulk30Params(options: ScenarioOptions): Bulk30Params {
  const params = bulk30Params(options);
  if (!options.quick || options.durationS !== undefined) return params;
  return { ...params, transferBytes: Math.min(params.transferBytes, 5_000_000), timeLimitS: 20 };
}

/** Scenarios `ferry bench --real` can run, by name. */
const realRunners: Readonly<Record<string, RealRunner>> = {
  'kcp-echo': (options) => runKcpEchoReal(kcpEchoParams(options), options.onProgress),
  'im-30': (options) => runIm30Real(im30Params(options), options.onProgress),
  'bulk-30': (options) => runBulk30Real(realBulk30Params(options), options.onProgress),
};

/** The line printed before real runs: their figures follow the wall clock and the OS scheduler. */
export const realRunNote =
  'real UDP on loopback through the impairment relay: wall-clock timing, results are not deterministic (the seed fixes the loss draws only)';

/** Why `scenarioName` cannot run with `--real` (one line), or undefined when it can. */
export function realUnavailableReason(scenarioName: string): string | undefined {
  if (realRunners[scenarioName]) return undefined;
  return `${scenarioName} has no --real run (${Object.keys(realRunners).join(', ')} do)`;
}

/** Runs `scenarioName` over real UDP; check `realUnavailableReason` first. */
export function runReal(scenarioName: string, options: ScenarioOptions): Promise<ScenarioResult> {
  const runner = realRunners[scenarioName];
  if (!runner) throw new Error(realUnavailableReason(scenarioName));
  return runner(options);
}

/**
 * Runs `scenario` once with `protocol`: in the simulator, or over real UDP with `real` (Ferry only; check
 * `realUnavailableReason` and `unavailableReason` first).
 */
export async function runWith(
  scenario: Scenario,
  protocol: Protocol,
  options: ScenarioOptions,
  real: boolean,
): Promise<ScenarioResult> {
  if (!real) return runWithProtocol(scenario, protocol, options);
  if (protocol !== 'ferry') throw new Error(realPeerNote);
  return runReal(scenario.name, options);
}

/** Why `--vs` peers do not run with `--real`. */
export const realPeerNote = 'KCP rows skipped with --real: the KCP adapters run in the simulator only';
