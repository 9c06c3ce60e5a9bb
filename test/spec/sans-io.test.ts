import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** DEVELOPERS.md: the core reads no clock, no randomness and does no I/O. */
const coreDirs = ['src/protocol', 'src/fec', 'src/jitter', 'src/sim'];
const forbidden =
  /\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now|Math\.random)\b|node:dgram|node:net/;

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.[cm]?[jt]s$/.test(name) ? [path] : [];
  });
}

/** Lines of code that use a forbidden API, ignoring comment lines. */
function impureLines(source: string): string[] {
  return source
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
    .filter((line) => forbidden.test(line));
}

describe('sans-IO core', () => {
  it('the checker catches each forbidden API', () => {
    for (const api of [
      'setTimeout(f)',
      'Date.now()',
      'performance.now()',
      'Math.random()',
      "from 'node:dgram'",
    ]) {
      expect(impureLines(`const x = ${api};`)).toHaveLength(1);
    }
    expect(impureLines('// Date.now() in a comment is fine')).toHaveLength(0);
  });

  it('src/protocol, src/fec, src/jitter and src/sim use no clock, timer, randomness or socket', () => {
    const offenders = coreDirs
      .flatMap(sourceFiles)
      .flatMap((file) => impureLines(readFileSync(file, 'utf8')).map((line) => `${file}: ${line.trim()}`));
    expect(offenders).toEqual([]);
  });
});
