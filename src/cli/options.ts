import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import type { ScenarioOptions } from './scenario.ts';

/** Parsed `ferry bench` command line. */
export interface BenchArgs {
  scenario: string | undefined;
  json: boolean;
  options: ScenarioOptions;
}

const benchFlags = {
  json: { type: 'boolean' },
  seed: { type: 'string' },
  loss: { type: 'string' },
  'loss-model': { type: 'string' },
  burst: { type: 'string' },
  rtt: { type: 'string' },
  delay: { type: 'string' },
  jitter: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses a number flag and checks its range; throws UsageError with a one-line message. */
function numberFlag(name: string, raw: string | undefined, min: number, max: number, integer = false) {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got '${raw}'`);
  }
  if (value < min || value > max) throw new UsageError(`--${name} must be in [${min}, ${max}], got ${value}`);
  return value;
}

/** Parses the arguments after `ferry bench`. Throws UsageError on anything unknown or out of range. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs & { help: boolean } {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof benchFlags; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: benchFlags, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const lossModel = values['loss-model'];
  if (
    lossModel !== undefined &&
    lossModel !== 'bernoulli' &&
    lossModel !== 'bag' &&
    lossModel !== 'gilbert'
  ) {
    throw new UsageError(`--loss-model must be bernoulli, bag or gilbert, got '${lossModel}'`);
  }
  const options: ScenarioOptions = {
    seed: numberFlag('seed', values.seed, 0, 2 ** 32 - 1, true) ?? 1,
    lossPercent: numberFlag('loss', values.loss, 0, 100),
    lossModel,
    burst: numberFlag('burst', values.burst, 1, 1e6),
    rttMs: numberFlag('rtt', values.rtt, 0, 60_000),
    delayMs: numberFlag('delay', values.delay, 0, 60_000),
    jitterMs: numberFlag('jitter', values.jitter, 0, 60_000),
    rateMbps: numberFlag('rate', values.rate, 0.001, 100_000),
    durationS: numberFlag('duration', values.duration, 0.001, 86_400),
    profile: values.profile,
  };
  for (const key of Object.keys(options) as (keyof ScenarioOptions)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return { scenario: positionals[0], json: values.json ?? false, help: values.help ?? false, options };
}
