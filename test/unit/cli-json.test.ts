import { describe, expect, it } from 'vitest';
import { scenarios } from '../../src/cli/scenarios/index.ts';
import { hasPath, jsonLines, runCli, scenarioFields } from './cli-capture.ts';

describe('ferry bench <scenario> --json: the scenarios.md shape, replayable by seed', () => {
  for (const scenario of scenarios) {
    it(`${scenario.name}: one object, exactly the common keys, every named result; same seed, same JSON`, async () => {
      const argv = (seed: number) => [
        'bench',
        scenario.name,
        '--json',
        '--duration',
        '0.3',
        '--seed',
        `${seed}`,
      ];
      const first = await runCli(argv(21));
      expect(first.code, first.err.join('\n')).toBe(0);
      expect(first.err).toEqual([]);
      const lines = jsonLines(first);
      expect(lines).toHaveLength(1);
      const line = lines[0]!;
      expect(Object.keys(line).sort()).toEqual(['params', 'results', 'scenario', 'seed', 'wallMs']);
      expect(line).toMatchObject({ scenario: scenario.name, seed: 21 });
      expect(typeof line['wallMs']).toBe('number');
      // params: every knob actually used, including the duration asked for.
      expect(Object.keys(line['params'] as object).length).toBeGreaterThan(3);
      for (const field of scenarioFields[scenario.name] ?? []) {
        expect(hasPath(line['results'], field), field).toBe(true);
      }
      const { wallMs: _a, ...replayed } = jsonLines(await runCli(argv(21)))[0]!;
      const { wallMs: _b, ...original } = line;
      expect(replayed).toEqual(original);
    });
  }
});
