import { describe, expect, it } from 'vitest';
import { parseBenchArgs, sweepableFlags } from '../../src/cli/options.ts';
import { scenarios } from '../../src/cli/scenarios/index.ts';
import { flagNotes } from '../../src/cli/validate.ts';
import { jsonLines, runCli } from './cli-capture.ts';

/** Two different values of each scenarios.md variant flag, and flags the pair needs to mean anything. */
const variants: Readonly<
  Record<(typeof sweepableFlags)[number], { values: [string, string]; with?: string[] }>
> = {
  seed: { values: ['1', '2'] },
  loss: { values: ['5', '40'] },
  'loss-model': { values: ['bag', 'gilbert'] },
  burst: { values: ['1.5', '6'], with: ['--loss-model', 'gilbert'] },
  rtt: { values: ['30', '150'] },
  delay: { values: ['15', '75'] },
  jitter: { values: ['0', '9'] },
  rate: { values: ['0.05', '8'] },
  duration: { values: ['0.2', '0.4'] },
  profile: { values: ['newreno', 'cubic'] },
  fec: { values: ['off', 'on'] },
};

describe('every variant flag on every scenario: applied, or one note saying it cannot apply', () => {
  for (const scenario of scenarios) {
    for (const flag of sweepableFlags) {
      it(`${scenario.name} --${flag}`, async () => {
        const { values, with: extra = [] } = variants[flag];
        const runs = await Promise.all(
          values.map((value) =>
            runCli([
              'bench',
              scenario.name,
              '--json',
              ...(flag === 'duration' ? [] : ['--duration', '0.2']),
              ...extra,
              `--${flag}`,
              value,
            ]),
          ),
        );
        const ignored = new RegExp(`^ferry: --${flag} ignored for ${scenario.name}: \\S`);
        const notes = runs.map((run) => run.err.filter((line) => ignored.test(line)));
        if (notes[0]!.length + notes[1]!.length > 0) {
          // Not applicable: said once per run, in one line, and the run goes on.
          for (const [i, run] of runs.entries()) {
            expect(notes[i]).toHaveLength(1);
            expect(run.code).toBe(0);
          }
          return;
        }
        for (const run of runs) expect(run.code, run.err.join('\n')).toBe(0);
        const [a, b] = runs.map((run) => jsonLines(run)[0]!);
        // Applied: the two values give different params (the knob is recorded) …
        if (flag !== 'seed') expect(a!['params']).not.toEqual(b!['params']);
        // … and different results (the knob changed the run), except a tuning a short thin stream may not exercise.
        if (flag !== 'profile') expect(a!['results']).not.toEqual(b!['results']);
      });
    }
  }
});

describe('flag notes', () => {
  it('--burst without gilbert loss, and a fractional bag loss, each get one line', () => {
    const args = parseBenchArgs(['kcp-echo', '--burst', '4', '--loss', '12.5', '--loss-model', 'bag']);
    expect(flagNotes('kcp-echo', args)).toEqual([
      '--burst ignored for kcp-echo: it sets the mean burst of --loss-model gilbert only',
      '--loss 12.5 with --loss-model bag: the bag drops 13 of every 100 datagrams',
    ]);
    expect(
      flagNotes('kcp-echo', parseBenchArgs(['kcp-echo', '--burst', '4', '--loss-model', 'gilbert'])),
    ).toEqual([]);
  });

  it('--profile default on bulk-30 is no note; another profile is', () => {
    expect(flagNotes('bulk-30', parseBenchArgs(['bulk-30', '--profile', 'default']))).toEqual([]);
    expect(flagNotes('bulk-30', parseBenchArgs(['bulk-30', '--profile', 'cubic']))).toEqual([
      expect.stringMatching(/^--profile ignored for bulk-30: /),
    ]);
  });

  it('--real: FEC is named as not applied; --vs with --real is one note and Ferry runs alone', () => {
    const args = parseBenchArgs(['kcp-echo', '--real', '--fec', 'on', '--vs', 'kcp']);
    expect(flagNotes('kcp-echo', args)).toEqual([
      expect.stringMatching(/^--fec ignored for kcp-echo: .*--real/),
    ]);
  });

  it('KCP rows: FEC and profiles are Ferry-only, said once each', () => {
    const args = parseBenchArgs(['im-30', '--fec', 'on', '--profile', 'cubic', '--vs', 'kcp']);
    expect(flagNotes('im-30', args)).toEqual([
      'KCP rows of im-30 run without FEC (KCP has none)',
      "KCP rows of im-30 use KCP's own modes: --profile applies to Ferry",
    ]);
  });
});

describe('--vs on bulk-30', () => {
  it('KCP rows beside Ferry in one table, bulk-30 keys in each column', async () => {
    const run = await runCli(['bench', 'bulk-30', '--duration', '0.5', '--vs', 'kcp']);
    expect(run.code).toBe(0);
    const table = run.out.join('\n');
    if (run.err.some((l) => /KCP comparison skipped/.test(l))) return;
    expect(table).toMatch(/metric\s+ferry\s+kcp-fast\s+kcp-normal/);
    for (const key of ['goodputMbps', 'efficiency', 'retransmitRatio', 'queueDelayP99Ms']) {
      expect(table).toMatch(new RegExp(`\\n${key}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\n`));
    }
  });
});
