import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DelayHistogram } from '../../src/jitter/delay-histogram.ts';
import { FrameQueue } from '../../src/jitter/frame-queue.ts';
import { InterarrivalJitter, normalQuantile } from '../../src/jitter/interarrival-jitter.ts';
import { SlidingMin } from '../../src/jitter/sliding-min.ts';
import { TargetDelay } from '../../src/jitter/target-delay.ts';
import { seqDiff32 } from '../../src/protocol/wire/seq.ts';

// The building blocks of the playout buffer (spec §12.2), each against a naive reference.

describe('SlidingMin (the clock-offset estimate, R-PLAY-1)', () => {
  it('equals the minimum of the samples inside the window, newest always kept', () => {
    const samples = fc.array(
      fc.tuple(fc.double({ min: 0, max: 50, noNaN: true }), fc.integer({ min: -1e3, max: 1e3 })),
      {
        maxLength: 200,
      },
    );
    fc.assert(
      fc.property(samples, fc.integer({ min: 1, max: 300 }), (steps, windowMs) => {
        const window = new SlidingMin(windowMs, 1 << 20);
        const seen: [number, number][] = [];
        let nowMs = 0;
        for (const [stepMs, value] of steps) {
          nowMs += stepMs;
          seen.push([nowMs, value]);
          const expected = Math.min(...seen.filter(([t]) => t >= nowMs - windowMs).map(([, v]) => v));
          expect(window.add(nowMs, value)).toBe(expected);
          expect(window.min).toBe(expected);
        }
      }),
    );
  });

  it('keeps at most maxSamples samples, forgetting the oldest early', () => {
    const window = new SlidingMin(1e9, 8);
    for (let i = 0; i < 100; i++) window.add(i, i); // increasing values: nothing is dominated
    expect(window.size).toBe(8);
    expect(window.min).toBe(92);
  });

  it('has no minimum before the first sample', () => {
    expect(new SlidingMin(10, 10).min).toBeUndefined();
  });
});

describe('DelayHistogram (R-PLAY-2)', () => {
  /** Weighted nearest-rank quantile of bucket upper edges, the same definition computed naively. */
  function reference(delays: number[], q: number, bucketMs: number, rangeMs: number, forget: number): number {
    const buckets = Math.ceil(rangeMs / bucketMs) + 1;
    const weights = new Array<number>(buckets).fill(0);
    delays.forEach((d, i) => {
      const b = Math.min(buckets - 1, Math.max(0, Math.floor(d / bucketMs)));
      weights[b]! += forget ** (delays.length - 1 - i);
    });
    const total = weights.reduce((a, b) => a + b, 0);
    let cumulative = 0;
    for (let b = 0; b < buckets; b++) {
      cumulative += weights[b]!;
      if (cumulative >= q * total * (1 - 1e-9)) return (b + 1) * bucketMs;
    }
    return buckets * bucketMs;
  }

  it('gives the weighted quantile of a naive histogram with forgetting', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 400, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0.05, max: 0.99, noNaN: true }),
        fc.constantFrom(1, 2, 5),
        fc.constantFrom(0.9, 0.983, 0.999),
        (delays, q, bucketMs, forget) => {
          const histogram = new DelayHistogram(bucketMs, 300, forget);
          for (const d of delays) histogram.add(d);
          const got = histogram.quantile(q)!;
          const want = reference(delays, q, bucketMs, 300, forget);
          // Float sums may put a boundary case one bucket either way.
          expect(Math.abs(got - want)).toBeLessThanOrEqual(bucketMs);
        },
      ),
    );
  });

  it('exact on a hand-made example, and forgets old samples', () => {
    const histogram = new DelayHistogram(1, 100, 0.5);
    expect(histogram.quantile(0.5)).toBeUndefined();
    histogram.add(10);
    expect(histogram.quantile(0.5)).toBe(11);
    histogram.add(50); // weights 1 (10 ms) and 2 (50 ms)
    expect(histogram.quantile(0.3)).toBe(11);
    expect(histogram.quantile(0.4)).toBe(51);
    for (let i = 0; i < 20; i++) histogram.add(20);
    expect(histogram.quantile(0.99)).toBe(21);
    expect(histogram.effectiveSamples).toBeCloseTo(2, 3);
  });

  it('stays finite after a million samples (renormalisation)', () => {
    const histogram = new DelayHistogram(1, 50, 0.9);
    for (let i = 0; i < 1_000_000; i++) histogram.add(i % 40);
    expect(histogram.quantile(0.5)).toBeGreaterThan(0);
    expect(Number.isFinite(histogram.effectiveSamples)).toBe(true);
    expect(histogram.effectiveSamples).toBeCloseTo(10, 3);
  });

  it('ignores NaN and puts out-of-range delays in the end buckets', () => {
    const histogram = new DelayHistogram(1, 10, 0.9);
    histogram.add(Number.NaN);
    expect(histogram.quantile(0.5)).toBeUndefined();
    histogram.add(Number.POSITIVE_INFINITY);
    expect(histogram.quantile(0.5)).toBe(11);
    histogram.add(-5);
    histogram.add(-5);
    expect(histogram.quantile(0.1)).toBe(1);
  });
});

describe('TargetDelay (R-PLAY-3)', () => {
  it('rises at once and falls exponentially with the time constant', () => {
    const target = new TargetDelay(80, 1000);
    expect(target.update(0, 40)).toBe(80); // no time has passed
    expect(target.update(1000, 40)).toBeCloseTo(40 + 40 * Math.exp(-1), 9);
    expect(target.update(1000, 120)).toBe(120);
    expect(target.update(3000, 20)).toBeCloseTo(20 + 100 * Math.exp(-2), 9);
    expect(target.ms).toBeCloseTo(20 + 100 * Math.exp(-2), 9);
  });
});

describe('FrameQueue (sequence order through seqDiff32, R-WIRE-4)', () => {
  it('keeps the order of a naive sorted list across the 2^32 wrap', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffff_ffff }),
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 300 }).map((o) => ({ add: o })),
            fc.constant({ shift: true }),
          ),
        ),
        (base, ops) => {
          const queue = new FrameQueue<{ sequence: number; tag: number }>();
          let naive: { sequence: number; tag: number }[] = [];
          ops.forEach((op, tag) => {
            if ('add' in op) {
              const item = { sequence: (base + op.add) >>> 0, tag };
              queue.set(item);
              naive = naive.filter((x) => x.sequence !== item.sequence).concat(item);
              naive.sort((a, b) => seqDiff32(a.sequence, b.sequence));
            } else {
              expect(queue.shift()).toEqual(naive.shift());
            }
            expect(queue.size).toBe(naive.length);
            expect(queue.first).toEqual(naive[0]);
            expect(queue.last).toEqual(naive[naive.length - 1]);
            for (const x of naive) expect(queue.get(x.sequence)).toBe(x);
          });
        },
      ),
    );
  });
});

describe('InterarrivalJitter (RFC 3550 §6.4.1, R-PLAY-11)', () => {
  it('follows J += (|D| − J) / 16 and the mean relative delay with the same gain', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -1e4, max: 1e4 }), fc.nat({ max: 500 })), { minLength: 1 }),
        (xs) => {
          const estimator = new InterarrivalJitter(0.95);
          let jitter = 0;
          let meanDelay = xs[0]![1];
          xs.forEach(([transit, delay], i) => {
            estimator.add(transit, delay);
            if (i > 0) jitter += (Math.abs(transit - xs[i - 1]![0]) - jitter) / 16;
            if (i > 0) meanDelay += (delay - meanDelay) / 16;
          });
          expect(estimator.jitterMs).toBeCloseTo(jitter, 9);
          expect(estimator.estimateMs()).toBeCloseTo(
            meanDelay + normalQuantile(0.95) * (Math.sqrt(Math.PI) / 2) * jitter,
            9,
          );
        },
      ),
    );
    expect(new InterarrivalJitter(0.9).estimateMs()).toBeUndefined();
  });

  it('normalQuantile is within 4.5e-4 of the standard normal quantile', () => {
    const table: [number, number][] = [
      [0.5, 0],
      [0.9, 1.281552],
      [0.95, 1.644854],
      [0.99, 2.326348],
      [0.999, 3.090232],
      [0.01, -2.326348],
    ];
    for (const [p, z] of table) expect(Math.abs(normalQuantile(p) - z)).toBeLessThan(4.5e-4);
  });
});
