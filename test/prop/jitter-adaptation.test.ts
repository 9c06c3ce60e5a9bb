import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Arrival, drive, makeTrace, quantileOf } from './jitter-trace.ts';

// spec §12.2 adaptation of the playout buffer on seeded traces (SeededRandom from src/sim): the target converges on
// the configured quantile of a stationary jitter distribution (R-PLAY-2), follows a step change up fast and down
// slowly (R-PLAY-3), and a clock offset plus ±1000 ppm of drift cause no growing lateness (R-PLAY-1).

/** Relative delays as R-PLAY-1/2 define them, computed naively: transit minus the minimum transit of the last 2 s. */
function relativeDelays(arrivals: readonly Arrival[], windowMs = 2000): number[] {
  return arrivals.map((a, i) => {
    let min = Number.POSITIVE_INFINITY;
    for (let j = i; j >= 0 && arrivals[j]!.atMs >= a.atMs - windowMs; j--) {
      min = Math.min(min, arrivals[j]!.atMs - arrivals[j]!.frame.captureTimeMs);
    }
    return a.atMs - a.frame.captureTimeMs - min;
  });
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const seedArb = fc.integer({ min: 1, max: 0x7fff_ffff });

describe('playout buffer adaptation (spec §12.2)', () => {
  it('R-PLAY-2: on stationary jitter the target settles at the configured quantile', () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 5, max: 30 }),
        fc.constantFrom(0.9, 0.95, 0.99),
        (seed, sigmaMs, quantile) => {
          const trace = makeTrace({ seed, frames: 6000, delayMs: () => ({ meanMs: 80, sigmaMs }) });
          const run = drive({ maxDelayMs: 400, quantile }, trace);
          // After 60 s of warm-up: the mean target against the quantile of the next 60 s of relative delays.
          const settled = run.pushed.slice(3000);
          const wantedMs = quantileOf(relativeDelays(trace).slice(3000), quantile);
          const targetMs = mean(settled.map((p) => p.targetMs));
          expect(targetMs / wantedMs).toBeGreaterThan(0.97);
          expect(targetMs / wantedMs).toBeLessThan(1.12); // rising fast, falling slowly: a little above
          // And the fraction of frames that arrived late is about 1 − quantile (a little less).
          const late = settled.filter((p) => p.outcome === 'late').length / settled.length;
          expect(late).toBeLessThanOrEqual(1.3 * (1 - quantile) + 0.002);
          // (At 0.99 and small jitter a 1 ms bucket is a large step: none late is possible there.)
          if (quantile <= 0.95) expect(late).toBeGreaterThanOrEqual(0.2 * (1 - quantile));
        },
      ),
      { numRuns: 12 },
    );
  });

  it('R-PLAY-11: the rfc3550 estimator also keeps about the configured fraction on time on normal jitter', () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 5, max: 30 }),
        fc.constantFrom(0.9, 0.95, 0.99),
        (seed, sigmaMs, quantile) => {
          const trace = makeTrace({ seed, frames: 6000, delayMs: () => ({ meanMs: 80, sigmaMs }) });
          const run = drive({ maxDelayMs: 400, quantile, delayEstimator: 'rfc3550' }, trace);
          const settled = run.pushed.slice(3000);
          const wantedMs = quantileOf(relativeDelays(trace).slice(3000), quantile);
          const targetMs = mean(settled.map((p) => p.targetMs));
          expect(targetMs / wantedMs).toBeGreaterThan(0.95);
          expect(targetMs / wantedMs).toBeLessThan(1.25);
          const late = settled.filter((p) => p.outcome === 'late').length / settled.length;
          expect(late).toBeLessThanOrEqual(1.3 * (1 - quantile) + 0.002);
          // RFC 3550 jitter of normal delays is 2σ/√π.
          expect(
            run.buffer.stats.interarrivalJitterMs / ((2 * sigmaMs) / Math.sqrt(Math.PI)),
          ).toBeGreaterThan(0.7);
          expect(run.buffer.stats.interarrivalJitterMs / ((2 * sigmaMs) / Math.sqrt(Math.PI))).toBeLessThan(
            1.4,
          );
        },
      ),
      { numRuns: 8 },
    );
  });

  it('R-PLAY-3: when jitter rises the target follows within a few frames; when it falls, slowly', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const step = 2000;
        const up = makeTrace({
          seed,
          frames: 4000,
          delayMs: (i) => ({ meanMs: 80, sigmaMs: i < step ? 5 : 30 }),
        });
        const rising = drive({ maxDelayMs: 400 }, up).pushed;
        const before = rising[step - 1]!.targetMs;
        const newLevel = quantileOf(relativeDelays(up).slice(3000), 0.95);
        const framesUntil = (ok: (targetMs: number) => boolean): number =>
          rising.slice(step).findIndex((p) => ok(p.targetMs));
        // Up: +10 ms within 25 frames (0.5 s), 80% of the new quantile within 150 frames (3 s).
        expect(framesUntil((t) => t >= before + 10)).toBeLessThanOrEqual(25);
        expect(framesUntil((t) => t >= 0.8 * newLevel)).toBeLessThanOrEqual(150);

        const down = makeTrace({
          seed,
          frames: 4000,
          delayMs: (i) => ({ meanMs: 80, sigmaMs: i < step ? 30 : 5 }),
        });
        const falling = drive({ maxDelayMs: 400 }, down).pushed;
        const high = falling[step - 1]!.targetMs;
        const lowLevel = quantileOf(relativeDelays(down).slice(3000), 0.95);
        const at = (k: number): number => falling[step + k]!.targetMs;
        // Down: no faster than the 2 s time constant allows (≤ 1 − e^(−0.5) ≈ 40% of the way after 1 s) …
        expect(high - at(25)).toBeLessThanOrEqual(0.25 * (high - lowLevel));
        expect(high - at(50)).toBeLessThanOrEqual(0.4 * (high - lowLevel));
        // … and no frame is made late by the decrease itself.
        expect(
          falling.slice(step, step + 200).filter((p) => p.outcome === 'late').length,
        ).toBeLessThanOrEqual(1);
        // … but it gets there: within 30 s the target is near the new quantile.
        expect(at(1500)).toBeLessThanOrEqual(1.3 * lowLevel);
      }),
      { numRuns: 8 },
    );
  });

  it('R-PLAY-1: a clock offset and ±1000 ppm of drift cause no growing lateness or delay', () => {
    const frames = 30_000; // 10 minutes of 20 ms frames: 1000 ppm drifts 600 ms
    const delayMs = () => ({ meanMs: 60, sigmaMs: 15 });
    /** Per third of the run: mean playout delay of the frames played, and the fraction of frames late. */
    const thirds = (seed: number, driftPpm: number, offsetMs: number) => {
      const run = drive({ maxDelayMs: 300 }, makeTrace({ seed, frames, delayMs, driftPpm, offsetMs }));
      return [0, 1, 2].map((k) => {
        const part = run.pushed.slice((k * frames) / 3, ((k + 1) * frames) / 3);
        const played = new Set(part.map((p) => p.frame));
        const delays = run.popped.flatMap((p) =>
          p.event.kind === 'frame' && played.has(p.event.frame) ? [p.event.playoutDelayMs] : [],
        );
        return { delayMs: mean(delays), late: part.filter((p) => p.outcome === 'late').length / part.length };
      });
    };
    fc.assert(
      fc.property(
        seedArb,
        fc.constantFrom(-1000, -300, 300, 1000),
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        (seed, driftPpm, offsetMs) => {
          // The same jitter draws on a perfect clock are the reference: drift and offset change about nothing.
          const reference = thirds(seed, 0, 0);
          const drifting = thirds(seed, driftPpm, offsetMs);
          drifting.forEach((part, k) => {
            expect(Math.abs(part.delayMs - reference[k]!.delayMs)).toBeLessThanOrEqual(3);
            expect(part.late).toBeLessThanOrEqual(reference[k]!.late * 1.2 + 0.002);
            expect(part.late).toBeLessThanOrEqual(0.06);
          });
          // Nothing grows over the ten minutes (the jitter itself moves a third's mean by a few ms).
          expect(drifting[2]!.delayMs).toBeLessThanOrEqual(drifting[0]!.delayMs + 6);
        },
      ),
      { numRuns: 5 },
    );
  });
});
