import { describe, expect, it } from 'vitest';
import { loadKcp } from '../../src/cli/kcp/node-kcp.ts';
import { main } from '../../src/cli/main.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const files = new Map<string, string>();
  return {
    io: {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      writeFile: async (path: string, text: string) => {
        files.set(path, text);
      },
    },
    out,
    err,
    files,
  };
}

const kcp = loadKcp();
const kcpMissing = 'error' in kcp ? ` (skipped: ${kcp.error})` : '';

describe('ferry CLI', () => {
  it.each([
    [['bench', 'no-such-scenario'], /unknown scenario 'no-such-scenario'/],
    [['bench', 'kcp-echo', '--loss', '101'], /--loss must be in \[0, 100\]/],
    [['bench', 'kcp-echo', '--delay=-5'], /--delay must be in/],
    [['bench', 'kcp-echo', '--seed', '1.5'], /--seed must be an integer/],
    [['bench', 'kcp-echo', '--loss-model', 'uniform'], /--loss-model must be/],
    [['bench', 'kcp-echo', '--frobnicate'], /Unknown option/],
    [['launch'], /unknown command 'launch'/],
    [['bench', 'kcp-echo', '--sweep', 'colour=1,2'], /cannot sweep 'colour'/],
    [['bench', 'kcp-echo', '--sweep', 'loss'], /--sweep must look like loss=v1,v2/],
    [['bench', 'kcp-echo', '--sweep', 'loss=5,,30'], /--sweep must look like/],
    [['bench', 'kcp-echo', '--sweep', 'loss=5,130'], /--loss must be in \[0, 100\], got 130/],
    [['bench', 'kcp-echo', '--sweep', 'jitter=5,x'], /--jitter must be a number, got 'x'/],
    [['bench', 'kcp-echo', '--loss', '5', '--sweep', 'loss=1,2'], /--loss is both set and swept/],
    [['bench', 'kcp-echo', '--vs', 'tcp'], /--vs takes kcp, kcp-fast or kcp-normal, got 'tcp'/],
    [['bench', 'kcp-echo', '--plot', 'chart.png'], /--plot writes SVG/],
    [['bench', 'kcp-echo', '--fec', 'maybe'], /--fec must be on or off/],
    [['bench', 'sim-selftest', '--real'], /--real: sim-selftest has no --real run/],
    [['bench', 'kcp-echo', '--loss=-0.5'], /--loss must be in \[0, 100\], got -0.5/],
    [['bench', 'kcp-echo', '--loss', 'lots'], /--loss must be a number, got 'lots'/],
    [['bench', 'kcp-echo', '--loss', ''], /--loss must be a number, got ''/],
    [['bench', 'kcp-echo', '--loss'], /argument missing/],
    [['bench', 'im-30', '--jitter=-1'], /--jitter must be in \[0, /],
    [['bench', 'im-30', '--rtt=-10'], /--rtt must be in \[0, /],
    [['bench', 'bulk-30', '--rate=-2'], /--rate must be in \[0.001, /],
    [['bench', 'bulk-30', '--rate', '0'], /--rate must be in \[0.001, /],
    [['bench', 'bulk-30', '--duration=-1'], /--duration must be in \[0.001, /],
    [['bench', 'bulk-30', '--duration', '0'], /--duration must be in \[0.001, /],
    [['bench', 'kcp-echo', '--burst', '0.5'], /--burst must be in \[1, /],
    [['bench', 'kcp-echo', '--seed=-1'], /--seed must be in \[0, /],
    [['bench', 'kcp-echo', '--delay', 'NaN'], /--delay must be a number, got 'NaN'/],
    [['bench', 'kcp-echo', '--rate', 'Infinity'], /--rate must be a number, got 'Infinity'/],
    [['bench', 'kcp-echo', '--rtt', '100', '--delay', '50'], /--rtt and --delay both set/],
    [['bench', 'kcp-echo', '--delay', '50', '--sweep', 'rtt=60,100'], /--rtt and --delay both set/],
    [
      ['bench', 'kcp-echo', '--profile', 'turbo'],
      /--profile must be one of default, newreno, cubic, got 'turbo'/,
    ],
    [['bench', 'kcp-echo', '--sweep', 'profile=default,turbo'], /--profile must be one of .*'turbo'/],
    [['bench', 'kcp-echo', 'im-30'], /unexpected argument 'im-30'/],
    [['bench', 'kcp-echo', '--encrypt'], /--encrypt needs --real/],
    [
      ['bench', 'kcp-echo', '--loss', '100', '--loss-model', 'gilbert'],
      /impossible link settings for kcp-echo: /,
    ],
    [
      ['bench', 'im-30', '--loss', '60', '--loss-model', 'gilbert', '--burst', '1'],
      /impossible link settings for im-30: .*needs bursts of at least/,
    ],
    [['bench', '--real', 'nope'], /unknown scenario 'nope'/],
    [['bench', '--sweep', 'loss=1,2'], /need a scenario/],
    [['bench', 'kcp-echo', '--metric', 'avgRttMs', '--plot', 'x.svg'], /add --sweep/],
    [['bench', 'sim-selftest', '--duration', '1', '--plot', 'x.svg'], /needs --sweep/],
  ])('%j → one-line error and exit code 2', async (argv, message) => {
    const { io, out, err } = capture();
    expect(await main(argv, io)).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(message);
    expect(err[0]).not.toContain('\n');
    if (!argv.includes('--plot')) expect(out).toHaveLength(0);
  });

  it('--json prints exactly one object of the scenarios.md shape and nothing else on stdout', async () => {
    const { io, out } = capture();
    expect(await main(['bench', 'kcp-echo', '--json', '--seed', '3', '--loss', '15'], io)).toBe(0);
    expect(out).toHaveLength(1);
    const parsed = JSON.parse(out[0]!);
    expect(Object.keys(parsed).sort()).toEqual(['params', 'results', 'scenario', 'seed', 'wallMs']);
    expect(parsed).toMatchObject({ scenario: 'kcp-echo', seed: 3, params: { seed: 3, lossPercent: 15 } });
    for (const key of [
      'avgRttMs',
      'p99RttMs',
      'maxRttMs',
      'echoed',
      'datagramsPerMsg',
      'bytesPerMsg',
      'duplicates',
      'outOfOrder',
    ]) {
      expect(parsed.results).toHaveProperty(key);
    }
    expect(parsed.results.echoed).toBe(1000);
    expect(parsed.results.duplicates).toBe(0);
    expect(parsed.results.outOfOrder).toBe(0);
  });

  it('100% loss is a result, not a crash: nothing echoed, per-message figures undefined (null)', async () => {
    const { io, out } = capture();
    expect(await main(['bench', 'kcp-echo', '--json', '--loss', '100', '--duration', '0.2'], io)).toBe(0);
    const { results } = JSON.parse(out[0]!);
    expect(results).toMatchObject({ echoed: 0, avgRttMs: null, maxRttMs: null, bytesPerMsg: null });
  });

  it('the same seed replays the same results; another seed differs', async () => {
    const run = async (seed: string) => {
      const { io, out } = capture();
      await main(['bench', 'kcp-echo', '--json', '--seed', seed, '--duration', '5'], io);
      return JSON.parse(out[0]!).results;
    };
    const a = await run('11');
    expect(await run('11')).toEqual(a);
    expect(await run('12')).not.toEqual(a);
  });

  it('--sweep --json: one line per value, each run with that value and the scenarios.md fields', async () => {
    const { io, out } = capture();
    const argv = ['bench', 'kcp-echo', '--json', '--duration', '2', '--sweep', 'loss=0,12.5,40'];
    expect(await main(argv, io)).toBe(0);
    const lines = out.map((l) => JSON.parse(l));
    expect(lines.map((l) => l.sweep)).toEqual([0, 12.5, 40].map((value) => ({ name: 'loss', value })));
    expect(lines.map((l) => l.params.lossPercent)).toEqual([0, 12.5, 40]);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual([
        'params',
        'protocol',
        'results',
        'scenario',
        'seed',
        'sweep',
        'wallMs',
      ]);
      expect(line.protocol).toBe('ferry');
      expect(line.results.echoed).toBe(100);
    }
  });

  it('--sweep prints one table row per value with the chosen --metric columns', async () => {
    const { io, out } = capture();
    const argv = [
      'bench',
      'kcp-echo',
      '--duration',
      '1',
      '--sweep',
      'rtt=60,200',
      '--metric',
      'avgRttMs,echoed',
    ];
    expect(await main(argv, io)).toBe(0);
    const table = out.join('\n').split('\n');
    expect(table[1]).toMatch(/^rtt\s+avgRttMs\s+echoed$/);
    const rows = table.slice(3).map((r) => r.trim().split(/\s+/).map(Number));
    expect(rows.map((r) => r[0])).toEqual([60, 200]);
    // The echo round trip can't beat the configured path RTT.
    for (const [rtt, avg, echoed] of rows) {
      expect(avg).toBeGreaterThanOrEqual(rtt! * 0.66);
      expect(echoed).toBe(50);
    }
  });

  it('--metric picks the rows of a single-run table, in the order given; an absent key shows —', async () => {
    const { io, out } = capture();
    expect(await main(['bench', 'kcp-echo', '--duration', '1', '--metric', 'echoed,nope,avgRttMs'], io)).toBe(
      0,
    );
    const rows = out.join('\n').split('\n').slice(4);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(['echoed', 'nope', 'avgRttMs']);
    expect(rows[0]).toMatch(/^echoed\s+50$/);
    expect(rows[1]).toMatch(/^nope\s+—$/);
  });

  it('--plot writes an SVG chart rendered by vega (kcp-echo latency CDF, one series per sweep value)', async () => {
    const { io, files, err } = capture();
    const argv = ['bench', 'kcp-echo', '--duration', '1', '--sweep', 'loss=5,30', '--plot', 'out/cdf.svg'];
    expect(await main(argv, io)).toBe(0);
    const svg = files.get('out/cdf.svg')!;
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('CDF of echo round-trip time');
    expect(svg).toContain('loss=5');
    expect(svg).toContain('loss=30');
    expect(err.at(-1)).toMatch(/chart written to out\/cdf.svg/);
  });

  it.skipIf('error' in kcp)(
    `--vs kcp: Ferry and both KCP modes on the same link, side by side${kcpMissing}`,
    async () => {
      const json = capture();
      expect(await main(['bench', 'kcp-echo', '--json', '--duration', '2', '--vs', 'kcp'], json.io)).toBe(0);
      const lines = json.out.map((l) => JSON.parse(l));
      expect(lines.map((l) => l.protocol)).toEqual(['ferry', 'kcp-fast', 'kcp-normal']);
      for (const line of lines)
        expect(line.results).toMatchObject({ echoed: 100, duplicates: 0, outOfOrder: 0 });
      const table = capture();
      expect(await main(['bench', 'kcp-echo', '--duration', '2', '--vs', 'kcp-fast'], table.io)).toBe(0);
      expect(table.out.join('\n')).toMatch(/metric\s+ferry\s+kcp-fast/);
      expect(table.out.join('\n')).toMatch(/dataSendsPerSegment\s+—\s+\d/);
    },
  );

  it('--vs for a scenario without a KCP adapter prints one note and runs Ferry alone', async () => {
    const { io, out, err } = capture();
    expect(await main(['bench', 'sim-selftest', '--duration', '1', '--json', '--vs', 'kcp'], io)).toBe(0);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/KCP (rows skipped|comparison skipped)/);
    expect(out.map((l) => JSON.parse(l).protocol)).toEqual(['ferry']);
  });
});
