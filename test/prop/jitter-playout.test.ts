import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PlayoutFrame, PlayoutOptions } from '../../src/jitter/index.ts';
import { seqDiff32 } from '../../src/protocol/wire/seq.ts';
import { type Arrival, drive } from './jitter-trace.ts';

// spec §12.2 safety properties of the playout buffer under arbitrary traces: loss, reordering, duplicates,
// incomplete frames, garbage, a full buffer, sequence wraparound and an application that pops late.

const optionsArb: fc.Arbitrary<PlayoutOptions> = fc.record(
  {
    maxDelayMs: fc.integer({ min: 5, max: 400 }),
    minDelayMs: fc.integer({ min: 0, max: 5 }),
    initialDelayMs: fc.integer({ min: 0, max: 500 }),
    quantile: fc.double({ min: 0.5, max: 0.999, noNaN: true }),
    delayEstimator: fc.constantFrom('histogram' as const, 'rfc3550' as const),
    forgetFactor: fc.double({ min: 0.8, max: 0.999, noNaN: true }),
    bucketMs: fc.constantFrom(0.5, 1, 4),
    offsetWindowMs: fc.integer({ min: 10, max: 5000 }),
    decreaseTimeConstantMs: fc.integer({ min: 1, max: 5000 }),
    maxBufferedFrames: fc.integer({ min: 1, max: 64 }),
    maxConcealGapFrames: fc.integer({ min: 1, max: 40 }),
    clockOffsetMs: fc.integer({ min: -50, max: 50 }),
  },
  { requiredKeys: ['maxDelayMs'] },
);

/** What happens to one frame of the stream on its way. */
const fateArb = fc.record({
  delayMs: fc.double({ min: 0, max: 500, noNaN: true }),
  lost: fc.boolean(),
  /** A second copy, this much later (a retransmission or a network duplicate). */
  copyAfterMs: fc.option(fc.double({ min: 0, max: 300, noNaN: true })),
  /** Pushed incomplete first; the complete frame follows this much later, or never. */
  incompleteFor: fc.option(fc.option(fc.double({ min: 0, max: 200, noNaN: true }))),
  garbage: fc.boolean(),
});

const traceArb = fc.record({
  firstSequence: fc.oneof(fc.constant(0xffff_ffe0), fc.nat({ max: 0xffff_ffff })),
  intervalMs: fc.constantFrom(0, 1, 20, 33.3),
  offsetMs: fc.integer({ min: -1e6, max: 1e6 }),
  fates: fc.array(fateArb, { maxLength: 120 }),
  popLags: fc.array(fc.double({ min: 0, max: 80, noNaN: true }), { minLength: 1, maxLength: 20 }),
});

/** One generated trace. */
type Trace = typeof traceArb extends fc.Arbitrary<infer T> ? T : never;

function arrivalsOf(trace: Trace): Arrival[] {
  const arrivals: Arrival[] = [];
  trace.fates.forEach((fate, i) => {
    const captureTimeMs = i * trace.intervalMs;
    const sequence = (trace.firstSequence + i) >>> 0;
    const atMs = captureTimeMs + trace.offsetMs + fate.delayMs;
    const whole: PlayoutFrame = { sequence, captureTimeMs, payload: Uint8Array.of(i & 0xff) };
    if (fate.garbage) arrivals.push({ atMs, frame: { ...whole, captureTimeMs: Number.NaN } });
    if (fate.lost) return;
    if (fate.incompleteFor === null) {
      arrivals.push({ atMs, frame: whole });
    } else {
      arrivals.push({ atMs, frame: { ...whole, complete: false } });
      if (fate.incompleteFor !== null) arrivals.push({ atMs: atMs + fate.incompleteFor, frame: whole });
    }
    if (fate.copyAfterMs !== null) arrivals.push({ atMs: atMs + fate.copyAfterMs, frame: { ...whole } });
  });
  return arrivals.sort((a, b) => a.atMs - b.atMs);
}

describe('playout buffer safety (spec §12.2, R-PLAY-4, R-PLAY-6)', () => {
  it('frames leave in order, at most once, never before their playout time nor after their deadline', () => {
    fc.assert(
      fc.property(optionsArb, fc.boolean(), traceArb, (options, knowsClock, trace) => {
        const opts = knowsClock ? options : { ...options, clockOffsetMs: undefined };
        const arrivals = arrivalsOf(trace);
        const run = drive(opts, arrivals, (k) => trace.popLags[k % trace.popLags.length]!);
        const lastPushAt = new Map<PlayoutFrame, number>();
        for (const p of run.pushed) lastPushAt.set(p.frame, p.atMs);

        let previousSequence: number | undefined;
        let previousInstantMs = Number.NEGATIVE_INFINITY;
        const played = new Set<number>();
        for (const { atMs, event } of run.popped) {
          const sequence = event.kind === 'frame' ? event.frame.sequence : event.sequence;
          // In order, each slot at most once (R-PLAY-6).
          if (previousSequence !== undefined)
            expect(seqDiff32(sequence, previousSequence)).toBeGreaterThan(0);
          previousSequence = sequence;
          if (event.kind !== 'frame') continue;
          expect(played.has(sequence)).toBe(false);
          played.add(sequence);
          // Only what was pushed, complete; never before it arrived or before its playout instant.
          const pushedAt = lastPushAt.get(event.frame);
          expect(pushedAt).toBeDefined();
          expect(event.frame.complete).not.toBe(false);
          expect(event.playoutAtMs).toBeGreaterThanOrEqual(pushedAt!);
          expect(atMs).toBeGreaterThanOrEqual(event.playoutAtMs);
          expect(event.playoutAtMs).toBeGreaterThanOrEqual(previousInstantMs);
          previousInstantMs = event.playoutAtMs;
          // Never after the deadline, capture + C + maxDelayMs (R-PLAY-4).
          const senderOffsetMs = event.playoutAtMs - event.frame.captureTimeMs - event.playoutDelayMs;
          if (opts.clockOffsetMs !== undefined) expect(senderOffsetMs).toBeCloseTo(opts.clockOffsetMs, 6);
          const lateByMs = atMs - (event.frame.captureTimeMs + senderOffsetMs + opts.maxDelayMs);
          expect(lateByMs).toBeLessThanOrEqual(1e-6);
        }

        // Every push is accounted for once, and nothing is left behind (R-PLAY-5, R-PLAY-8..10).
        const s = run.buffer.stats;
        const incomplete = run.popped.filter(
          (p) => p.event.kind === 'conceal' && p.event.reason === 'incomplete',
        );
        expect(s.bufferedFrames).toBe(0);
        expect(s.framesPushed).toBe(arrivals.length);
        expect(s.framesPlayed).toBe(played.size);
        expect(s.concealed).toBe(run.popped.length - played.size);
        expect(
          s.framesPlayed +
            s.lateDrops +
            s.duplicates +
            s.invalidFrames +
            s.overflowDrops +
            s.replaced +
            incomplete.length,
        ).toBe(s.framesPushed);
        const outcomes = run.pushed.map((p) => p.outcome);
        expect(outcomes.filter((o) => o === 'duplicate').length).toBe(s.duplicates);
        expect(outcomes.filter((o) => o === 'invalid').length).toBe(s.invalidFrames);
        // Bounds of the target (R-PLAY-2, R-PLAY-4).
        for (const p of run.pushed) {
          expect(p.targetMs).toBeLessThanOrEqual(opts.maxDelayMs);
          if (opts.clockOffsetMs === undefined)
            expect(p.targetMs).toBeGreaterThanOrEqual(opts.minDelayMs ?? 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a frame that arrives in time and in order with nothing lost is played (no spurious concealment)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 1, maxLength: 100 }),
        fc.nat({ max: 0xffff_ffff }),
        (jitters, firstSequence) => {
          // Delays within a 5 ms spread and a target of at least 10 ms: every frame is on time.
          const arrivals = jitters.map((j, i) => ({
            atMs: i * 20 + 30 + j,
            frame: { sequence: (firstSequence + i) >>> 0, captureTimeMs: i * 20, payload: new Uint8Array(0) },
          }));
          const run = drive({ maxDelayMs: 100, minDelayMs: 10 }, arrivals);
          expect(run.popped.map((p) => p.event.kind === 'frame' && p.event.frame.sequence)).toEqual(
            arrivals.map((a) => a.frame.sequence),
          );
          expect(run.buffer.stats.lateDrops).toBe(0);
        },
      ),
    );
  });
});
