import { describe, expect, it } from 'vitest';
import {
  DeliveryRateSampler,
  type DeliverySnapshot,
  type RateSample,
} from '../../src/protocol/recovery/delivery-rate.ts';

// Delivery-rate sampling (spec §9.2, R-CC-4; draft-cheng-iccrg-delivery-rate-estimation).

interface Scripted {
  timeSentMs: number;
  sizeBytes: number;
  delivery?: DeliverySnapshot | undefined;
}

interface Event {
  atMs: number;
  /** Packet indices sent at this time (after the ACKs of the same time). */
  send?: number[];
  /** Packet indices one ACK frame newly acknowledges. */
  ack?: number[];
  appLimited?: boolean;
}

/** Plays a script of sends and ACK frames through a sampler; returns each ACK's sample and the packets. */
function play(
  events: Event[],
  sizeBytes = 1000,
): { samples: (RateSample | undefined)[]; packets: Scripted[] } {
  const sampler = new DeliveryRateSampler();
  const packets: Scripted[] = [];
  const samples: (RateSample | undefined)[] = [];
  let inFlight = 0;
  const ordered = [...events].sort((a, b) => a.atMs - b.atMs || (a.ack ? 0 : 1) - (b.ack ? 0 : 1));
  for (const e of ordered) {
    if (e.ack) {
      const acked = e.ack.map((i) => packets[i]!);
      for (const p of acked) inFlight -= p.sizeBytes;
      samples.push(sampler.onAck(e.atMs, acked));
    }
    for (const i of e.send ?? []) {
      const delivery = sampler.onPacketSent(e.atMs, inFlight, e.appLimited ?? false);
      packets[i] = { timeSentMs: e.atMs, sizeBytes, delivery };
      inFlight += sizeBytes;
    }
  }
  return { samples, packets };
}

/** One 1000-byte packet every `spacingMs`, each acknowledged alone `rttMs` after it was sent. */
function steady(count: number, spacingMs: number, rttMs: number): Event[] {
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    events.push({ atMs: i * spacingMs, send: [i] });
    events.push({ atMs: i * spacingMs + rttMs, ack: [i] });
  }
  return events;
}

describe('DeliveryRateSampler (R-CC-4)', () => {
  it('a steady ACK clock samples exactly the sending rate once a round trip has passed', () => {
    const { samples } = play(steady(60, 10, 100)); // 1000 B / 10 ms = 100 kB/s
    for (const sample of samples.slice(10)) {
      expect(sample?.deliveryRateBytesPerSec).toBeCloseTo(100_000, 6);
      expect(sample?.deliveredBytes).toBe(10_000); // one round trip's worth
      expect(sample?.intervalMs).toBe(100);
    }
    // The first round trip's samples include the idle start, so they are lower.
    expect(samples[0]?.deliveryRateBytesPerSec).toBeCloseTo(1000 / 0.1, 6);
    expect(samples[0]?.priorDeliveredBytes).toBe(0);
    expect(samples[20]?.priorDeliveredBytes).toBe(11_000); // packets 0..10 acked when packet 20 left
  });

  it('rate = delivered / max(send interval, ACK interval): a burst out is measured at the ACK rate', () => {
    // Ten packets sent 1 ms apart (1 MB/s), acknowledged 10 ms apart (a 100 kB/s bottleneck), then ten more.
    const events: Event[] = [];
    for (let i = 0; i < 20; i++) {
      events.push({ atMs: i < 10 ? i : 200 + (i - 10), send: [i] });
      events.push({ atMs: (i < 10 ? 100 : 300) + 10 * (i % 10), ack: [i] });
    }
    const { samples, packets } = play(events);
    const last = samples.at(-1)!;
    const snap = packets[19]!.delivery!;
    const sendIntervalMs = packets[19]!.timeSentMs - snap.firstSentTimeMs;
    const ackIntervalMs = 390 - snap.deliveredTimeMs;
    expect(ackIntervalMs).toBeGreaterThan(sendIntervalMs);
    expect(last.intervalMs).toBe(ackIntervalMs);
    expect(last.deliveryRateBytesPerSec).toBeCloseTo((last.deliveredBytes * 1000) / ackIntervalMs, 6);
    for (const s of samples.slice(1)) expect(s!.deliveryRateBytesPerSec).toBeLessThanOrEqual(100_000 + 1e-6);
  });

  it('ACK compression cannot inflate a sample: the send interval bounds it', () => {
    // Paced at 100 kB/s; the return path speeds up by 50 ms over packets 30..40, so their ACKs arrive 5 ms
    // apart, twice as fast as the data left (compressed, in order).
    const ackTime = (i: number) => i * 10 + 100 - 5 * Math.min(Math.max(i - 30, 0), 10);
    const events = steady(60, 10, 100).map((e) => (e.ack ? { ...e, atMs: ackTime(e.ack[0]!) } : e));
    const { samples, packets } = play(events);
    for (const s of samples) expect(s!.deliveryRateBytesPerSec).toBeLessThanOrEqual(100_000 + 1e-6);
    // The compression was real: for some packets the ACK interval alone would have doubled the rate.
    let sendBound = 0;
    for (let i = 0; i < 60; i++) {
      const p = packets[i]!;
      const snap = p.delivery!;
      if (ackTime(i) - snap.deliveredTimeMs < p.timeSentMs - snap.firstSentTimeMs) sendBound++;
    }
    expect(sendBound).toBeGreaterThan(0);
  });

  it('carries the application-limited flag of the sampled packet; packets without a snapshot are ignored', () => {
    const sampler = new DeliveryRateSampler();
    const a = { timeSentMs: 0, sizeBytes: 500, delivery: sampler.onPacketSent(0, 0, true) };
    const b = { timeSentMs: 5, sizeBytes: 500, delivery: sampler.onPacketSent(5, 500, false) };
    const first = sampler.onAck(50, [a]);
    expect(first?.appLimited).toBe(true);
    const second = sampler.onAck(55, [b, { timeSentMs: 6, sizeBytes: 9999 }]);
    expect(second?.appLimited).toBe(false);
    expect(sampler.deliveredBytes).toBe(1000); // the snapshot-less packet was not counted
    expect(second?.deliveredBytes).toBe(1000);
    expect(second?.deliveryRateBytesPerSec).toBeCloseTo(1000 / 0.055, 6); // ACK interval 55 ms
  });

  it('an empty interval gives no sample, and an ACK of nothing sampled gives none', () => {
    const sampler = new DeliveryRateSampler();
    const p = { timeSentMs: 10, sizeBytes: 1000, delivery: sampler.onPacketSent(10, 0, false) };
    expect(sampler.onAck(10, [p])).toBeUndefined(); // acknowledged the instant it left: interval 0
    expect(sampler.deliveredBytes).toBe(1000);
    expect(sampler.onAck(20, [])).toBeUndefined();
  });
});
