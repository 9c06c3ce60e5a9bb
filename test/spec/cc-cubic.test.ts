import { describe, expect, it } from 'vitest';
import type { CcPacket, CcRtt } from '../../src/protocol/cc/congestion-controller.ts';
import { Cubic } from '../../src/protocol/cc/cubic.ts';
import { Pacer } from '../../src/protocol/cc/pacer.ts';
import { Connection } from '../../src/protocol/connection.ts';

// spec.md §9.6 (CUBIC) and the pacer's debt cap of §9.5: one test per requirement id.

const mss = 1200;
const rtt: CcRtt = { latestRttMs: 100, smoothedRttMs: 100, minRttMs: 100 };
let pn = 0;
const packet = (sentMs: number, appLimited = false): CcPacket => ({
  packetNumber: pn++,
  sizeBytes: mss,
  timeSentMs: sentMs,
  appLimited,
});

describe('spec §9.6 CUBIC', () => {
  it('R-CC-9: selected by congestionControl cubic; NewReno windows; β = 0.7, fast convergence, K at the epoch start', () => {
    const connection = new Connection(0, {
      role: 'client',
      connectionId: Uint8Array.of(1, 2, 3, 4),
      config: { congestionControl: 'cubic' },
    });
    expect(connection.congestion.controller).toBe('cubic');
    expect(connection.congestion.congestionWindowBytes).toBe(12_000); // min(10 MSS, max(14720, 2 MSS))
    const cc = new Cubic({ maxDatagramBytes: mss });
    for (let i = 0; i < 40; i++) cc.onPacketsAcked(100, [packet(50)], rtt); // slow start: 50 MSS
    expect(cc.congestionWindowBytes).toBe(50 * mss);
    cc.onPacketsLost(200, [packet(150)], false);
    expect(cc.wMaxBytes).toBe(50 * mss);
    expect(cc.congestionWindowBytes).toBeCloseTo(35 * mss, 9);
    expect(cc.ssthreshBytes).toBeCloseTo(35 * mss, 9);
    expect(cc.epochStartMs).toBeUndefined();
    cc.onPacketsAcked(300, [packet(250)], rtt);
    expect(cc.epochStartMs).toBe(300);
    expect(cc.kSeconds).toBeCloseTo(Math.cbrt((50 - 35) / 0.4), 9);
    // Another congestion event below W_max: fast convergence.
    const w = cc.congestionWindowBytes;
    cc.onPacketsLost(400, [packet(350)], false);
    expect(cc.wMaxBytes).toBeCloseTo((w * 1.7) / 2, 9);
    expect(cc.congestionWindowBytes).toBeCloseTo(w * 0.7, 9);
    // Leaving slow start without a loss: the plateau is the current window, K = 0.
    const fresh = new Cubic({ maxDatagramBytes: mss });
    fresh.ssthreshBytes = 12_000;
    fresh.onPacketsAcked(10, [packet(5)], rtt);
    expect(fresh.wMaxBytes).toBe(12_000);
    expect(fresh.kSeconds).toBe(0);
    // Minimum window 2 MSS under persistent congestion.
    cc.onPacketsLost(500, [packet(450)], true);
    expect(cc.congestionWindowBytes).toBe(2 * mss);
  });

  it('R-CC-10: W_est with α = 3(1 − β)/(1 + β), Reno-friendly region, cubic target capped at 1.5 × window, pacing', () => {
    const cc = new Cubic({ maxDatagramBytes: mss });
    for (let i = 0; i < 90; i++) cc.onPacketsAcked(100, [packet(50)], rtt); // 100 MSS
    cc.onPacketsLost(200, [packet(150)], false); // 70 MSS, W_max 100, cwnd_prior 100
    cc.onPacketsAcked(300, [packet(250)], rtt); // epoch starts at 300 with W_est = 70 MSS
    const alpha = (3 * 0.3) / 1.7;
    expect(cc.wEstBytes).toBeCloseTo(70 * mss + (alpha * mss * mss) / (70 * mss), 6);
    // t = 0: W_cubic(0) = W_max − C K³ MSS = 70 MSS < W_est → Reno-friendly: window = W_est.
    expect(cc.congestionWindowBytes).toBeCloseTo(cc.wEstBytes, 9);
    // Later, above W_est: the window moves (target − window) / window per ACK towards W_cubic(t + RTT).
    const t = 1.5;
    const w0 = cc.congestionWindowBytes;
    cc.onPacketsAcked(300 + t * 1000, [packet(300 + t * 1000 - 50)], rtt);
    const target = Math.min(Math.max(cc.cubicWindowBytes(t + 0.1), w0), 1.5 * w0);
    expect(cc.cubicWindowBytes(t)).toBeGreaterThan(cc.wEstBytes);
    expect(cc.congestionWindowBytes).toBeCloseTo(w0 + ((target - w0) * mss) / w0, 6);
    // Far beyond K the target is capped at 1.5 × window.
    const w1 = cc.congestionWindowBytes;
    cc.onPacketsAcked(300 + 60_000, [packet(300 + 60_000 - 50)], rtt);
    expect(cc.congestionWindowBytes).toBeCloseTo(w1 + (0.5 * w1 * mss) / w1, 6);
    // Pacing: 2 × window / srtt in slow start, 1.25 × after.
    expect(cc.pacingRateBytesPerSec(rtt)).toBeCloseTo((1.25 * cc.congestionWindowBytes * 1000) / 100, 6);
    const slow = new Cubic({ maxDatagramBytes: mss });
    expect(slow.pacingRateBytesPerSec(rtt)).toBeCloseTo((2 * 12_000 * 1000) / 100, 6);
  });

  it('R-CC-11: a spurious loss undoes the reduction of its recovery period, restoring W_max, K and the epoch', () => {
    const cc = new Cubic({ maxDatagramBytes: mss });
    for (let i = 0; i < 90; i++) cc.onPacketsAcked(100, [packet(50)], rtt);
    cc.onPacketsLost(200, [packet(150)], false);
    cc.onPacketsAcked(300, [packet(250)], rtt);
    const saved = {
      w: cc.congestionWindowBytes,
      ssthresh: cc.ssthreshBytes,
      wMax: cc.wMaxBytes,
      k: cc.kSeconds,
      epoch: cc.epochStartMs,
      wEst: cc.wEstBytes,
    };
    const culprit = packet(350);
    cc.onPacketsLost(400, [culprit], false);
    expect(cc.congestionWindowBytes).toBeLessThan(saved.w);
    cc.onSpuriousLoss(450, packet(420)); // sent after the period began: not the cause, nothing undone
    expect(cc.congestionWindowBytes).toBeLessThan(saved.w);
    cc.onSpuriousLoss(450, culprit);
    expect(cc.congestionWindowBytes).toBe(saved.w);
    expect(cc.ssthreshBytes).toBe(saved.ssthresh);
    expect(cc.wMaxBytes).toBe(saved.wMax);
    expect(cc.kSeconds).toBe(saved.k);
    expect(cc.epochStartMs).toBe(saved.epoch);
    expect(cc.wEstBytes).toBe(saved.wEst);
  });

  it('R-CC-3: the pacer debt is capped at one burst, so unpaced packets never hold paced data back longer', () => {
    const burst = 10 * mss;
    const pacer = new Pacer(burst);
    const rate = 120_000; // one burst per 100 ms
    expect(pacer.nextSendTimeMs(0, mss, rate)).toBe(0);
    for (let i = 0; i < 200; i++) pacer.onSend(0, mss, rate); // 200 packets at once (probes, copies)
    // Without the cap the next packet would wait 200 × 10 ms; with it, (burst + MSS) / rate = 110 ms.
    expect(pacer.nextSendTimeMs(0, mss, rate)).toBeCloseTo(((burst + mss) * 1000) / rate, 9);
  });
});
