import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { type Protocol, parseProtocols } from './protocols.ts';
import type { ScenarioOptions } from './scenario.ts';
import { traceFileArg } from './trace/bench-trace.ts';
import { checkBenchArgs } from './validate.ts';

/** A `--sweep name=v1,v2,…`: one run per value, every other knob as given. */
export interface Sweep {
  /** The flag swept, as typed (`loss`, `rtt`, …). */
  name: string;
  /** The values, as typed. */
  values: string[];
  /** The scenario options of each run, in the order of `values`. */
  options: ScenarioOptions[];
}

/** Parsed `ferry bench` command line. */
export interface BenchArgs {
  scenario: string | undefined;
  json: boolean;
  options: ScenarioOptions;
  /** Present with `--sweep`. */
  sweep?: Sweep;
  /** Protocols run beside Ferry (`--vs kcp`), in order; empty by default. */
  peers: Protocol[];
  /** `--plot FILE.svg`. */
  plotFile?: string;
  /** `--metric a,b`: result keys (dotted when nested) for sweep tables and plots. */
  metrics?: string[];
  /** `--real`: real UDP sockets on loopback through the impairment relay, in wall-clock time. */
  real?: boolean;
  /** `--encrypt` (with `--real`): the binding's encrypted default instead of plaintext, to report its cost. */
  encrypt?: boolean;
  /** `--trace FILE`: the qlog event trace of the run's two endpoints (spec §15). */
  traceFile?: string;
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
  fec: { type: 'string' },
  sweep: { type: 'string' },
  vs: { type: 'string' },
  plot: { type: 'string' },
  metric: { type: 'string' },
  real: { type: 'boolean' },
  encrypt: { type: 'boolean' },
  trace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type FlagValues = Partial<Record<keyof typeof benchFlags, string | boolean>>;

/** Flags `--sweep` accepts: every scenario knob. */
export const sweepableFlags = [
  'seed',
  'loss',
  'loss-model',
  'burst',
  'rtt',
  'delay',
  'jitter',
  'rate',
  'duration',
  'profile',
  'fec',
] as const;

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

function stringFlag(values: FlagValues, name: keyof typeof benchFlags): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Scenario options from flag values; every value is range-checked. */
function scenarioOptions(values: FlagValues): ScenarioOptions {
  const lossModel = stringFlag(values, 'loss-model');
  if (
    lossModel !== undefined &&
    lossModel !== 'bernoulli' &&
    lossModel !== 'bag' &&
    lossModel !== 'gilbert'
  ) {
    throw new UsageError(`--loss-model must be bernoulli, bag or gilbert, got '${lossModel}'`);
  }
  const fec = stringFlag(values, 'fec');
  if (fec !== undefined && fec !== 'on' && fec !== 'off') {
    throw new UsageError(`--fec must be on or off, got '${fec}'`);
  }
  const options: ScenarioOptions & { fec?: boolean } = {
    seed: numberFlag('seed', stringFlag(values, 'seed'), 0, 2 ** 32 - 1, true) ?? 1,
    lossPercent: numberFlag('loss', stringFlag(values, 'loss'), 0, 100),
    lossModel,
    burst: numberFlag('burst', stringFlag(values, 'burst'), 1, 1e6),
    rttMs: numberFlag('rtt', stringFlag(values, 'rtt'), 0, 60_000),
    delayMs: numberFlag('delay', stringFlag(values, 'delay'), 0, 60_000),
    jitterMs: numberFlag('jitter', stringFlag(values, 'jitter'), 0, 60_000),
    rateMbps: numberFlag('rate', stringFlag(values, 'rate'), 0.001, 100_000),
    durationS: numberFlag('duration', stringFlag(values, 'duration'), 0.001, 86_400),
    profile: stringFlag(values, 'profile'),
    fec: fec === undefined ? undefined : fec === 'on',
  };
  for (const key of Object.keys(options) as (keyof typeof options)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return options;
}

/** Parses `name=v1,v2,…` into one options set per value (each checked like the flag itself). */
function parseSweep(raw: string, values: FlagValues): Sweep {
  const eq = raw.indexOf('=');
  const name = eq < 0 ? raw : raw.slice(0, eq);
  if (!(sweepableFlags as readonly string[]).includes(name)) {
    throw new UsageError(`--sweep: cannot sweep '${name}' (one of: ${sweepableFlags.join(', ')})`);
  }
  const list = eq < 0 ? [] : raw.slice(eq + 1).split(',');
  if (list.length === 0 || list.some((v) => v.trim() === '')) {
    throw new UsageError(`--sweep must look like ${name}=v1,v2,…, got '${raw}'`);
  }
  if (values[name as keyof FlagValues] !== undefined) {
    throw new UsageError(`--${name} is both set and swept: pick one`);
  }
  const options = list.map((value) => scenarioOptions({ ...values, [name]: value.trim() }));
  return { name, values: list.map((v) => v.trim()), options };
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
  const options = scenarioOptions(values);
  const args: BenchArgs & { help: boolean } = {
    scenario: positionals[0],
    json: values.json ?? false,
    help: values.help ?? false,
    options,
    peers: values.vs === undefined ? [] : parseProtocols(values.vs),
  };
  if (values.sweep !== undefined) args.sweep = parseSweep(values.sweep, values);
  if (values.plot !== undefined) {
    if (!/\.svg$/i.test(values.plot))
      throw new UsageError(`--plot writes SVG: give a FILE.svg, got '${values.plot}'`);
    args.plotFile = values.plot;
  }
  if (values.metric !== undefined) {
    const metrics = values.metric.split(',').map((m) => m.trim());
    if (metrics.some((m) => m === ''))
      throw new UsageError(`--metric must be a comma-separated list, got '${values.metric}'`);
    args.metrics = metrics;
  }
  if (values.real) args.real = true;
  if (values.encrypt) args.encrypt = true;
  if (values.trace !== undefined) args.traceFile = traceFileArg(values.trace, args);
  checkBenchArgs(args);
  return args;
}
