/**
 * Traces and a driver shared by the playout-buffer tests (spec §12.2): a stream of periodic frames whose
 * arrival times come from a seeded delay model, and a driver that pushes them in arrival order and pops at
 * every playout instant (or later, to model a lazy application), recording what left and when.
 */
import type { PlayoutEvent, PlayoutFrame } from '../../src/jitter/index.ts';
import { PlayoutBuffer, type PlayoutOptions, type PushOutcome } from '../../src/jitter/index.ts';
import { SeededRandom } from '../../src/sim/random.ts';

/** One frame and when it reaches the receiver (receiver clock). */
export interface Arrival {
  atMs: number;
  frame: PlayoutFrame;
}

/** How a trace is generated. */
export interface TraceSpec {
  seed: number;
  frames: number;
  /** Capture interval (sender clock). */
  intervalMs?: number;
  /** Mean one-way delay and jitter (normal, truncated at 0) for frame i. */
  delayMs?: (i: number) => { meanMs: number; sigmaMs: number };
  /** Receiver clock = (true time) × (1 + driftPpm·1e-6) + offsetMs. */
  driftPpm?: number;
  offsetMs?: number;
  /** First sequence number (wraps at 2^32). */
  firstSequence?: number;
  /** Probability that a frame never arrives. */
  lossRate?: number;
}

/** A trace: arrivals sorted by time, plus each frame's true one-way delay by index. */
export function makeTrace(spec: TraceSpec): Arrival[] {
  const rng = new SeededRandom(spec.seed);
  const interval = spec.intervalMs ?? 20;
  const scale = 1 + (spec.driftPpm ?? 0) * 1e-6;
  const arrivals: Arrival[] = [];
  for (let i = 0; i < spec.frames; i++) {
    const { meanMs, sigmaMs } = spec.delayMs?.(i) ?? { meanMs: 50, sigmaMs: 15 };
    const delay = Math.max(0, rng.normal(meanMs, sigmaMs));
    if (rng.chance(spec.lossRate ?? 0)) continue;
    const captureTimeMs = i * interval;
    arrivals.push({
      atMs: (captureTimeMs + delay) * scale + (spec.offsetMs ?? 0),
      frame: {
        sequence: ((spec.firstSequence ?? 0) + i) >>> 0,
        captureTimeMs,
        payload: new Uint8Array(1),
      },
    });
  }
  return arrivals.sort((a, b) => a.atMs - b.atMs);
}

/** One event that left the buffer, with the `now` of the `pop` that returned it. */
export interface Popped {
  atMs: number;
  event: PlayoutEvent;
}

/** A push and what the buffer did with it. */
export interface Pushed {
  atMs: number;
  frame: PlayoutFrame;
  outcome: PushOutcome;
  /** The target delay right after the push. */
  targetMs: number;
}

/** What a driven run produced. */
export interface Run {
  buffer: PlayoutBuffer;
  pushed: Pushed[];
  popped: Popped[];
}

/**
 * Pushes `arrivals` (sorted by time) and pops every due event: at each `nextTimeout()` before the next arrival
 * (plus `popLagMs(k)` for the k-th pop, modelling a late application), and right after each push.
 */
export function drive(
  options: PlayoutOptions | PlayoutBuffer,
  arrivals: readonly Arrival[],
  popLagMs: (k: number) => number = () => 0,
): Run {
  const buffer = options instanceof PlayoutBuffer ? options : new PlayoutBuffer(options);
  const pushed: Pushed[] = [];
  const popped: Popped[] = [];
  let nowMs = Number.NEGATIVE_INFINITY;
  let pops = 0;
  const drain = (atMs: number): void => {
    nowMs = Math.max(nowMs, atMs);
    for (let event = buffer.pop(nowMs); event !== undefined; event = buffer.pop(nowMs)) {
      popped.push({ atMs: nowMs, event });
    }
  };
  const runTimers = (untilMs: number): void => {
    for (let due = buffer.nextTimeout(); due !== undefined && due <= untilMs; due = buffer.nextTimeout()) {
      const at = Math.max(nowMs, due + popLagMs(pops++));
      if (at > untilMs) break;
      drain(at);
    }
  };
  for (const arrival of arrivals) {
    runTimers(arrival.atMs);
    nowMs = Math.max(nowMs, arrival.atMs);
    const outcome = buffer.push(nowMs, arrival.frame);
    pushed.push({ atMs: nowMs, frame: arrival.frame, outcome, targetMs: buffer.targetDelayMs });
    drain(nowMs);
  }
  runTimers(Number.POSITIVE_INFINITY);
  return { buffer, pushed, popped };
}

/** The q-quantile of `values` (nearest rank), for reference computations in tests. */
export function quantileOf(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
