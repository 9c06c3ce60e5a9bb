/**
 * Statistical checks of the link models over ≥ 100k datagrams. The runs are seeded, so these are
 * deterministic; the tolerances are still derived from each estimator's standard error (5 sigma), so a
 * correct model passes for any seed and a biased one fails.
 */
import { describe, expect, it } from 'vitest';
import { bagLoss } from '../../src/sim/link/bag-loss.ts';
import { bernoulliLoss } from '../../src/sim/link/bernoulli-loss.ts';
import { corrupt } from '../../src/sim/link/corrupt.ts';
import { duplicate } from '../../src/sim/link/duplicate.ts';
import { gilbertLoss } from '../../src/sim/link/gilbert-loss.ts';
import type { LinkNode } from '../../src/sim/link/node.ts';
import { normalJitter } from '../../src/sim/link/normal-jitter.ts';
import { rateLimit } from '../../src/sim/link/rate-limit.ts';
import { uniformDelay } from '../../src/sim/link/uniform-delay.ts';
import { SeededRandom } from '../../src/sim/random.ts';

const n = 200_000;
const sigmas = 5;

/** Loss pattern of `count` equal datagrams through `node`: true = lost. */
function lossPattern(node: LinkNode, count: number): boolean[] {
  const lost: boolean[] = [];
  const bytes = new Uint8Array(100);
  for (let i = 0; i < count; i++) {
    node.process(
      { bytes, sentAt: i, at: i },
      () => lost.push(false),
      () => lost.push(true),
    );
  }
  return lost;
}

/** Lengths of the runs of `value` in `pattern`. */
function runLengths(pattern: boolean[], value: boolean): number[] {
  const runs: number[] = [];
  let run = 0;
  for (const x of pattern) {
    if (x === value) run++;
    else if (run > 0) {
      runs.push(run);
      run = 0;
    }
  }
  if (run > 0) runs.push(run);
  return runs;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stdev = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

/** Kolmogorov-Smirnov distance between the sample and a CDF. */
function ksDistance(sample: number[], cdf: (x: number) => number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  let d = 0;
  sorted.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / sorted.length), Math.abs((i + 1) / sorted.length - f));
  });
  return d;
}
/** KS critical distance at significance 1e-6 (asymptotic: sqrt(ln(2/α) / 2n)). */
const ksCritical = (count: number) => Math.sqrt(Math.log(2 / 1e-6) / (2 * count));

/** Standard normal CDF (Abramowitz-Stegun 7.1.26, error < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

describe('loss models (≥ 100k datagrams, 5-sigma bounds)', () => {
  it.each([0.01, 0.05, 0.3, 0.5])('bernoulli(%f): rate and geometric bursts', (p) => {
    const lost = lossPattern(bernoulliLoss(p, new SeededRandom(1)), n);
    const rate = lost.filter(Boolean).length / n;
    expect(Math.abs(rate - p)).toBeLessThan(sigmas * Math.sqrt((p * (1 - p)) / n));
    // Independent losses: bursts are geometric with mean 1/(1 − p).
    const bursts = runLengths(lost, true);
    const burstSd = Math.sqrt(p) / (1 - p);
    expect(Math.abs(mean(bursts) - 1 / (1 - p))).toBeLessThan((sigmas * burstSd) / Math.sqrt(bursts.length));
  });

  it.each([
    [0.3, 3],
    [0.1, 2],
    [0.05, 1.5],
    [0.3, 10],
  ])('gilbert(meanLoss %f, meanBurst %f): rate, burst and gap lengths', (meanLoss, meanBurst) => {
    const node = gilbertLoss({ meanLoss, meanBurst }, new SeededRandom(2));
    const lost = lossPattern(node, n);
    const r = node.leaveBadProbability;
    const p = node.enterBadProbability;
    // Mean of a two-state Markov chain: variance π(1−π)/n × (1+λ)/(1−λ), λ = 1 − p − r.
    const lambda = 1 - p - r;
    const rateSe = Math.sqrt(((meanLoss * (1 - meanLoss)) / n) * ((1 + lambda) / (1 - lambda)));
    const rate = lost.filter(Boolean).length / n;
    expect(Math.abs(rate - meanLoss)).toBeLessThan(sigmas * rateSe);
    // Bursts are geometric(r): mean 1/r, sd sqrt(1−r)/r; gaps geometric(p): mean 1/p.
    const bursts = runLengths(lost, true);
    expect(Math.abs(mean(bursts) - meanBurst)).toBeLessThan(
      (sigmas * Math.sqrt(1 - r)) / r / Math.sqrt(bursts.length),
    );
    const gaps = runLengths(lost, false);
    expect(Math.abs(mean(gaps) - 1 / p)).toBeLessThan(
      (sigmas * Math.sqrt(1 - p)) / p / Math.sqrt(gaps.length),
    );
  });

  it.each([5, 15, 30])('bag(%i): exact per hundred and uniform positions', (lossPerHundred) => {
    const lost = lossPattern(bagLoss(lossPerHundred, new SeededRandom(3)), n);
    const windows = n / 100;
    const byPosition = new Array<number>(100).fill(0);
    for (let w = 0; w < windows; w++) {
      let inWindow = 0;
      for (let i = 0; i < 100; i++) {
        if (lost[w * 100 + i]) {
          inWindow++;
          byPosition[i] = (byPosition[i] ?? 0) + 1;
        }
      }
      expect(inWindow).toBe(lossPerHundred);
    }
    // Each position is lost in a window with probability L/100, independently across windows.
    const q = lossPerHundred / 100;
    for (const count of byPosition) {
      expect(Math.abs(count - windows * q)).toBeLessThan(sigmas * Math.sqrt(windows * q * (1 - q)));
    }
  });

  it('duplicate and corrupt act on their configured fraction', () => {
    const dup = duplicate(0.02, new SeededRandom(4));
    const bad = corrupt(0.03, 1, new SeededRandom(5));
    lossPattern(dup, n);
    lossPattern(bad, n);
    expect(Math.abs((dup.counters.delivered - n) / n - 0.02)).toBeLessThan(
      sigmas * Math.sqrt((0.02 * 0.98) / n),
    );
    expect(Math.abs(bad.corrupted / n - 0.03)).toBeLessThan(sigmas * Math.sqrt((0.03 * 0.97) / n));
  });
});

describe('delay distributions (≥ 100k datagrams)', () => {
  function delays(node: LinkNode, count: number, gapMs: number): number[] {
    const out: number[] = [];
    const bytes = new Uint8Array(10);
    for (let i = 0; i < count; i++) {
      node.process(
        { bytes, sentAt: i * gapMs, at: i * gapMs },
        (p) => out.push(p.at - p.sentAt),
        () => {},
      );
    }
    return out;
  }

  it('uniform [30, 61): mean, stdev and shape as configured', () => {
    const sample = delays(uniformDelay(30, 61, {}, new SeededRandom(6)), n, 1);
    const sd = 31 / Math.sqrt(12);
    expect(Math.abs(mean(sample) - 45.5)).toBeLessThan((sigmas * sd) / Math.sqrt(n));
    // se(sd) ≈ sd·sqrt((κ − 1)/4n) with kurtosis κ = 1.8 for a uniform.
    expect(Math.abs(stdev(sample) - sd)).toBeLessThan(sigmas * sd * Math.sqrt(0.8 / (4 * n)));
    expect(ksDistance(sample, (x) => Math.min(1, Math.max(0, (x - 30) / 31)))).toBeLessThan(ksCritical(n));
  });

  it('normal 50 ± 15: mean, stdev and shape as configured', () => {
    const sample = delays(normalJitter(50, 15, {}, new SeededRandom(7)), n, 1);
    expect(Math.abs(mean(sample) - 50)).toBeLessThan((sigmas * 15) / Math.sqrt(n));
    expect(Math.abs(stdev(sample) - 15)).toBeLessThan((sigmas * 15) / Math.sqrt(2 * n));
    expect(ksDistance(sample, (x) => normalCdf((x - 50) / 15))).toBeLessThan(ksCritical(n));
  });

  it('FIFO only ever adds delay (it waits for the packet ahead), reordering mode keeps the distribution', () => {
    // Packets every 0.1 ms with 30–61 ms of jitter: FIFO must hold many back.
    const fifo = delays(uniformDelay(30, 61, { fifo: true }, new SeededRandom(8)), n, 0.1);
    const free = delays(uniformDelay(30, 61, { fifo: false }, new SeededRandom(8)), n, 0.1);
    expect(fifo.filter((d, i) => d < free[i]!)).toEqual([]);
    expect(mean(fifo)).toBeGreaterThan(mean(free) + 1);
  });
});

describe('rate limiter (≥ 100k datagrams)', () => {
  it.each([
    [10e6, 64 * 1024, 1.5],
    [20e6, 150_000, 1.1],
    [1e6, 4_000, 3],
  ])(
    'rate %d bit/s, queue %d B, offered %f×: holds rate and queue bound',
    (rateBps, queueBytes, overload) => {
      const node = rateLimit({ rateBps, queueBytes });
      const random = new SeededRandom(9);
      const bytesPerMs = rateBps / 8000;
      let at = 0;
      let lastDeparture = 0;
      let overlaps = 0;
      let deliveredBytes = 0;
      let maxSojournMs = 0;
      let firstDeparture = Number.NaN;
      let firstBytes = 0;
      for (let i = 0; i < n; i++) {
        const size = random.int(40, 1400);
        // Poisson arrivals at `overload` times the link rate (mean size 720 B).
        at += random.exponential(720 / bytesPerMs / overload);
        node.process(
          { bytes: new Uint8Array(size), sentAt: at, at },
          (p) => {
            // Serialisation never overlaps: each departure is at least its service time after the previous.
            if (p.at - Math.max(lastDeparture, at) < size / bytesPerMs - 1e-9) overlaps++;
            if (Number.isNaN(firstDeparture)) {
              firstDeparture = p.at;
              firstBytes = size;
            }
            lastDeparture = p.at;
            deliveredBytes += size;
            maxSojournMs = Math.max(maxSojournMs, p.at - at);
          },
          () => {},
        );
      }
      // Queue bound: nobody waits longer than a full queue takes to drain.
      expect(maxSojournMs).toBeLessThanOrEqual(queueBytes / bytesPerMs + 1e-9);
      expect(node.maxBacklogBytes).toBeLessThanOrEqual(queueBytes);
      expect(overlaps).toBe(0);
      // Overloaded, the link stays (almost) always busy: delivered rate ≈ configured rate, never above.
      // Bytes after the first departure were all serialised within (firstDeparture, lastDeparture].
      const measuredBps = ((deliveredBytes - firstBytes) * 8000) / (lastDeparture - firstDeparture);
      expect(measuredBps).toBeLessThanOrEqual(rateBps * (1 + 1e-9));
      expect(measuredBps).toBeGreaterThan(rateBps * 0.99);
      expect(node.counters.dropped.queue ?? 0).toBeGreaterThan(0);
    },
  );
});
