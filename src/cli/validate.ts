import { UsageError } from './errors.ts';
import type { BenchArgs } from './options.ts';
import type { ScenarioOptions } from './scenario.ts';
import { tuningProfiles } from './validate-profiles.ts';

/** The scenario knobs as flags, with the `ScenarioOptions` field each sets. */
const knobFields = {
  loss: 'lossPercent',
  'loss-model': 'lossModel',
  burst: 'burst',
  rtt: 'rttMs',
  delay: 'delayMs',
  jitter: 'jitterMs',
  rate: 'rateMbps',
  duration: 'durationS',
  profile: 'profile',
  fec: 'fec',
} as const;

type Knob = keyof typeof knobFields;

/** Knobs a scenario cannot apply, with the reason; every other knob of scenarios.md "Variants" applies. */
const inapplicable: Readonly<Record<string, Partial<Record<Knob, string>>>> = {
  'bulk-30': {
    fec: 'bulk-30 has no FEC run (the bulk harness drives the core without the FEC layer)',
    profile:
      'bulk-30 always reports every congestion controller (top level loss-tolerant, then newreno, cubic)',
  },
  'sim-selftest': {
    fec: 'sim-selftest sends raw datagrams through the link (no protocol, so no FEC)',
    profile: 'sim-selftest has no tuning profiles (no protocol runs)',
  },
};

/**
 * `options` without the knobs `scenarioName` cannot apply (see {@link flagNotes}, which says so), so a run
 * never records or trips over a value it did not use.
 */
export function applicableOptions(
  scenarioName: string,
  options: ScenarioOptions,
  real: boolean,
): ScenarioOptions {
  const out = { ...options };
  for (const knob of Object.keys(inapplicable[scenarioName] ?? {}) as Knob[]) delete out[knobFields[knob]];
  if (real) delete out.fec;
  return out;
}

/** The value a knob has in a run: set on the command line or swept. */
function knobValue(args: BenchArgs, knob: Knob): unknown {
  const field = knobFields[knob];
  if (args.sweep?.name === knob) return args.sweep.options[0]?.[field];
  return args.options[field];
}

/** Whether a knob was given (set or swept). */
function given(args: BenchArgs, knob: Knob): boolean {
  return args.sweep?.name === knob || args.options[knobFields[knob]] !== undefined;
}

/**
 * Cross-flag checks `parseBenchArgs` runs after each flag's own range check: conflicting knobs and unknown
 * profiles. Throws UsageError (one line, exit code 2).
 */
export function checkBenchArgs(args: BenchArgs): void {
  if (args.encrypt && !args.real) {
    throw new UsageError(
      '--encrypt needs --real: the simulated pair runs without the security layer (spec §13)',
    );
  }
  if (given(args, 'rtt') && given(args, 'delay')) {
    throw new UsageError('--rtt and --delay both set the one-way delay (rtt = 2 × delay): pick one');
  }
  const profiles = args.sweep?.name === 'profile' ? args.sweep.values : [args.options.profile];
  for (const profile of profiles) {
    if (profile !== undefined && tuningProfiles[profile] === undefined) {
      const known = Object.keys(tuningProfiles).join(', ');
      throw new UsageError(`--profile must be one of ${known}, got '${profile}'`);
    }
  }
}

/**
 * One line for each given flag that cannot apply to `scenarioName` in this run (printed as a note, the run goes
 * on without it) rather than ignoring it silently. `kcpRows`: KCP runs beside Ferry (`--vs`, or the summary).
 */
export function flagNotes(
  scenarioName: string,
  args: BenchArgs,
  kcpRows = !args.real && args.peers.length > 0,
): string[] {
  const notes: string[] = [];
  const ignored = (knob: Knob, why: string) => notes.push(`--${knob} ignored for ${scenarioName}: ${why}`);
  for (const [knob, why] of Object.entries(inapplicable[scenarioName] ?? {}) as [Knob, string][]) {
    if (!given(args, knob)) continue;
    if (knob === 'profile' && knobValue(args, knob) === 'default' && args.sweep?.name !== knob) continue;
    ignored(knob, why);
  }
  if (given(args, 'burst') && knobValue(args, 'loss-model') !== 'gilbert') {
    ignored('burst', 'it sets the mean burst of --loss-model gilbert only');
  }
  const loss = knobValue(args, 'loss');
  if (knobValue(args, 'loss-model') === 'bag' && typeof loss === 'number' && !Number.isInteger(loss)) {
    notes.push(
      `--loss ${loss} with --loss-model bag: the bag drops ${Math.round(loss)} of every 100 datagrams`,
    );
  }
  if (args.real && given(args, 'fec') && !inapplicable[scenarioName]?.fec) {
    ignored('fec', 'the Node binding has no FEC layer yet, so --real runs without FEC');
  }
  if (kcpRows) {
    if (knobValue(args, 'fec') === true)
      notes.push(`KCP rows of ${scenarioName} run without FEC (KCP has none)`);
    if (given(args, 'profile'))
      notes.push(`KCP rows of ${scenarioName} use KCP's own modes: --profile applies to Ferry`);
  }
  return notes;
}
