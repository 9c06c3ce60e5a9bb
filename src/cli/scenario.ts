import type { TraceSinks } from '../protocol/trace.ts';

/**
 * The contract between `ferry bench` and one benchmark scenario (../shared/scenarios.md).
 * A scenario is deterministic: the same params and seed give the same results.
 */

/** Variant knobs every scenario accepts (scenarios.md "Variants"); a scenario fills in its own defaults. */
export interface ScenarioOptions {
  /** PRNG seed; the same seed gives the same run. */
  seed: number;
  /** Percent of datagrams lost per direction, 0–100. */
  lossPercent?: number;
  /** Loss model: independent, KCP's bag-of-100, or Gilbert-Elliott bursts. */
  lossModel?: 'bernoulli' | 'bag' | 'gilbert';
  /** Mean burst length (datagrams) for the Gilbert-Elliott model. */
  burst?: number;
  /** Base round-trip time in ms (sets the one-way delay to half of it). */
  rttMs?: number;
  /** One-way delay in ms. */
  delayMs?: number;
  /** Delay jitter in ms (± around the one-way delay). */
  jitterMs?: number;
  /** Bottleneck rate in Mbit/s. */
  rateMbps?: number;
  /** Simulated duration in seconds. */
  durationS?: number;
  /** Named tuning profile. */
  profile?: string;
  /** Reduced-duration run for the all-scenarios summary. */
  quick?: boolean;
  /** Forward error correction on (spec §11); scenarios that support it default to off. */
  fec?: boolean;
  /** Reports progress in [0, 1]; the CLI draws it, scenarios never print. */
  onProgress?: (fraction: number) => void;
  /** Trace sinks of the run's two endpoints (`--trace`, spec §15); scenarios without Ferry connections ignore it. */
  trace?: TraceSinks;
}

/** What a scenario returns: every knob actually used, and its metrics. */
export interface ScenarioResult {
  params: Record<string, unknown>;
  results: Record<string, unknown>;
}

/** One named benchmark scenario. */
export interface Scenario {
  /** Name used on the command line, e.g. `kcp-echo`. */
  name: string;
  /** One line for `ferry bench --help`. */
  summary: string;
  /** Result keys (dotted for nested) shown in the all-scenarios summary of `ferry bench`. */
  headline?: readonly string[];
  /** Runs the scenario in the simulator (virtual time). */
  run(options: ScenarioOptions): ScenarioResult;
}
