import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CongestionController } from '../../src/protocol/cc/congestion-controller.ts';
import { OutgoingMessage } from '../../src/protocol/channel/outgoing-message.ts';
import { Connection } from '../../src/protocol/connection.ts';
import { defaultConnectionConfig } from '../../src/protocol/connection-config.ts';
import { RedundancyPlanner } from '../../src/protocol/recovery/redundancy.ts';
import { framesOf, HandPair } from './core-harness.ts';

/** A controller with a window that never closes and a fixed pacing rate, so only the pacer can hold a packet. */
function fixedRate(rateBytesPerSec: number): CongestionController {
  return {
    name: 'fixed-rate',
    congestionWindowBytes: 1e9,
    pacingRateBytesPerSec: () => rateBytesPerSec,
    onPacketSent: () => {},
    onPacketsAcked: () => {},
    onPacketsLost: () => {},
    onSpuriousLoss: () => {},
  };
}

/** Drains `conn` at `nowMs`; returns the datagrams. */
function drain(conn: Connection, nowMs: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let d = conn.pollTransmit(nowMs); d; d = conn.pollTransmit(nowMs)) out.push(d);
  return out;
}

describe('spec §6.3–§6.4: probe timeout before the first RTT sample, pacing of copy packets', () => {
  it('R-LOSS-5: before the first RTT sample the PTO does not back off (probes every unbacked-off interval)', () => {
    // Every client datagram is lost: no RTT sample ever. Initial RTT 200 ms → PTO 200 + 400 + 20 = 620 ms.
    const config = { redundancyMaxFragmentBytes: 0, keepAliveIntervalMs: 0 };
    const pair = new HandPair({ config, drop: (d) => d.from === 'client' });
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(1)));
    pair.runUntil(3200);
    const times = pair.sentBy('client').map((d) => d.sentAtMs);
    expect(times).toEqual([0, 620, 620, 1240, 1240, 1860, 1860, 2480, 2480, 3100, 3100]);
    expect(pair.client.stats.probePackets).toBe(10);
  });

  it('R-LOSS-5: once a sample exists the PTO doubles per expiry again', () => {
    const config = { redundancyMaxFragmentBytes: 0, keepAliveIntervalMs: 0 };
    let cut = false;
    const pair = new HandPair({ config, drop: (d) => cut && d.from === 'client' });
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(1)));
    pair.runUntil(500); // one round trip of 50 ms: the client has a sample
    expect(pair.client.rtt.minRttMs).toBeLessThan(100); // 50 ms path plus at most the peer's ACK delay
    cut = true;
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(2)));
    const start = pair.nowMs;
    pair.runUntil(start + 5000);
    const gaps = pair
      .sentBy('client')
      .filter((d) => d.sentAtMs > start)
      .map((d) => d.sentAtMs - start);
    const [p1, p2, p3] = [...new Set(gaps)];
    expect(p3).toBeDefined();
    // Intervals p1, p2 − p1, p3 − p2: each twice the one before (well below maxPtoMs here).
    expect(p2! - p1!).toBeCloseTo(2 * p1!, 6);
    expect(p3! - p2!).toBeCloseTo(2 * (p2! - p1!), 6);
  });

  it('R-LOSS-11: copy packets wait for the pacer like data: after the burst, the rate bounds every datagram', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20_000, max: 120_000 }), (rateBytesPerSec) => {
        const conn = new Connection(0, {
          role: 'client',
          connectionId: Uint8Array.of(1, 2, 3, 4),
          congestionController: fixedRate(rateBytesPerSec),
          config: { keepAliveIntervalMs: 0 },
        });
        // More than the pacer's burst (10 datagrams) of 1000-byte messages; the peer never answers. Fragments
        // above redundancySmallFragmentBytes are due copy packets c = 5 ms after their first transmission.
        for (let i = 0; i < 14; i++) conn.send(0, 0, new Uint8Array(1000));
        const burst = drain(conn, 0).length;
        expect(burst).toBeLessThan(14);
        let now = 0;
        const later: number[] = [];
        for (let steps = 0; steps < 2000 && now < 600; steps++) {
          const t = conn.nextTimeout();
          if (t === undefined) break;
          expect(t).toBeGreaterThan(now); // a held copy never leaves a deadline in the past (no busy loop)
          now = t;
          conn.handleTimeout(now);
          for (const bytes of drain(conn, now)) {
            later.push(now);
            expect(framesOf(bytes).frames.length).toBeGreaterThan(0);
          }
        }
        // Only probes (R-LOSS-6) may pass the pacer; before the first PTO (620 ms) every datagram is paced:
        // after the burst, at most one datagram per 1200 bytes of rate, plus the one the debt cap lets through.
        const pacedBefore = (ms: number) => later.filter((at) => at <= ms).length;
        for (const at of later) {
          expect(pacedBefore(at)).toBeLessThanOrEqual(1 + (at * rateBytesPerSec) / 1000 / 1000);
        }
        expect(later.length).toBeGreaterThan(0);
        expect(conn.stats.redundantCopies).toBeGreaterThan(0); // copies were due, and went out paced
      }),
      { numRuns: 30 },
    );
  });

  it('R-LOSS-8: small fragments aim at half the residual target: the fewest copies that reach it', () => {
    const c = defaultConnectionConfig;
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 0.9, noNaN: true }), (p) => {
        const planner = new RedundancyPlanner(c);
        planner.lossEstimate = p;
        const check = (extra: number, target: number) => {
          expect(extra).toBeGreaterThanOrEqual(0);
          expect(extra).toBeLessThanOrEqual(c.redundancyMaxExtraCopies);
          // Enough: all extra + 1 transmissions lost with probability ≤ target, unless capped.
          if (extra < c.redundancyMaxExtraCopies)
            expect(p ** (extra + 1)).toBeLessThanOrEqual(target * (1 + 1e-9));
          // Fewest: one copy fewer would miss the target.
          if (extra > 0) expect(p ** extra).toBeGreaterThan(target * (1 - 1e-9));
        };
        const small = planner.targetExtraCopies(true);
        const large = planner.targetExtraCopies();
        check(small, c.redundancyTargetResidualLoss / 2);
        check(large, c.redundancyTargetResidualLoss);
        expect(small).toBeGreaterThanOrEqual(large);
      }),
    );
    // In the planner: at 10% loss a 100-byte fragment wants two copies, a 1000-byte one a single copy.
    const planner = new RedundancyPlanner(c);
    planner.lossEstimate = 0.1;
    const fragmentOf = (bytes: number) => {
      const f = new OutgoingMessage(0, 0, new Uint8Array(bytes), 1134, 0).fragments[0]!;
      f.lastSentMs = 0;
      planner.onFirstSent(f);
      return f;
    };
    const small = fragmentOf(100);
    const large = fragmentOf(1000);
    const copiesBy = (f: typeof small) => {
      let now = 0;
      for (let i = 0; i < 5; i++) {
        now += 3;
        for (const g of planner.candidates(now, 100)) {
          if (g !== f) continue;
          g.lastSentMs = now;
          planner.onCopySent(g);
        }
      }
      return f.copies;
    };
    expect(copiesBy(small)).toBe(2);
    expect(copiesBy(large)).toBe(1);
  });
});
