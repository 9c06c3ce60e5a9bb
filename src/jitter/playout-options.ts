import { PlayoutUsageError } from './errors.ts';

/** Configuration of a {@link PlayoutBuffer} (spec §12.2). Only `maxDelayMs` is required. */
export interface PlayoutOptions {
  /**
   * The stream's deadline: no frame is played later than its capture time + `maxDelayMs` (R-PLAY-4). Usually
   * the deadline of the channel that carries the stream.
   */
  maxDelayMs: number;
  /** Lower bound of the target delay (default 0). */
  minDelayMs?: number;
  /** Target delay before the first measurement (default 80 ms, as NetEQ; clamped into the bounds). */
  initialDelayMs?: number;
  /** Fraction of frames the target delay aims to have on time, in (0, 1) (default 0.95, R-PLAY-2). */
  quantile?: number;
  /**
   * How the quantile is estimated: `histogram` (default; NetEQ's, any delay distribution, R-PLAY-2) or `rfc3550`
   * (mean + a multiple of RFC 3550 interarrival jitter, exact for normal delays and cheaper, R-PLAY-11).
   */
  delayEstimator?: 'histogram' | 'rfc3550';
  /** Weight kept by the delay histogram per new sample, in (0, 1) (default 0.983, as NetEQ: a memory of ~60 frames). */
  forgetFactor?: number;
  /** Width of a delay-histogram bucket (default 1 ms); the target is a bucket's upper edge. */
  bucketMs?: number;
  /** Window of the clock-offset estimate: the minimum transit over this much arrival time (default 2000 ms, R-PLAY-1). */
  offsetWindowMs?: number;
  /** Time constant with which a lower target is approached (default 2000 ms; increases are immediate, R-PLAY-3). */
  decreaseTimeConstantMs?: number;
  /** Frames held at most; one more drops the oldest (default 512, R-PLAY-10). */
  maxBufferedFrames?: number;
  /** A gap longer than this many sequence numbers is skipped without concealment events (default 500, R-PLAY-7). */
  maxConcealGapFrames?: number;
  /**
   * The receiver's clock minus the sender's, when known (0 when both read one clock, as in the simulator). With
   * it the deadline and `playoutDelayMs` are measured from capture exactly; without it, from the earliest
   * arrival the offset estimate allows, which leaves out the path's minimum one-way delay (R-PLAY-1, R-PLAY-4).
   */
  clockOffsetMs?: number;
}

/** {@link PlayoutOptions} with every default filled in. */
export type ResolvedPlayoutOptions = Required<Omit<PlayoutOptions, 'clockOffsetMs'>> & {
  /** See {@link PlayoutOptions.clockOffsetMs}; undefined when unknown. */
  clockOffsetMs: number | undefined;
};

/** The defaults of {@link PlayoutOptions} (all but `maxDelayMs` and `clockOffsetMs`). */
export const defaultPlayoutOptions = {
  minDelayMs: 0,
  initialDelayMs: 80,
  quantile: 0.95,
  delayEstimator: 'histogram' as 'histogram' | 'rfc3550',
  forgetFactor: 0.983,
  bucketMs: 1,
  offsetWindowMs: 2000,
  decreaseTimeConstantMs: 2000,
  maxBufferedFrames: 512,
  maxConcealGapFrames: 500,
} as const;

/** Largest accepted `maxDelayMs` (one minute) and `maxBufferedFrames`; bounds the histogram's memory. */
const maxDelayLimitMs = 60_000;
const maxFramesLimit = 1 << 20;

function check(ok: boolean, name: string, value: unknown, rule: string): void {
  if (!ok) throw new PlayoutUsageError('invalid-option', `${name} must be ${rule} (got ${String(value)})`);
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Fills in defaults and validates; throws {@link PlayoutUsageError} (`invalid-option`) on a bad value. */
export function resolvePlayoutOptions(options: PlayoutOptions): ResolvedPlayoutOptions {
  if (typeof options !== 'object' || options === null) {
    throw new PlayoutUsageError('invalid-option', 'options must be an object with maxDelayMs');
  }
  const o = { ...defaultPlayoutOptions, ...options };
  const { maxDelayMs, minDelayMs } = o;
  check(
    finite(maxDelayMs) && maxDelayMs > 0 && maxDelayMs <= maxDelayLimitMs,
    'maxDelayMs',
    maxDelayMs,
    'in (0, 60000]',
  );
  check(
    finite(minDelayMs) && minDelayMs >= 0 && minDelayMs <= maxDelayMs,
    'minDelayMs',
    minDelayMs,
    'in [0, maxDelayMs]',
  );
  check(
    finite(o.initialDelayMs) && o.initialDelayMs >= 0,
    'initialDelayMs',
    o.initialDelayMs,
    'finite and ≥ 0',
  );
  check(finite(o.quantile) && o.quantile > 0 && o.quantile < 1, 'quantile', o.quantile, 'in (0, 1)');
  check(
    o.delayEstimator === 'histogram' || o.delayEstimator === 'rfc3550',
    'delayEstimator',
    o.delayEstimator,
    "'histogram' or 'rfc3550'",
  );
  check(
    finite(o.forgetFactor) && o.forgetFactor > 0 && o.forgetFactor < 1,
    'forgetFactor',
    o.forgetFactor,
    'in (0, 1)',
  );
  check(
    finite(o.bucketMs) && o.bucketMs > 0 && maxDelayMs / o.bucketMs <= 1 << 16,
    'bucketMs',
    o.bucketMs,
    '> 0 with at most 65536 buckets up to maxDelayMs',
  );
  check(
    finite(o.offsetWindowMs) && o.offsetWindowMs > 0,
    'offsetWindowMs',
    o.offsetWindowMs,
    'finite and > 0',
  );
  check(
    finite(o.decreaseTimeConstantMs) && o.decreaseTimeConstantMs > 0,
    'decreaseTimeConstantMs',
    o.decreaseTimeConstantMs,
    'finite and > 0',
  );
  for (const name of ['maxBufferedFrames', 'maxConcealGapFrames'] as const) {
    const v = o[name];
    check(Number.isInteger(v) && v >= 1 && v <= maxFramesLimit, name, v, 'an integer in [1, 2^20]');
  }
  check(
    o.clockOffsetMs === undefined || finite(o.clockOffsetMs),
    'clockOffsetMs',
    o.clockOffsetMs,
    'finite or undefined',
  );
  return { ...o, clockOffsetMs: o.clockOffsetMs };
}
