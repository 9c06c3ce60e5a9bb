import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** A requirement id anywhere in text (spec.md rule: `R-AREA-N`). */
const idPattern = /\bR-[A-Z]+-\d+\b/g;
/** A requirement's definition: its id in bold, `**R-AREA-N**`. */
const definitionPattern = /\*\*(R-[A-Z]+-\d+)\*\*/g;

/** What the traceability check found. */
interface Traceability {
  /** Ids defined in the spec that no test cites. */
  uncovered: string[];
  /** Ids cited by a test (or mentioned in the spec) that the spec does not define, with where. */
  unknown: string[];
  /** Ids defined more than once in the spec. */
  duplicates: string[];
}

/** Checks both directions: every defined id is cited by a test; every cited or mentioned id is defined. */
function checkTraceability(spec: string, tests: ReadonlyMap<string, string>): Traceability {
  const definitions = [...spec.matchAll(definitionPattern)].map((m) => m[1]!);
  const defined = new Set(definitions);
  const duplicates = [...new Set(definitions.filter((id, i) => definitions.indexOf(id) !== i))];
  const cited = new Set<string>();
  const unknown: string[] = [];
  for (const id of new Set(spec.match(idPattern) ?? [])) {
    if (!defined.has(id)) unknown.push(`${id} (mentioned in spec.md, never defined)`);
  }
  for (const [file, text] of tests) {
    for (const id of new Set(text.match(idPattern) ?? [])) {
      cited.add(id);
      if (!defined.has(id)) unknown.push(`${id} (cited in ${file})`);
    }
  }
  const uncovered = [...defined].filter((id) => !cited.has(id));
  return { uncovered, unknown, duplicates };
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? testFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const root = new URL('../..', import.meta.url).pathname;
const self = new URL(import.meta.url).pathname;

describe('spec traceability (design.md rule 10)', () => {
  // Synthetic ids are built at run time so this file's own text cites no id.
  const id = (area: string, n: number): string => ['R', area, String(n)].join('-');

  it('the check reports uncovered, unknown and duplicate ids', () => {
    const spec = `**${id('X', 1)}** a. **${id('X', 2)}** b, see ${id('X', 9)}. **${id('X', 2)}** again.`;
    const tests = new Map([['t.ts', `it('${id('X', 1)}: a'); // ${id('Y', 3)}`]]);
    expect(checkTraceability(spec, tests)).toEqual({
      uncovered: [id('X', 2)],
      unknown: [`${id('X', 9)} (mentioned in spec.md, never defined)`, `${id('Y', 3)} (cited in t.ts)`],
      duplicates: [id('X', 2)],
    });
  });

  it('the check passes when every id is defined once and cited', () => {
    const spec = `**${id('X', 1)}** a. **${id('X', 10)}** b (unlike ${id('X', 1)}).`;
    const tests = new Map([['t.ts', `${id('X', 1)} ${id('X', 10)}`]]);
    expect(checkTraceability(spec, tests)).toEqual({ uncovered: [], unknown: [], duplicates: [] });
  });

  it('every requirement in spec.md is cited by a test, and every cited id exists', () => {
    const spec = readFileSync(join(root, 'spec.md'), 'utf8');
    const files = testFiles(join(root, 'test')).filter((file) => file !== self);
    const tests = new Map(files.map((file) => [relative(root, file), readFileSync(file, 'utf8')]));
    const result = checkTraceability(spec, tests);
    if (result.uncovered.length + result.unknown.length + result.duplicates.length > 0) {
      console.error(
        [
          `uncovered requirement ids (no test cites them): ${result.uncovered.join(', ') || 'none'}`,
          `unknown requirement ids: ${result.unknown.join(', ') || 'none'}`,
          `ids defined more than once: ${result.duplicates.join(', ') || 'none'}`,
        ].join('\n'),
      );
    }
    expect(result).toEqual({ uncovered: [], unknown: [], duplicates: [] });
  });
});
