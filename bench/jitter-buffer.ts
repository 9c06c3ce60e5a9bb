/**
 * Micro-benchmark of the playout buffer (spec §12.2): push + pop throughput on a pre-generated trace of 20 ms
 * frames with σ = 15 ms normal jitter (reordering), 5% loss (concealment) and 2% duplicates. One op = one frame:
 * its push plus the pops that follow it. Run: `node --import tsx bench/jitter-buffer.ts`.
 */
import b from 'benny';
import { PlayoutBuffer, type PlayoutFrame } from '../src/jitter/index.ts';
import { SeededRandom } from '../src/sim/random.ts';

interface Arrival {
  atMs: number;
  frame: PlayoutFrame;
}

function trace(frames: number, seed: number): Arrival[] {
  const rng = new SeededRandom(seed);
  const payload = new Uint8Array(160);
  const arrivals: Arrival[] = [];
  for (let i = 0; i < frames; i++) {
    const frame = { sequence: i, captureTimeMs: i * 20, payload };
    const atMs = i * 20 + Math.max(0, rng.normal(50, 15));
    if (!rng.chance(0.05)) arrivals.push({ atMs, frame });
    if (rng.chance(0.02)) arrivals.push({ atMs: atMs + rng.float() * 40, frame });
  }
  return arrivals.sort((x, y) => x.atMs - y.atMs);
}

const arrivals = trace(100_000, 1);
let sink = 0;

/** A bench case that replays the trace frame by frame, starting over (with a fresh buffer) at its end. */
function replay(make: () => PlayoutBuffer, popEveryPush: boolean): () => void {
  let buffer = make();
  let i = 0;
  let lapMs = 0;
  const lapLengthMs = arrivals[arrivals.length - 1]!.atMs + 1000;
  return () => {
    if (i === arrivals.length) {
      buffer = make();
      i = 0;
      lapMs += lapLengthMs;
    }
    const arrival = arrivals[i++]!;
    const nowMs = lapMs + arrival.atMs;
    // Timers due before this arrival, then the push.
    for (let due = buffer.nextTimeout(); due !== undefined && due <= nowMs; due = buffer.nextTimeout()) {
      const event = buffer.pop(Math.max(due, lapMs));
      if (event !== undefined) sink += event.kind === 'frame' ? 1 : 2;
    }
    sink += buffer.push(nowMs, arrival.frame).length;
    if (popEveryPush) while (buffer.pop(nowMs) !== undefined) sink++;
  };
}

/** One push per op into a buffer that is replaced every 256 frames (below the overflow bound), never popped. */
function pushOnly(): () => void {
  const payload = new Uint8Array(1);
  let buffer = new PlayoutBuffer({ maxDelayMs: 200 });
  let i = 0;
  return () => {
    if (i === 256) {
      buffer = new PlayoutBuffer({ maxDelayMs: 200 });
      i = 0;
    }
    sink += buffer.push(i, { sequence: i, captureTimeMs: i, payload }).length;
    i++;
  };
}

const cases: [string, () => void][] = [
  ['audio trace, defaults (maxDelayMs 200)', replay(() => new PlayoutBuffer({ maxDelayMs: 200 }), true)],
  [
    'audio trace, 0.25 ms buckets up to 2 s',
    replay(() => new PlayoutBuffer({ maxDelayMs: 2000, bucketMs: 0.25 }), true),
  ],
  [
    'audio trace, rfc3550 estimator',
    replay(() => new PlayoutBuffer({ maxDelayMs: 200, delayEstimator: 'rfc3550' }), true),
  ],
  ['push only, in-order frames', pushOnly()],
];
// Warm the JIT up so the first case is not measured cold.
for (const [, fn] of cases) for (let k = 0; k < 200_000; k++) fn();

const options = { minSamples: 20, maxTime: 2 };
await b.suite(
  'playout buffer (ops/s = frames/s; one frame = its push and the pops that follow)',
  ...cases.map(([name, fn]) => b.add(name, fn, options)),
  b.cycle(),
  b.complete(),
);

if (sink === 42) console.log(''); // keep `sink` observable
