import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('ferry CLI', () => {
  it.each([
    [['bench', 'no-such-scenario'], /unknown scenario 'no-such-scenario'/],
    [['bench', 'kcp-echo', '--loss', '101'], /--loss must be in \[0, 100\]/],
    [['bench', 'kcp-echo', '--delay=-5'], /--delay must be in/],
    [['bench', 'kcp-echo', '--seed', '1.5'], /--seed must be an integer/],
    [['bench', 'kcp-echo', '--loss-model', 'uniform'], /--loss-model must be/],
    [['bench', 'kcp-echo', '--frobnicate'], /Unknown option/],
    [['launch'], /unknown command 'launch'/],
  ])('%j → one-line error and exit code 2', async (argv, message) => {
    const { io, out, err } = capture();
    expect(await main(argv, io)).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(message);
    expect(out).toHaveLength(0);
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
});
