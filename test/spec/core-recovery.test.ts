import { describe, expect, it } from 'vitest';
import { OutgoingMessage } from '../../src/protocol/channel/outgoing-message.ts';
import { defaultConnectionConfig } from '../../src/protocol/connection-config.ts';
import { LossDetection } from '../../src/protocol/recovery/loss-detection.ts';
import { RedundancyPlanner } from '../../src/protocol/recovery/redundancy.ts';
import { RttEstimator } from '../../src/protocol/recovery/rtt-estimator.ts';
import type { SentPacket } from '../../src/protocol/recovery/sent-packet.ts';
import { framesOf, HandPair } from './core-harness.ts';

// spec.md §6 (RTT estimation and loss recovery): one test per requirement id (design.md rule 10).

const lossOptions = {
  initialRttMs: 200,
  granularityMs: 1,
  peerMaxAckDelayMs: 20,
  packetThreshold: 3,
  maxPacketThreshold: 64,
  maxPtoBackoff: 6,
  maxPtoMs: 4000,
};

function packet(packetNumber: number, timeSentMs: number, ackEliciting = true): SentPacket<number> {
  return {
    packetNumber,
    timeSentMs,
    sizeBytes: 1200,
    ackEliciting,
    inFlight: ackEliciting,
    appLimited: false,
    largestAckedInPacket: undefined,
    frames: [packetNumber],
    declaredLost: false,
    lostByReorderDistance: 0,
  };
}

const range = (smallest: number, largest = smallest) => ({ smallest, largest });
const numbers = (packets: readonly SentPacket<number>[]) => packets.map((p) => p.packetNumber);

/** Loss detection that has seen reordering: packet 0 declared lost by time, then acknowledged (spurious). */
function afterSpuriousLoss(): LossDetection<number> {
  const loss = new LossDetection<number>(lossOptions);
  loss.onPacketSent(packet(0, 0));
  loss.onPacketSent(packet(1, 1));
  expect(numbers(loss.onAckReceived(101, [range(1)], 0).lost)).toEqual([0]);
  expect(numbers(loss.onAckReceived(102, [range(0, 1)], 0).spurious)).toEqual([0]);
  return loss;
}

/** A small first-sent fragment as the connection tracks it. */
function smallFragment(sentAtMs: number, bytes = 100) {
  const fragment = new OutgoingMessage(0, 0, new Uint8Array(bytes), 1134, sentAtMs).fragments[0]!;
  fragment.lastSentMs = sentAtMs;
  return fragment;
}

describe('spec §6 RTT estimation and loss recovery', () => {
  it('R-RTT-1: RFC 9002 §5 estimator; a sample needs a newly acknowledged largest and an ack-eliciting packet', () => {
    const rtt = new RttEstimator(200);
    expect([rtt.smoothedRttMs, rtt.rttVarMs, rtt.minRttMs]).toEqual([200, 100, Number.POSITIVE_INFINITY]);
    rtt.update(100, 0);
    expect([rtt.smoothedRttMs, rtt.rttVarMs, rtt.minRttMs]).toEqual([100, 50, 100]);
    rtt.update(60, 0);
    expect([rtt.smoothedRttMs, rtt.rttVarMs, rtt.minRttMs, rtt.latestRttMs]).toEqual([95, 47.5, 60, 60]);
    const loss = new LossDetection<number>(lossOptions);
    loss.onPacketSent(packet(0, 0));
    loss.onPacketSent(packet(1, 10, false));
    expect(loss.onAckReceived(100, [range(1)], 0).rttSampled).toBe(false); // largest not ack-eliciting
    expect(loss.onAckReceived(150, [range(0, 1)], 0).rttSampled).toBe(false); // largest not newly acked
    expect(loss.rtt.hasSample).toBe(false);
  });

  it('R-RTT-2: the ACK delay is capped at the max ACK delay and never takes a sample below min RTT', () => {
    const rtt = new RttEstimator(200);
    rtt.update(100, 0);
    rtt.update(130, 20); // adjusted to 110
    expect(rtt.smoothedRttMs).toBe(101.25);
    rtt.update(110, 20); // 110 − 20 < min RTT 100: unadjusted
    expect(rtt.smoothedRttMs).toBeCloseTo(101.25 * 0.875 + 110 * 0.125, 10);
    const loss = new LossDetection<number>(lossOptions);
    loss.onPacketSent(packet(0, 0));
    loss.onPacketSent(packet(1, 0));
    loss.onAckReceived(100, [range(0)], 0);
    loss.onAckReceived(200, [range(0, 1)], 50); // 50 ms reported, capped at 20
    expect(loss.rtt.smoothedRttMs).toBe(0.875 * 100 + 0.125 * 180);
  });

  it('R-LOSS-1: lost frames go out again in new packets; packet numbers increase by one and are never reused', () => {
    const pair = new HandPair({
      config: { redundancyMaxFragmentBytes: 0 },
      drop: (d) => d.from === 'client' && d.index < 2,
    });
    pair.act((now) => {
      pair.client.send(now, 0, Uint8Array.of(1));
      pair.client.send(now, 8, Uint8Array.of(2));
    });
    pair.runUntil(100);
    pair.act((now) => pair.client.send(now, 16, Uint8Array.of(3)));
    pair.runUntil(3000);
    expect(pair.messages.server.map((m) => m.data[0]).sort()).toEqual([1, 2, 3]);
    const sent = pair.sentBy('client').map((d) => framesOf(d.bytes));
    expect(sent.map((p) => p.packetNumber)).toEqual(sent.map((_, i) => i));
    const carrying = sent.filter((p) => p.frames.some((f) => f.type === 'message' && f.channelId === 0));
    expect(carrying.length).toBeGreaterThan(1);
    expect(pair.client.stats.lostPackets).toBeGreaterThan(0);
  });

  it('R-LOSS-2: a packet is lost once a packet `packetThreshold` (initially 3) numbers newer is acknowledged', () => {
    const loss = afterSpuriousLoss(); // reordering seen: the time threshold no longer fires at once
    for (let pn = 2; pn <= 6; pn++) loss.onPacketSent(packet(pn, 198 + pn));
    const outcome = loss.onAckReceived(300, [range(5)], 0);
    expect(numbers(outcome.lost)).toEqual([2]);
    expect(outcome.lost[0]!.lostByReorderDistance).toBe(3);
  });

  it('R-LOSS-3: time threshold = latest RTT + reordering window, zero until reordering is seen', () => {
    const fresh = new LossDetection<number>(lossOptions);
    fresh.onPacketSent(packet(0, 0));
    fresh.onPacketSent(packet(1, 1));
    expect(numbers(fresh.onAckReceived(101, [range(1)], 0).lost)).toEqual([0]); // lost at once
    const loss = afterSpuriousLoss();
    expect(loss.reorderingSeen).toBe(true);
    for (let pn = 2; pn <= 6; pn++) loss.onPacketSent(packet(pn, 198 + pn));
    loss.onAckReceived(300, [range(5)], 0); // latest RTT 97, window min(97 / 4 × 2, srtt) = 48.5
    expect(loss.timerDeadlineMs()).toBe(201 + 97 + 48.5);
    expect(numbers(loss.detectLosses(346))).toEqual([]);
    expect(numbers(loss.detectLosses(346.5))).toEqual([3]);
  });

  it('R-LOSS-4: a spurious loss widens the reordering window and raises the packet threshold past its distance', () => {
    const loss = afterSpuriousLoss();
    for (let pn = 2; pn <= 6; pn++) loss.onPacketSent(packet(pn, 198 + pn));
    loss.onAckReceived(300, [range(5)], 0); // 2 lost at distance 3
    expect(loss.packetThreshold).toBe(3);
    loss.onAckReceived(301, [range(5), range(2)], 0); // 2 arrives after all
    expect(loss.packetThreshold).toBe(4);
    loss.onPacketSent(packet(7, 310));
    loss.onPacketSent(packet(8, 311));
    // Latest RTT 89 (also the new min), window min(89 / 4 × 3, srtt): 3 and 4 lost by count (≥ 4), 7 waits.
    const outcome = loss.onAckReceived(400, [range(8), range(5), range(2)], 0);
    expect(numbers(outcome.lost)).toEqual([3, 4, 6]);
    expect(outcome.lost.map((p) => p.lostByReorderDistance)).toEqual([5, 4, 0]);
    expect(loss.timerDeadlineMs()).toBe(310 + 89 + (89 / 4) * 3);
  });

  it('R-LOSS-4: after 16 losses with no spurious one the window multiplier and packet threshold fall back', () => {
    const loss = afterSpuriousLoss();
    for (let pn = 2; pn <= 6; pn++) loss.onPacketSent(packet(pn, 198 + pn));
    loss.onAckReceived(300, [range(5)], 0);
    loss.onAckReceived(301, [range(5), range(2)], 0); // 2 was spurious at distance 3: threshold 4
    expect(loss.packetThreshold).toBe(4);
    // 3, 4 and 6 go lost below; then a run of genuine losses, never acknowledged afterwards.
    let pn = 7;
    let declared = 0;
    let at = 400;
    while (declared < 16) {
      for (let i = 0; i < 6; i++) loss.onPacketSent(packet(pn + i, at + i));
      const ackAt = at + 100;
      declared += loss.onAckReceived(ackAt, [range(pn + 5)], 0).lost.length;
      declared += loss.detectLosses(ackAt + 200).length;
      pn += 6;
      at = ackAt + 300;
      if (declared < 16) expect(loss.packetThreshold).toBe(4);
    }
    expect(loss.packetThreshold).toBe(3);
  });

  it('R-LOSS-5: PTO = srtt + max(4 rttvar, 1 ms) + max ACK delay, doubled per expiry, capped', () => {
    const loss = new LossDetection<number>(lossOptions);
    expect(loss.timerDeadlineMs()).toBeUndefined(); // nothing ack-eliciting in flight
    loss.onPacketSent(packet(0, 10));
    const intervals: number[] = [];
    for (let i = 0; i < 5; i++) {
      intervals.push(loss.ptoIntervalMs());
      loss.onPtoFired();
    }
    expect(intervals).toEqual([620, 1240, 2480, 4000, 4000]);
    expect(loss.timerDeadlineMs()).toBe(10 + 4000);
    const uncapped = new LossDetection<number>({ ...lossOptions, maxPtoMs: 1e9 });
    for (let i = 0; i < 9; i++) uncapped.onPtoFired();
    expect(uncapped.ptoIntervalMs()).toBe(620 * 64); // exponent capped at maxPtoBackoff 6
    loss.onAckReceived(5000, [range(0)], 0);
    expect(loss.ptoCount).toBe(0);
  });

  it('R-LOSS-6: a PTO sends two probes past the window: new data if any, else the oldest unacked data', () => {
    const config = { redundancyMaxFragmentBytes: 0, congestionControl: 'newreno' as const };
    const blocked = new HandPair({ config, drop: (d) => d.from === 'client' });
    blocked.act((now) => blocked.client.send(now, 0, new Uint8Array(30_000)));
    blocked.runUntil(300);
    const { bytesInFlight, congestionWindowBytes } = blocked.client.congestion;
    expect(bytesInFlight).toBeGreaterThanOrEqual(congestionWindowBytes);
    const lastSentMs = blocked.sentBy('client').at(-1)!.sentAtMs;
    const before = blocked.sentBy('client').length;
    blocked.runUntil(lastSentMs + 620);
    const probes = blocked.sentBy('client').slice(before);
    expect(probes.map((d) => d.sentAtMs)).toEqual([lastSentMs + 620, lastSentMs + 620]);
    expect(blocked.client.stats.probePackets).toBe(2);
    expect(blocked.client.stats.lostPackets).toBe(0);
    const idle = new HandPair({ config, drop: (d) => d.from === 'client' });
    idle.act((now) => idle.client.send(now, 0, new Uint8Array(3000))); // all sent at once
    idle.runUntil(620);
    const sent = idle.sentBy('client');
    expect(sent.map((d) => d.sentAtMs)).toEqual([0, 0, 0, 620, 620]);
    for (const probe of sent.slice(3)) {
      const frame = framesOf(probe.bytes).frames.find((f) => f.type === 'message');
      expect(frame?.type === 'message' && frame.offset).toBe(0); // the oldest unacknowledged fragment
    }
    expect(idle.client.stats.lostPackets).toBe(0);
  });

  it('R-LOSS-7: an acknowledgement of a packet declared lost reports a spurious loss', () => {
    const loss = new LossDetection<number>(lossOptions);
    loss.onPacketSent(packet(0, 0));
    loss.onPacketSent(packet(1, 1));
    loss.onAckReceived(101, [range(1)], 0);
    const outcome = loss.onAckReceived(102, [range(0, 1)], 0);
    expect(numbers(outcome.spurious)).toEqual([0]);
    expect(numbers(outcome.acked)).toEqual([0]);
    expect(loss.bytesInFlight).toBe(0); // counted out once, at the loss
  });

  it('R-LOSS-8: small fragments get extra copies from the measured loss rate, until acked or one RTT old', () => {
    const planner = new RedundancyPlanner({ ...defaultConnectionConfig, redundancyMaxFragmentBytes: 256 });
    expect(planner.targetExtraCopies()).toBe(1); // initial estimate 10%: 2 copies lose both with 1%
    planner.onPacketLost();
    expect(planner.lossEstimate).toBeCloseTo(0.1 + 0.9 / 32, 12);
    planner.lossEstimate = 0.3;
    expect(planner.targetExtraCopies()).toBe(3);
    planner.lossEstimate = 0.01;
    expect(planner.targetExtraCopies()).toBe(0);
    planner.lossEstimate = 0.3;
    const small = smallFragment(0);
    const large = smallFragment(0, 257); // above redundancyMaxFragmentBytes: never copied
    planner.onFirstSent(small);
    planner.onFirstSent(large);
    expect([...planner.candidates(1, 100)]).toEqual([]); // copies at least 2 ms apart
    expect([...planner.candidates(2, 100)]).toEqual([small]);
    expect([...planner.candidates(101, 100)]).toEqual([]); // older than one smoothed RTT
    small.acked = true;
    expect([...planner.candidates(50, 100)]).toEqual([]);
  });

  it('R-LOSS-9: a small fragment unacknowledged one thin-stream RTO after its last real send is retransmitted', () => {
    const planner = new RedundancyPlanner(defaultConnectionConfig);
    const fragment = smallFragment(10);
    planner.onFirstSent(fragment);
    fragment.lastSentMs = 50; // a redundant copy does not move the deadline
    planner.onCopySent(fragment);
    expect(planner.nextDeadlineMs(420)).toBe(430);
    expect(planner.overdue(429, 420)).toEqual([]);
    expect(planner.overdue(430, 420)).toEqual([fragment]);
    // In a connection: RTO = srtt + max(2 rttvar, 1) + max ACK delay = 420 ms before any sample, before the PTO.
    const pair = new HandPair({ drop: (d) => d.from === 'client' });
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(7)));
    pair.runUntil(600);
    const times = pair.sentBy('client').map((d) => d.sentAtMs);
    expect(times).toEqual([0, 5, 420, 425]); // first send, copy (R-LOSS-11), retransmission, its copy
    expect(pair.client.stats.probePackets).toBe(0);
  });

  it('R-LOSS-10: persistent congestion: lost ack-eliciting packets spanning 3 PTOs, after an RTT sample', () => {
    const loss = new LossDetection<number>(lossOptions);
    const span = [packet(0, 0), packet(1, 960)];
    expect(loss.isPersistentCongestion(span)).toBe(false); // no RTT sample yet
    loss.rtt.update(100, 0); // PTO base 100 + 200 + 20 = 320
    expect(loss.isPersistentCongestion(span)).toBe(true);
    expect(loss.isPersistentCongestion([packet(0, 0), packet(1, 959)])).toBe(false);
    expect(loss.isPersistentCongestion([packet(0, 0), packet(1, 960, false)])).toBe(false);
  });

  it('R-LOSS-10: an acknowledged packet between two losses restarts the persistent-congestion period', () => {
    const loss = new LossDetection<number>(lossOptions);
    const sent = [packet(0, 0), packet(1, 500), packet(2, 960), packet(3, 961)];
    for (const p of sent) loss.onPacketSent(p);
    loss.rtt.update(100, 0); // PTO base 320: 3 PTOs = 960 ms
    expect(loss.isPersistentCongestion([sent[0]!, sent[2]!])).toBe(true); // 1 still outstanding: unbroken
    loss.onAckReceived(1000, [{ smallest: 1, largest: 1 }], 0);
    expect(loss.isPersistentCongestion([sent[0]!, sent[2]!])).toBe(false); // 1 was acknowledged in between
  });

  it('R-LOSS-11: the first copy of a fresh small fragment goes out in its own packet after the copy delay', () => {
    const planner = new RedundancyPlanner(defaultConnectionConfig);
    const fragment = smallFragment(10);
    planner.onFirstSent(fragment);
    expect(planner.copyDueMs(10, 200, 5)).toBe(15);
    const pair = new HandPair({ drop: (d) => d.from === 'client' && d.index === 0 });
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(42)));
    pair.runUntil(200);
    const copy = pair.sentBy('client')[1]!;
    expect(copy.sentAtMs).toBe(5); // min(5 ms, srtt / 8)
    expect(framesOf(copy.bytes).frames.map((f) => f.type)).toEqual(['message']);
    expect(pair.messages.server.map((m) => m.data[0])).toEqual([42]);
    expect(pair.client.stats.redundantCopies).toBe(1);
  });

  it('R-LOSS-12: copied bytes stay within redundancyBudgetRatio × first-sent payload bytes', () => {
    const planner = new RedundancyPlanner({ ...defaultConnectionConfig, redundancyBudgetRatio: 3 });
    planner.lossEstimate = 0.3;
    const fragment = smallFragment(0, 100);
    planner.onFirstSent(fragment);
    for (let i = 0; i < 3; i++) planner.onCopySent(fragment); // 300 bytes: at the budget
    fragment.copies = 0;
    expect([...planner.candidates(10, 100)]).toEqual([fragment]);
    planner.onCopySent(fragment); // 400 > 3 × 100
    fragment.copies = 0;
    expect([...planner.candidates(10, 100)]).toEqual([]);
    expect(planner.copyDueMs(10, 100, 5)).toBeUndefined();
  });
});
