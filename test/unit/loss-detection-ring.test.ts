import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LossDetection, type LossDetectionOptions } from '../../src/protocol/recovery/loss-detection.ts';
import type { SentPacket } from '../../src/protocol/recovery/sent-packet.ts';
import { SentPacketRing } from '../../src/protocol/recovery/sent-packet-ring.ts';
import { ReferenceLossDetection } from './loss-detection-reference.ts';

// The packet-number ring must not change what loss detection decides (spec §6): every operation sequence gives
// the same outcomes, counters and deadlines as the plain-array implementation it replaced.

type Op =
  | { op: 'send'; dtMs: number; skip: number; ackEliciting: boolean; sentEarlierMs: number }
  | { op: 'ack'; dtMs: number; below: number; segments: { gap: number; length: number }[]; delayMs: number }
  | { op: 'timer'; dtMs: number }
  | { op: 'detect'; dtMs: number };

const dt = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.double({ min: 0, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 60, noNaN: true }) },
);
const opArb = (backwards: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('send' as const),
        dtMs: dt,
        skip: fc.oneof(
          { weight: 9, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
        ),
        ackEliciting: fc.oneof(
          { weight: 5, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
        sentEarlierMs: backwards
          ? fc.oneof(
              { weight: 4, arbitrary: fc.constant(0) },
              { weight: 1, arbitrary: fc.double({ min: 0, max: 80, noNaN: true }) },
            )
          : fc.constant(0),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('ack' as const),
        dtMs: dt,
        below: fc.integer({ min: 0, max: 12 }),
        segments: fc.array(fc.record({ gap: fc.nat(6), length: fc.integer({ min: 1, max: 8 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        delayMs: fc.double({ min: 0, max: 50, noNaN: true }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('timer' as const), dtMs: dt }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('detect' as const), dtMs: dt }) },
  );

function sentPacket(packetNumber: number, timeSentMs: number, ackEliciting: boolean): SentPacket<number> {
  return {
    packetNumber,
    timeSentMs,
    sizeBytes: 1000 + (packetNumber % 7) * 30,
    ackEliciting,
    inFlight: ackEliciting,
    appLimited: false,
    largestAckedInPacket: undefined,
    frames: [packetNumber],
    declaredLost: false,
    lostByReorderDistance: 0,
  };
}

/** Descending, disjoint, non-adjacent ranges below `largest` (as the ACK frame decoder guarantees). */
function rangesOf(largest: number, segments: readonly { gap: number; length: number }[]) {
  const ranges: { smallest: number; largest: number }[] = [];
  let top = largest;
  for (const s of segments) {
    if (top < 0) break;
    const smallest = Math.max(0, top - s.length + 1);
    ranges.push({ smallest, largest: top });
    top = smallest - 2 - s.gap;
  }
  return ranges;
}

const describePackets = (packets: readonly SentPacket<number>[]) =>
  packets.map((p) => [p.packetNumber, p.lostByReorderDistance, p.lostBelowAckFrame ?? false]);

function stateOf(loss: LossDetection<number> | ReferenceLossDetection<number>) {
  return {
    bytesInFlight: loss.bytesInFlight,
    ackElicitingInFlight: loss.ackElicitingInFlight,
    trackedPackets: loss.trackedPackets,
    deadline: loss.timerDeadlineMs(),
    lossTimer: loss.isLossTimerArmed(),
    packetThreshold: loss.packetThreshold,
    reorderingSeen: loss.reorderingSeen,
    largestAcked: loss.largestAcked,
    stats: { ...loss.stats },
    rtt: loss.ccRtt(),
    unacked: [...loss.unacked()].map((p) => p.packetNumber),
  };
}

/** Runs `ops` on both implementations, comparing every result and the state after every step. */
function runBoth(options: LossDetectionOptions, ops: readonly Op[]): void {
  const ring = new LossDetection<number>(options);
  const reference = new ReferenceLossDetection<number>(options);
  let nowMs = 0;
  let nextPn = 0;
  for (const op of ops) {
    nowMs += op.dtMs;
    if (op.op === 'send') {
      nextPn += op.skip;
      const sentMs = Math.max(0, nowMs - op.sentEarlierMs);
      ring.onPacketSent(sentPacket(nextPn, sentMs, op.ackEliciting));
      reference.onPacketSent(sentPacket(nextPn, sentMs, op.ackEliciting));
      nextPn++;
    } else if (op.op === 'ack') {
      const largest = nextPn - 1 - op.below;
      if (largest < 0) continue;
      const ranges = rangesOf(largest, op.segments);
      const a = ring.onAckReceived(nowMs, ranges, op.delayMs);
      const b = reference.onAckReceived(nowMs, ranges, op.delayMs);
      expect(describePackets(a.acked)).toEqual(describePackets(b.acked));
      expect(describePackets(a.lost)).toEqual(describePackets(b.lost));
      expect(ring.isPersistentCongestion(a.lost)).toBe(reference.isPersistentCongestion(b.lost));
      expect(describePackets(a.spurious)).toEqual(describePackets(b.spurious));
      expect(a.rttSampled).toBe(b.rttSampled);
    } else if (op.op === 'timer') {
      const deadline = reference.timerDeadlineMs();
      if (deadline === undefined || nowMs < deadline) continue;
      if (reference.isLossTimerArmed()) {
        expect(describePackets(ring.detectLosses(nowMs))).toEqual(
          describePackets(reference.detectLosses(nowMs)),
        );
      } else {
        ring.onPtoFired();
        reference.onPtoFired();
      }
    } else {
      expect(describePackets(ring.detectLosses(nowMs))).toEqual(
        describePackets(reference.detectLosses(nowMs)),
      );
    }
    expect(stateOf(ring)).toEqual(stateOf(reference));
  }
  expect(ring.drain().map((p) => p.packetNumber)).toEqual(reference.drain().map((p) => p.packetNumber));
  expect(stateOf(ring)).toEqual(stateOf(reference));
}

const optionsArb: fc.Arbitrary<LossDetectionOptions> = fc.record({
  initialRttMs: fc.constantFrom(1, 50, 200),
  granularityMs: fc.constant(1),
  peerMaxAckDelayMs: fc.constantFrom(0, 25),
  packetThreshold: fc.integer({ min: 1, max: 5 }),
  maxPacketThreshold: fc.constantFrom(5, 64),
  maxPtoBackoff: fc.constant(6),
  maxPtoMs: fc.constant(4000),
  truncatedAckRanges: fc.constantFrom(undefined, 2, 4),
});

describe('LossDetection over a packet-number ring', () => {
  it('decides exactly as the full-scan reference, send times ordered', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(opArb(false), { maxLength: 300, size: 'max' }), (options, ops) =>
        runBoth(options, ops),
      ),
      { numRuns: 300 },
    );
  });

  it('decides exactly as the full-scan reference when a send time goes backwards (full-scan fallback)', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(opArb(true), { maxLength: 200, size: 'max' }), (options, ops) =>
        runBoth(options, ops),
      ),
      { numRuns: 150 },
    );
  });

  it('an ACK of one new packet touches one slot: 100k packets acknowledged one by one stay cheap', () => {
    // Work-count check rather than timing: tracked packets stay at the window, the ring does not keep history.
    const loss = new LossDetection<number>({
      initialRttMs: 1,
      granularityMs: 1,
      peerMaxAckDelayMs: 0,
      packetThreshold: 3,
      maxPacketThreshold: 64,
      maxPtoBackoff: 6,
      maxPtoMs: 4000,
    });
    const window = 64;
    for (let pn = 0; pn < 100_000; pn++) {
      loss.onPacketSent(sentPacket(pn, pn * 0.01, true));
      if (pn >= window) loss.onAckReceived(pn * 0.01, [{ smallest: pn - window, largest: pn - window }], 0);
    }
    expect(loss.trackedPackets).toBe(window);
    expect(loss.stats.lostPackets).toBe(0);
  });
});

describe('SentPacketRing', () => {
  it('behaves as a map from packet number to packet, oldest number tracking the smallest held', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('push' as const), skip: fc.oneof(fc.constant(0), fc.nat(40)) }),
      fc.record({ op: fc.constant('remove' as const), back: fc.nat(80) }),
      fc.record({ op: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200, size: 'max' }), (steps) => {
        const ring = new SentPacketRing<{ packetNumber: number }>();
        const model = new Map<number, { packetNumber: number }>();
        let next = 0;
        const seen: unknown[] = [];
        const expected: unknown[] = [];
        for (const s of steps) {
          if (s.op === 'push') {
            next += s.skip;
            const p = { packetNumber: next++ };
            ring.push(p);
            model.set(p.packetNumber, p);
          } else if (s.op === 'remove') {
            ring.remove(next - 1 - s.back);
            model.delete(next - 1 - s.back);
          } else if (s.op === 'clear') {
            ring.clear();
            model.clear();
          }
          seen.push(ring.size, model.size > 0 ? ring.oldestPacketNumber : -1);
          expected.push(model.size, model.size > 0 ? Math.min(...model.keys()) : -1);
          for (let pn = Math.max(0, next - 90); pn < next + 2; pn++) {
            if (ring.get(pn) !== model.get(pn)) throw new Error(`get(${pn}) differs`);
          }
        }
        expect(seen).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('ignores a packet number below one already pushed', () => {
    const ring = new SentPacketRing<{ packetNumber: number }>();
    ring.push({ packetNumber: 5 });
    ring.push({ packetNumber: 3 });
    expect([ring.size, ring.get(3), ring.oldestPacketNumber]).toEqual([1, undefined, 5]);
  });
});
