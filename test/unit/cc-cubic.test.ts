import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CcPacket, CcRtt } from '../../src/protocol/cc/congestion-controller.ts';
import { Cubic, cubicBeta, cubicC } from '../../src/protocol/cc/cubic.ts';
import { NewReno } from '../../src/protocol/cc/new-reno.ts';
import { type BottleneckOptions, runBottleneck } from './cc-bottleneck.ts';

// CUBIC alone (RFC 9438; spec §9.6, R-CC-9..11), driven by scripted ACK and loss sequences.

const mss = 1200;
const rtt: CcRtt = { latestRttMs: 100, smoothedRttMs: 100, minRttMs: 100 };

/** A scripted sender: packets numbered in order, each `ack`/`lose` at an explicit time. */
class Script {
  pn = 0;
  readonly cc = new Cubic({ maxDatagramBytes: mss });
  packet(sentMs: number, appLimited = false): CcPacket {
    return { packetNumber: this.pn++, sizeBytes: mss, timeSentMs: sentMs, appLimited };
  }
  /** Acknowledges `n` full packets sent at `sentMs`, one ACK each, at `nowMs`. */
  ack(nowMs: number, n: number, sentMs = nowMs - 100): void {
    for (let i = 0; i < n; i++) this.cc.onPacketsAcked(nowMs, [this.packet(sentMs)], rtt);
  }
  lose(nowMs: number, sentMs = nowMs - 100): CcPacket {
    const p = this.packet(sentMs);
    this.cc.onPacketsLost(nowMs, [p], false);
    return p;
  }
}

/** A controller that left slow start with a loss at a window of `segments` MSS, at t = 1000 ms. */
function afterLoss(segments: number): Script {
  const s = new Script();
  s.ack(500, segments - 10); // slow start: + 1 MSS per acked MSS from the 10-MSS initial window
  expect(s.cc.congestionWindowBytes).toBe(segments * mss);
  s.lose(1000);
  return s;
}

describe('Cubic', () => {
  it('reduces to β = 0.7 of the window on a loss and sets K = cbrt(W_max (1 − β) / C)', () => {
    const s = afterLoss(100);
    expect(s.cc.congestionWindowBytes).toBeCloseTo(70 * mss, 6);
    expect(s.cc.ssthreshBytes).toBeCloseTo(70 * mss, 6);
    expect(s.cc.wMaxBytes).toBe(100 * mss);
    s.ack(1100, 1, 1050); // first ACK in congestion avoidance starts the epoch
    expect(s.cc.epochStartMs).toBe(1100);
    expect(s.cc.kSeconds).toBeCloseTo(Math.cbrt((100 * (1 - cubicBeta)) / cubicC), 9);
    // One recovery period: a second loss of a packet sent before it began changes nothing.
    s.lose(1150, 900);
    expect(s.cc.congestionWindowBytes).toBeGreaterThanOrEqual(70 * mss);
  });

  it('grows concave up to W_max, flat near K, convex beyond it', () => {
    const s = afterLoss(100);
    const k = Math.cbrt((100 * (1 - cubicBeta)) / cubicC) * 1000; // ms after the epoch start
    const windows: { tMs: number; w: number }[] = [];
    const start = 1100;
    // About one window of ACKs per 100 ms RTT, each sent after the recovery period began.
    for (let t = start; t < start + 2.2 * k; t += 100) {
      s.ack(t, Math.round(s.cc.congestionWindowBytes / mss), t - 50);
      windows.push({ tMs: t - start, w: s.cc.congestionWindowBytes });
    }
    const at = (tMs: number) =>
      windows.reduce((a, b) => (Math.abs(b.tMs - tMs) < Math.abs(a.tMs - tMs) ? b : a));
    const growth = (from: number, to: number) => at(to).w - at(from).w;
    // Concave: growth slows down approaching K; convex: it speeds up after it.
    expect(growth(0.1 * k, 0.4 * k)).toBeGreaterThan(growth(0.5 * k, 0.8 * k));
    expect(growth(1.3 * k, 1.6 * k)).toBeGreaterThan(growth(0.9 * k, 1.2 * k));
    // Near K the window is close to W_max (the plateau), and it tracks W_cubic one RTT ahead.
    expect(Math.abs(at(k).w - 100 * mss) / (100 * mss)).toBeLessThan(0.05);
    const late = windows.at(-1)!;
    expect(late.w).toBeGreaterThan(100 * mss);
    expect(late.w).toBeLessThanOrEqual(s.cc.cubicWindowBytes(late.tMs / 1000 + 0.1) + mss);
  });

  it('fast convergence: a loss below the previous W_max sets W_max to window × (1 + β) / 2', () => {
    const s = afterLoss(100);
    s.ack(1100, 5, 1050);
    const w = s.cc.congestionWindowBytes;
    expect(w).toBeLessThan(100 * mss);
    s.lose(1200, 1150);
    expect(s.cc.wMaxBytes).toBeCloseTo((w * (1 + cubicBeta)) / 2, 6);
    expect(s.cc.congestionWindowBytes).toBeCloseTo(w * cubicBeta, 6);
  });

  it('Reno-friendly region: with a small window and short RTT the window follows W_est, at least Reno', () => {
    const s = afterLoss(20); // K ≈ 2.5 s: W_cubic hardly moves for many short round trips
    const short: CcRtt = { latestRttMs: 10, smoothedRttMs: 10, minRttMs: 10 };
    const reno = new NewReno({ maxDatagramBytes: mss });
    let pn = 0;
    const pkt = (t: number): CcPacket => ({
      packetNumber: pn++,
      sizeBytes: mss,
      timeSentMs: t,
      appLimited: false,
    });
    reno.onPacketsAcked(
      0,
      Array.from({ length: 10 }, () => pkt(0)),
    ); // slow start to 20 MSS
    reno.onPacketsLost(1000, [pkt(990)], false); // → 10 MSS
    for (let t = 1010; t < 1500; t += 10) {
      const n = Math.round(s.cc.congestionWindowBytes / mss);
      for (let i = 0; i < n; i++) s.cc.onPacketsAcked(t, [s.packet(t - 5)], short);
      reno.onPacketsAcked(
        t,
        Array.from({ length: Math.round(reno.congestionWindowBytes / mss) }, () => pkt(t - 5)),
      );
      const tEpoch = (t - s.cc.epochStartMs!) / 1000;
      // In this region the window is W_est, above the cubic curve.
      if (s.cc.cubicWindowBytes(tEpoch) < s.cc.wEstBytes)
        expect(s.cc.congestionWindowBytes).toBe(s.cc.wEstBytes);
    }
    expect(s.cc.congestionWindowBytes).toBeGreaterThan(
      s.cc.cubicWindowBytes((1500 - s.cc.epochStartMs!) / 1000),
    );
    // W_est grows by α = 3(1 − β)/(1 + β) MSS per window at first: slower than Reno's 1 MSS, from a higher start.
    expect(s.cc.congestionWindowBytes).toBeGreaterThan(14 * mss);
  });

  it('a spurious loss undoes the reduction; application-limited and pre-recovery packets do not grow it', () => {
    const s = afterLoss(100);
    const before = { w: 100 * mss, wMax: s.cc.wMaxBytes };
    const s2 = new Script();
    s2.ack(500, 90);
    const lost = s2.lose(1000, 950);
    expect(s2.cc.congestionWindowBytes).toBeCloseTo(70 * mss, 6);
    s2.cc.onSpuriousLoss(1100, lost);
    expect(s2.cc.congestionWindowBytes).toBe(before.w);
    expect(s2.cc.ssthreshBytes).toBe(Number.POSITIVE_INFINITY);
    expect(s2.cc.wMaxBytes).toBe(0);
    // A later packet's spurious loss cannot undo a reduction it did not cause.
    const s3 = afterLoss(100);
    s3.cc.onSpuriousLoss(1100, s3.packet(1050));
    expect(s3.cc.congestionWindowBytes).toBeCloseTo(70 * mss, 6);
    const w = s.cc.congestionWindowBytes;
    s.cc.onPacketsAcked(1200, [s.packet(1150, true)], rtt); // application-limited
    s.cc.onPacketsAcked(1200, [s.packet(900)], rtt); // sent before the recovery period
    expect(s.cc.congestionWindowBytes).toBe(w);
    // Persistent congestion: the minimum window.
    s.cc.onPacketsLost(1300, [s.packet(1250)], true);
    expect(s.cc.congestionWindowBytes).toBe(2 * mss);
  });

  it('any ACK/loss sequence keeps the window finite and at least 2 MSS; β applies to every reduction', () => {
    const step = fc.record({
      kind: fc.constantFrom('ack', 'lose', 'spurious', 'persistent'),
      dtMs: fc.integer({ min: 0, max: 500 }),
      count: fc.integer({ min: 1, max: 50 }),
      appLimited: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const s = new Script();
        let now = 0;
        const lost: CcPacket[] = [];
        for (const e of steps) {
          now += e.dtMs;
          const w = s.cc.congestionWindowBytes;
          if (e.kind === 'ack') {
            for (let i = 0; i < e.count; i++)
              s.cc.onPacketsAcked(now, [s.packet(now - 1, e.appLimited)], rtt);
            expect(s.cc.congestionWindowBytes).toBeGreaterThanOrEqual(w);
          } else if (e.kind === 'lose') {
            const p = s.packet(now);
            lost.push(p);
            s.cc.onPacketsLost(now + 1, [p], false);
            const reduced = s.cc.congestionWindowBytes;
            expect(reduced === w || Math.abs(reduced - Math.max(w * cubicBeta, 2 * mss)) < 1e-6).toBe(true);
          } else if (e.kind === 'spurious' && lost.length > 0) {
            s.cc.onSpuriousLoss(now, lost[e.count % lost.length]!);
          } else if (e.kind === 'persistent') {
            s.cc.onPacketsLost(now + 1, [s.packet(now)], true);
            expect(s.cc.congestionWindowBytes).toBe(2 * mss);
          }
          expect(Number.isFinite(s.cc.congestionWindowBytes)).toBe(true);
          expect(s.cc.congestionWindowBytes).toBeGreaterThanOrEqual(2 * mss);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('over a 30%-loss bottleneck CUBIC collapses like NewReno (the case for the loss-tolerant controller)', () => {
    const path: BottleneckOptions = {
      rateBytesPerSec: 1_250_000,
      oneWayDelayMs: 30,
      lossRate: 0.3,
      seed: 5,
      durationMs: 10_000,
    };
    const cubic = runBottleneck(new Cubic({ maxDatagramBytes: mss }), path);
    const clean = runBottleneck(new Cubic({ maxDatagramBytes: mss }), { ...path, lossRate: 0 });
    expect(clean.deliveredBytes / 10 / 1_250_000).toBeGreaterThan(0.8);
    expect(cubic.deliveredBytes).toBeLessThan(0.1 * clean.deliveredBytes);
  });
});
