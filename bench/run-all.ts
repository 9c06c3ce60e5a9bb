/**
 * Runs every micro-benchmark in bench/ (each file runs its benny suites when imported), one after the
 * other in file-name order. Run: `npm run bench:micro` (= `node --import tsx bench/run-all.ts`).
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((name) => name.endsWith('.ts') && name !== 'run-all.ts')
  .sort();

for (const name of files) {
  console.log(`\n=== bench/${name} ===`);
  await import(pathToFileURL(join(here, name)).href);
}
