import type { LinkProfile } from '../../sim/link.ts';
import type { ScenarioOptions } from '../scenario.ts';

/** A scenario's defaults for the path knobs of scenarios.md "Variants". */
export interface PathDefaults {
  burst: number;
  delayMs: number;
  jitterMs: number;
  rateMbps: number;
  queueBytes: number;
}

/** The path of a jittered, rate-limited scenario (im-30, media-30): its knobs and their resolved values. */
export interface PathParams extends PathDefaults {
  seed: number;
  lossPercent: number;
  lossModel: 'bag' | 'bernoulli' | 'gilbert';
}

/** Resolves the common variant flags (30% Bernoulli loss unless given; `--rtt` sets half of it each way). */
export function pathParams(options: ScenarioOptions, defaults: PathDefaults): PathParams {
  return {
    seed: options.seed,
    lossPercent: options.lossPercent ?? 30,
    lossModel: options.lossModel ?? 'bernoulli',
    burst: options.burst ?? defaults.burst,
    delayMs: options.delayMs ?? (options.rttMs !== undefined ? options.rttMs / 2 : defaults.delayMs),
    jitterMs: options.jitterMs ?? defaults.jitterMs,
    rateMbps: options.rateMbps ?? defaults.rateMbps,
    queueBytes: defaults.queueBytes,
  };
}

/** One direction of such a path: loss, delay ± jitter with reordering, a bottleneck with a drop-tail queue. */
export function jitteredLink(params: PathParams): LinkProfile {
  return {
    lossPercent: params.lossPercent,
    lossModel: params.lossModel,
    burst: params.burst,
    delayMs: params.delayMs,
    jitterMs: params.jitterMs,
    fifo: false,
    rateMbps: params.rateMbps,
    queueBytes: params.queueBytes,
  };
}
