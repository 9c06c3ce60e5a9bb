/**
 * Opt-in soak (`npm run soak`, spec §14): one simulated hour at 30% loss both ways carrying 1,000,000 IM messages
 * (both directions, ordered and unordered channels) plus a 50 frame/s media stream on a deadline channel. Checks
 * zero IM messages lost, duplicated, corrupted or out of order, every media frame settled at most once, every
 * connection invariant at every sample, and memory flat: heap (after a forced GC when run with --expose-gc) and
 * structure sizes sampled every simulated minute. Exits 1 on any failure.
 *
 * Usage: node --expose-gc --import tsx scripts/soak.ts [--minutes M] [--messages N] [--seed S]
 */
import { runSoak } from '../test/support/soak-harness.ts';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

const minutes = argument('--minutes', 60);
const imMessages = argument('--messages', 1_000_000);
const seed = argument('--seed', 1);
const gc = (globalThis as { gc?: () => void }).gc;
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
console.log(
  `soak: seed ${seed}, ${minutes} simulated min at 30% loss, ${imMessages.toLocaleString('en')} IM messages + ` +
    `50 media frames/s${gc ? '' : ' (no --expose-gc: heap figures include garbage)'}`,
);
const startMs = performance.now();
const result = runSoak({
  seed,
  durationMs: minutes * 60_000,
  imMessages,
  mediaFramesPerSecond: 50,
  gc,
  onSample: (s) => {
    const wallS = ((performance.now() - startMs) / 1000).toFixed(0);
    console.log(
      `  ${(s.atMs / 60_000).toFixed(1).padStart(5)} min  heap ${mib(s.heapUsedBytes).padStart(6)} MiB  ` +
        `IM ${s.imReceived.toLocaleString('en')}/${s.imSent.toLocaleString('en')}  ${JSON.stringify(s.sizes)}  (${wallS} s)`,
    );
  },
});
const seconds = (performance.now() - startMs) / 1000;
// Memory flat: after the first minutes of warm-up, the heap after GC stays within a band and does not trend up.
const steady = result.samples.slice(Math.min(5, Math.floor(result.samples.length / 2)));
const heaps = steady.map((s) => s.heapUsedBytes);
const heapBandBytes = heaps.length > 0 ? Math.max(...heaps) - Math.min(...heaps) : 0;
const half = Math.floor(heaps.length / 2);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const heapDriftBytes = mean(heaps.slice(half)) - mean(heaps.slice(0, half));
console.log(
  `IM: sent ${result.imSent.toLocaleString('en')}, received ${result.imReceived.toLocaleString('en')}, lost ${result.imLost}, ` +
    `duplicated ${result.imDuplicates}, corrupt ${result.imCorrupt}, out of order ${result.imOutOfOrder}`,
);
console.log(
  `media: sent ${result.mediaSent.toLocaleString('en')}, received ${result.mediaReceived.toLocaleString('en')}, ` +
    `expired ${result.mediaExpired}, skipped ${result.mediaSkipped}, duplicated ${result.mediaDuplicates}`,
);
console.log(
  `heap after warm-up: band ${mib(heapBandBytes)} MiB, drift (2nd half − 1st half) ${mib(heapDriftBytes)} MiB; ` +
    `${result.datagramsSent.toLocaleString('en')} datagrams sent; ${seconds.toFixed(0)} s wall`,
);
const failures = [
  result.imLost !== 0 && `${result.imLost} IM messages lost`,
  result.imDuplicates !== 0 && `${result.imDuplicates} IM duplicates`,
  result.imCorrupt !== 0 && `${result.imCorrupt} corrupt IM messages`,
  result.imOutOfOrder !== 0 && `${result.imOutOfOrder} IM messages out of order`,
  result.mediaDuplicates !== 0 && `${result.mediaDuplicates} media duplicates`,
  result.closedEarly && 'a connection closed during the soak',
  result.violations.length > 0 && `invariants: ${result.violations.slice(0, 5).join('; ')}`,
  gc && heapDriftBytes > 16 * 2 ** 20 && `heap drifted up by ${mib(heapDriftBytes)} MiB`,
].filter((f): f is string => typeof f === 'string');
if (failures.length > 0) {
  console.error(`SOAK FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('soak passed: zero lost, zero duplicated, invariants held, memory flat');
