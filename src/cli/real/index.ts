import { UsageError } from '../errors.ts';
import { type Protocol, runWithProtocol } from '../protocols.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from '../scenario.ts';
import { type Bulk30Params, bulk30Params } from '../scenarios/bulk-30.ts';
import { im30Params } from '../scenarios/im-30.ts';
import { kcpEchoParams } from '../scenarios/kcp-echo.ts';
import { runBulk30Real } from './bulk-30-real.ts';
import { runIm30Real } from './im-30-real.ts';
import { runKcpEchoReal } from './kcp-echo-real.ts';

/** Runs one scenario over real UDP on loopback (wall-clock time), plaintext or encrypted. */
type RealRunner = (options: ScenarioOptions, encrypt: boolean) => Promise<ScenarioResult>;

/** Reduced real bulk-30 (the summary): 5 MB within 20 s, since the relay forwards in wall-clock time. */
function realBulk30Params(options: ScenarioOptions): Bulk30Params {
  const params = bulk30Params(options);
  if (!options.quick || options.durationS !== undefined) return params;
  return { ...params, transferBytes: Math.min(params.transferBytes, 5_000_000), timeLimitS: 20 };
}

/** Scenarios `ferry bench --real` can run, by name. */
const realRunners: Readonly<Record<string, RealRunner>> = {
  'kcp-echo': (options, encrypt) => runKcpEchoReal(kcpEchoParams(options), options.onProgress, encrypt),
  'im-30': (options, encrypt) => runIm30Real(im30Params(options), options.onProgress, encrypt),
  'bulk-30': (options, encrypt) => runBulk30Real(realBulk30Params(options), options.onProgress, encrypt),
};

/** The line printed before real runs: their figures follow the wall clock and the OS scheduler. */
export const realRunNote =
  'real UDP on loopback through the impairment relay: wall-clock timing, results are not deterministic (the seed fixes the loss draws only)';

/** Why `scenarioName` cannot run with `--real` (one line), or undefined when it can. */
export function realUnavailableReason(scenarioName: string): string | undefined {
  if (realRunners[scenarioName]) return undefined;
  return `${scenarioName} has no --real run (${Object.keys(realRunners).join(', ')} do)`;
}

/**
 * The link models check their parameters when built (src/sim/link: e.g. Gilbert loss of 100%, or a mean burst
 * too short for the loss rate): such a RangeError is an impossible combination of flags, a usage error.
 */
function linkSettingsError(err: unknown, scenarioName: string): UsageError | undefined {
  if (!(err instanceof RangeError) || !err.stack?.includes('/sim/link')) return undefined;
  return new UsageError(`impossible link settings for ${scenarioName}: ${err.message}`);
}

/** A real run that could not complete (a socket or connection failure): one line, exit code 1. */
export class RealRunError extends Error {
  override name = 'RealRunError';
}

/** Runs `scenarioName` over real UDP; check `realUnavailableReason` first. Failures become {@link RealRunError}. */
export async function runReal(
  scenarioName: string,
  options: ScenarioOptions,
  encrypt = false,
): Promise<ScenarioResult> {
  const runner = realRunners[scenarioName];
  if (!runner) throw new RealRunError(realUnavailableReason(scenarioName));
  try {
    return await runner(options, encrypt);
  } catch (err) {
    const usage = linkSettingsError(err, scenarioName);
    if (usage) throw usage;
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new RealRunError(`--real ${scenarioName} failed: ${reason.split('\n')[0]}`);
  }
}

/**
 * Runs `scenario` once with `protocol`: in the simulator, or over real UDP with `real` (Ferry only, encrypted with
 * `encrypt`; check `realUnavailableReason` and `unavailableReason` first).
 */
export async function runWith(
  scenario: Scenario,
  protocol: Protocol,
  options: ScenarioOptions,
  real: boolean,
  encrypt = false,
): Promise<ScenarioResult> {
  if (!real) {
    try {
      return runWithProtocol(scenario, protocol, options);
    } catch (err) {
      throw linkSettingsError(err, scenario.name) ?? err;
    }
  }
  if (protocol !== 'ferry') throw new Error(realPeerNote);
  return runReal(scenario.name, options, encrypt);
}

/** Why `--vs` peers do not run with `--real`. */
export const realPeerNote = 'KCP rows skipped with --real: the KCP adapters run in the simulator only';
