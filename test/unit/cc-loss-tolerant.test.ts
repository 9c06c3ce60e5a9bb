import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CcRtt } from '../../src/protocol/cc/congestion-controller.ts';
import { LossTolerant } from '../../src/protocol/cc/loss-tolerant.ts';
import { NewReno } from '../../src/protocol/cc/new-reno.ts';
import { type BottleneckOptions, runBottleneck } from './cc-bottleneck.ts';
import { CcScript, mssBytes } from './cc-script.ts';

/** Three distinct RTT samples a hair above `rtt.latestRttMs`, so the next round is not sparse and the recent
 * samples show its queue (R-CC-5, R-CC-7). */
function fillSamples(script: CcScript, rtt: CcRtt): void {
  for (const extra of [0.07, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01]) {
    script.cc.onPacketsAcked(
      script.nowMs,
      [],
      { ...rtt, latestRttMs: rtt.latestRttMs + extra },
      0,
      undefined,
    );
  }
}

// The loss-tolerant controller alone (spec §9.3, R-CC-5 and R-CC-6), driven by scripted feedback and by a
// packet-level bottleneck with random loss (cc-bottleneck.ts).

const initialWindowBytes = 12_000; // min(10 × 1200, max(14720, 2 × 1200)), as NewReno (R-CC-2)
const flat = { latestRttMs: 50, smoothedRttMs: 50, minRttMs: 50 };
// 90 > 50 + 2 + 12.5 + 20: a queue even in a round with a single (possibly delayed) sample.
const queued = { latestRttMs: 90, smoothedRttMs: 90, minRttMs: 50 };

/** A controller brought to CRUISE with a bandwidth estimate and cruising rate of `rate`, no background loss. */
function cruising(rate: number): CcScript {
  const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
  for (const r of [rate / 8, rate / 4, rate / 2, rate, rate, rate, rate])
    script.round(r, { bytesInFlight: 1e9 });
  script.round(rate); // bytes in flight 0 ≤ BDP: DRAIN ends
  return script;
}

const lossTolerant = (script: CcScript) => script.cc as LossTolerant;

describe('LossTolerant', () => {
  it('(a) STARTUP grows window and pacing, leaves for DRAIN after 3 rounds without 25% growth, then CRUISE', () => {
    const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    const cc = lossTolerant(script);
    expect(cc.congestionWindowBytes).toBe(initialWindowBytes);
    const windows: number[] = [];
    const pacing: number[] = [];
    const modes: string[] = [];
    // Doubling for four rounds, then flat: rounds 5, 6, 7 see no 25% growth.
    for (const rate of [100_000, 200_000, 400_000, 800_000, 800_000, 800_000, 800_000, 800_000]) {
      script.round(rate, { bytesInFlight: 1e9 });
      windows.push(cc.congestionWindowBytes);
      pacing.push(cc.pacingRateBytesPerSec(script.rtt) ?? 0);
      modes.push(cc.mode);
    }
    expect(modes).toEqual([
      'startup',
      'startup',
      'startup',
      'startup',
      'startup',
      'startup',
      'startup',
      'drain',
    ]);
    for (let i = 1; i < 4; i++) {
      expect(windows[i]!).toBeGreaterThan(windows[i - 1]!);
      expect(pacing[i]!).toBeGreaterThan(pacing[i - 1]!);
    }
    expect(windows[6]).toBeCloseTo(2.885 * 800_000 * 0.05 + 3 * mssBytes, 6); // startup gain on the BDP
    expect(pacing[6]).toBeCloseTo(2.885 * 800_000, 6);
    expect(pacing[7]).toBeCloseTo(Math.max(800_000 / 2.885, (initialWindowBytes * 1000) / 50), 6); // drain gain
    script.round(800_000, { bytesInFlight: 40_001 }); // still above the 40 000-byte BDP
    expect(cc.mode).toBe('drain');
    script.round(800_000, { bytesInFlight: 40_000 });
    expect(cc.mode).toBe('cruise');
    expect(cc.cruiseRateBytesPerSec).toBeCloseTo(720_000, 6); // cruise starts at 0.9 × the bandwidth estimate
    expect(cc.congestionWindowBytes).toBeCloseTo(2 * 36_000 + 3 * mssBytes, 6);
    expect(cc.pacingRateBytesPerSec(flat)).toBeCloseTo(720_000, 6);
  });

  it('(a) over a bottleneck without loss, STARTUP finds the rate and the model settles on it', () => {
    const cc = new LossTolerant({ maxDatagramBytes: mssBytes });
    const modes: string[] = [];
    const run = runBottleneck(
      cc,
      { rateBytesPerSec: 1_250_000, oneWayDelayMs: 30, lossRate: 0, seed: 1, durationMs: 5000 },
      () => {
        if (modes.at(-1) !== cc.mode) modes.push(cc.mode);
      },
    );
    expect(modes).toEqual(['startup', 'drain', 'cruise']);
    expect(cc.bottleneckBandwidthBytesPerSec).toBeCloseTo(1_250_000, -3);
    expect(cc.backgroundLoss).toBe(0);
    expect(run.deliveredBytes / 5 / 1_250_000).toBeGreaterThan(0.9); // bytes per second over the rate
  });

  it('(b) 30% random loss on a flat RTT: the cruising rate converges to the bottleneck rate; NewReno collapses', () => {
    const rate = 1_250_000;
    const bdpBytes = rate * 0.06;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const path: BottleneckOptions = {
          rateBytesPerSec: rate,
          oneWayDelayMs: 30,
          lossRate: 0.3,
          seed,
          durationMs: 20_000,
        };
        const cc = new LossTolerant({ maxDatagramBytes: mssBytes });
        const estimates: number[] = [];
        const model = runBottleneck(cc, path, (now) => {
          if (now > 10_000) estimates.push(cc.cruiseRateBytesPerSec);
        });
        const mean = estimates.reduce((a, b) => a + b, 0) / estimates.length;
        expect(mean / rate).toBeGreaterThan(0.85);
        expect(mean / rate).toBeLessThan(1.15);
        expect(Math.min(...estimates) / rate).toBeGreaterThan(0.6); // never collapses
        expect(cc.backgroundLoss).toBeGreaterThan(0.25); // learnt ≈ 0.3
        // ≥ 90% of the erasure-channel capacity (1 − loss) × rate over the whole run, startup included.
        expect(model.deliveredBytes / 20 / (0.7 * rate)).toBeGreaterThan(0.9);
        // Same path, same loss pattern, NewReno: every round trip has a loss, the window stays near its minimum.
        const reno = runBottleneck(new NewReno({ maxDatagramBytes: mssBytes }), path);
        const late = reno.trace.filter((t) => t.atMs > 10_000);
        const meanWindow = late.reduce((a, t) => a + t.congestionWindowBytes, 0) / late.length;
        expect(meanWindow).toBeLessThan(0.1 * bdpBytes);
        expect(reno.deliveredBytes).toBeLessThan(0.1 * model.deliveredBytes);
      }),
      { numRuns: 4 },
    );
  });

  it('(b) the same scripted ACK/loss sequence (30% lost, flat RTT) keeps the estimate and collapses NewReno', () => {
    const script = cruising(800_000);
    const cc = lossTolerant(script);
    const reno = new NewReno({ maxDatagramBytes: mssBytes });
    const renoScript = new CcScript(reno);
    let lowest = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 40; round++) {
      // 3 of 10 packets lost; what arrives arrives at 70% of the rate.
      script.round(560_000, { packets: 7, lost: 3, rtt: flat });
      renoScript.round(560_000, { packets: 7, lost: 3, rtt: flat });
      lowest = Math.min(lowest, cc.bottleneckBandwidthBytesPerSec);
    }
    expect(cc.backgroundLoss).toBeGreaterThan(0.29);
    expect(cc.bottleneckBandwidthBytesPerSec / 800_000).toBeGreaterThan(0.97);
    expect(cc.bottleneckBandwidthBytesPerSec / 800_000).toBeLessThan(1.03);
    expect(lowest / 800_000).toBeGreaterThan(0.85);
    expect(cc.congestionWindowBytes).toBeGreaterThan(70_000); // ≈ 2 × 40 000 + 3 × 1200
    expect(reno.congestionWindowBytes).toBe(2 * mssBytes); // halved every round trip down to the minimum
  });

  it('(c) a queue and loss above background: the cruising rate backs off by 0.85 per round', () => {
    const script = cruising(800_000);
    const cc = lossTolerant(script);
    expect(cc.cruiseRateBytesPerSec).toBeCloseTo(720_000, 6);
    const seen: number[] = [];
    for (let round = 0; round < 4; round++) {
      script.round(500_000, { packets: 10, lost: 2, rtt: queued });
      seen.push(cc.cruiseRateBytesPerSec);
    }
    expect(seen).toEqual([612_000, 520_200, 442_170, 375_844.5].map((x) => expect.closeTo(x, 3)));
    expect(cc.backgroundLoss).toBe(0); // rounds with queueing teach nothing about random loss
    // Loss alone is not congestion: it is learnt as background loss and the rate is not cut.
    const lossOnly = cruising(800_000);
    for (let round = 0; round < 4; round++) lossOnly.round(560_000, { packets: 8, lost: 2, rtt: flat });
    expect(lossTolerant(lossOnly).cruiseRateBytesPerSec).toBeGreaterThanOrEqual(720_000);
    expect(lossTolerant(lossOnly).backgroundLoss).toBeGreaterThan(0.05);
  });

  it('(f) cruise keeps α of its own bytes queued: above it the rate falls, without a queue it grows 12.5%', () => {
    const alpha = 8 * mssBytes;
    // Cruise entered at 0.9 × 800 000 B/s. Queue delay 10 ms: 7 200 B queued < α = 9 600 B: the rate rises.
    const low = cruising(800_000);
    fillSamples(low, { latestRttMs: 60, smoothedRttMs: 60, minRttMs: 50 });
    low.round(800_000, { rtt: { latestRttMs: 60, smoothedRttMs: 60, minRttMs: 50 } });
    expect(lossTolerant(low).cruiseRateBytesPerSec).toBeCloseTo(
      720_000 + (0.15 * (alpha - 7200) * 1000) / 50,
      6,
    );
    // 20 ms: 14 400 B queued > α, the rate falls.
    const high = cruising(800_000);
    fillSamples(high, { latestRttMs: 70, smoothedRttMs: 70, minRttMs: 50 });
    high.round(800_000, { rtt: { latestRttMs: 70, smoothedRttMs: 70, minRttMs: 50 } });
    expect(lossTolerant(high).cruiseRateBytesPerSec).toBeCloseTo(
      720_000 + (0.15 * (alpha - 14_400) * 1000) / 50,
      6,
    );
    // A queue above twice the threshold (2 × (2 + 12.5) ms) cuts to max(½, 1 − 30/50) of the delivered rate.
    const big = cruising(800_000);
    fillSamples(big, { latestRttMs: 80, smoothedRttMs: 80, minRttMs: 50 });
    big.round(700_000, { rtt: { latestRttMs: 80, smoothedRttMs: 80, minRttMs: 50 } });
    expect(lossTolerant(big).cruiseRateBytesPerSec).toBeCloseTo(700_000 * 0.5, 6);
    // No queue: after two such rounds the rate grows 12.5% of the delivered rate, capped at 4 α per min RTT.
    const free = cruising(800_000);
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) {
      free.round(800_000, { rtt: flat });
      rates.push(lossTolerant(free).cruiseRateBytesPerSec);
    }
    expect(rates[2]).toBeCloseTo(Math.min(800_000 * 1.125, 800_000 + (4 * alpha * 1000) / 50), 6);
  });

  it('(g) STARTUP ends after 8 RTT samples in a row above the queueing threshold', () => {
    const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    const cc = lossTolerant(script);
    script.round(100_000, { rtt: flat, bytesInFlight: 1e9 });
    let sample = 65;
    const queuedAck = (n: number) => {
      for (let i = 0; i < n; i++) {
        sample += 0.01; // distinct samples: a repeated value is one sample (R-CC-5)
        const rtt = { latestRttMs: sample, smoothedRttMs: 60, minRttMs: 50 };
        cc.onPacketsAcked(script.nowMs, [], rtt, 1e9, undefined);
      }
    };
    const repeated = { latestRttMs: 65, smoothedRttMs: 60, minRttMs: 50 };
    for (let i = 0; i < 9; i++) cc.onPacketsAcked(script.nowMs, [], repeated, 1e9, undefined);
    expect(cc.mode).toBe('startup'); // the same value reported 9 times counts once
    queuedAck(6);
    expect(cc.mode).toBe('startup');
    cc.onPacketsAcked(script.nowMs, [], flat, 1e9, undefined); // a sample at the minimum resets the count
    queuedAck(7);
    expect(cc.mode).toBe('startup');
    queuedAck(1);
    expect(cc.mode).toBe('drain');
  });

  it('(h) a path change: 3 rounds whose every RTT exceeds 2 × min + 5 ms re-learn the min RTT', () => {
    const script = cruising(800_000);
    const cc = lossTolerant(script);
    expect(cc.minRttMs).toBe(50);
    const longer = { latestRttMs: 500, smoothedRttMs: 500, minRttMs: 50 };
    script.round(800_000, { rtt: longer });
    script.round(800_000, { rtt: longer });
    expect(cc.minRttMs).toBe(50);
    script.round(800_000, { rtt: longer });
    expect(cc.minRttMs).toBe(500);
    expect(cc.mode).toBe('cruise');
    expect(cc.cruiseRateBytesPerSec).toBeCloseTo(cc.bottleneckBandwidthBytesPerSec, 6); // the known bandwidth
    expect(cc.congestionWindowBytes).toBeGreaterThan(2 * cc.bottleneckBandwidthBytesPerSec * 0.5); // new BDP
    // A shorter path needs no detection: a lower sample is the new min at once.
    script.round(800_000, { rtt: { latestRttMs: 25, smoothedRttMs: 25, minRttMs: 25 } });
    expect(cc.minRttMs).toBe(25);
  });

  it('(d) an application-limited sender is paced at least at the initial window per RTT and stays in STARTUP', () => {
    const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    const cc = lossTolerant(script);
    const floor = (srttMs: number) => (initialWindowBytes * 1000) / Math.max(srttMs, 1);
    for (let round = 0; round < 20; round++) {
      script.round(8000, { packets: 1, appLimited: true });
      expect(cc.pacingRateBytesPerSec(script.rtt)).toBeCloseTo(floor(50), 6);
    }
    expect(cc.mode).toBe('startup'); // application-limited rounds say nothing about a plateau
    expect(cc.pacingRateBytesPerSec({ latestRttMs: 0.2, smoothedRttMs: 0.2, minRttMs: 0.2 })).toBe(floor(1));
    // An application-limited sample below the estimate does not lower it.
    const busy = cruising(800_000);
    busy.round(8000, { packets: 1, appLimited: true });
    expect(lossTolerant(busy).bottleneckBandwidthBytesPerSec).toBeCloseTo(800_000, 6);
    // Over a real bottleneck at 100 kB/s of application data, pacing never drops below the floor.
    const thin = new LossTolerant({ maxDatagramBytes: mssBytes });
    const path: BottleneckOptions = {
      rateBytesPerSec: 1_250_000,
      oneWayDelayMs: 30,
      lossRate: 0.1,
      seed: 7,
      durationMs: 5000,
      appRateBytesPerSec: 100_000,
    };
    const run = runBottleneck(thin, path);
    for (const t of run.trace) {
      expect(t.pacingRateBytesPerSec).toBeGreaterThanOrEqual(floor(t.rtt.smoothedRttMs) - 1e-6);
    }
    expect(run.deliveredBytes / 5 / 100_000).toBeGreaterThan(0.85); // ≈ 90% of what the application offered
  });

  it('(e) the window is never below 4 × MSS after STARTUP, nor below the initial window in it', () => {
    const event = fc.oneof(
      fc.record({
        kind: fc.constant('ack' as const),
        rate: fc.double({ min: 0, max: 1e8, noNaN: true }),
        packets: fc.integer({ min: 1, max: 40 }),
        lost: fc.integer({ min: 0, max: 40 }),
        appLimited: fc.boolean(),
        latestRttMs: fc.double({ min: 0.1, max: 1000, noNaN: true }),
        inflation: fc.double({ min: 1, max: 4, noNaN: true }),
        bytesInFlight: fc.integer({ min: 0, max: 1e7 }),
      }),
      fc.record({ kind: fc.constant('spurious' as const) }),
    );
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 150 }), (events) => {
        const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
        const cc = lossTolerant(script);
        let minRttMs = Number.POSITIVE_INFINITY;
        for (const e of events) {
          if (e.kind === 'spurious') {
            cc.onSpuriousLoss(script.nowMs, {
              packetNumber: 0,
              sizeBytes: mssBytes,
              timeSentMs: 0,
              appLimited: false,
            });
          } else {
            minRttMs = Math.min(minRttMs, e.latestRttMs);
            const latest = minRttMs * e.inflation;
            const rtt = { latestRttMs: latest, smoothedRttMs: latest, minRttMs };
            script.round(e.rate, { ...e, rtt });
          }
          const window = cc.congestionWindowBytes;
          expect(window).toBeGreaterThanOrEqual(cc.mode === 'startup' ? initialWindowBytes : 4 * mssBytes);
          expect(Number.isFinite(window)).toBe(true);
          const pacing = cc.pacingRateBytesPerSec(script.rtt);
          expect(pacing).toBeGreaterThanOrEqual(
            (initialWindowBytes * 1000) / Math.max(script.rtt.smoothedRttMs, 1) - 1e-6,
          );
          expect(Number.isFinite(pacing)).toBe(true);
          expect(cc.backgroundLoss).toBeGreaterThanOrEqual(0);
          expect(cc.backgroundLoss).toBeLessThanOrEqual(0.5);
        }
      }),
      { numRuns: 300 },
    );
  });
});
