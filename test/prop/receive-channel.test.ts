import fc from 'fast-check';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { describe, expect, it } from 'vitest';
import { RangeSet } from '../../src/protocol/ack/range-set.ts';
import { ReceiveChannel, type WindowAdmission } from '../../src/protocol/channel/receive-channel.ts';
import type { ReceivedFragment } from '../../src/protocol/channel/receive-outcome.ts';

const channelId = 3;
const maxMessageBytes = 300;

/** Message bodies: mostly small, some empty, some larger than the tight windows below. */
const messagesArb = fc.array(fc.uint8Array({ maxLength: maxMessageBytes }), { maxLength: 10 });

function fragmentOf(messageId: number, data: Uint8Array, offset: number, end: number): ReceivedFragment {
  // A view into a larger "packet", as the wire decoder hands it over.
  const packet = new Uint8Array(end - offset + 8);
  packet.set(data.subarray(offset, end), 4);
  return {
    channelId,
    messageId,
    offset,
    totalLength: data.length,
    payload: packet.subarray(4, 4 + end - offset),
  };
}

/** Cuts `data` into fragments whose sizes cycle through `sizes` (one transmission, re-fragmented each time). */
function fragmentation(messageId: number, data: Uint8Array, sizes: number[]): ReceivedFragment[] {
  if (data.length === 0) return [fragmentOf(messageId, data, 0, 0)];
  const out: ReceivedFragment[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const end = Math.min(data.length, offset + sizes[i % sizes.length]!);
    out.push(fragmentOf(messageId, data, offset, end));
    offset = end;
  }
  return out;
}

/** Checks what the application polled: each message once, byte-identical, in id order when ordered. */
function expectDelivered(
  polled: { messageId: number; data: Uint8Array }[],
  messages: Uint8Array[],
  ordered: boolean,
) {
  const ids = polled.map((m) => m.messageId);
  if (ordered) expect(ids).toEqual(messages.map((_, id) => id));
  else expect([...ids].sort((a, b) => a - b)).toEqual(messages.map((_, id) => id));
  for (const { messageId, data } of polled) expect(data).toEqual(messages[messageId]);
}

function drainInto(ch: ReceiveChannel, polled: { messageId: number; data: Uint8Array }[]): void {
  for (let m = ch.pollMessage(); m !== undefined; m = ch.pollMessage()) polled.push(m);
}

/** Arrival schedules: every message fully transmitted 1–3 times, each time fragmented differently, plus
 * partial duplicates, all shuffled together, with application polls at random points. */
const scheduleArb = messagesArb.chain((messages) => {
  const sizes = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 });
  const perMessage = messages.map(() => fc.array(sizes, { minLength: 1, maxLength: 3 }));
  return fc.tuple(...perMessage).chain((transmissions) => {
    const fragments = transmissions.flatMap((cuts, id) =>
      cuts.flatMap((s) => fragmentation(id, messages[id]!, s)),
    );
    return fc.subarray(fragments).chain((extra) => {
      const all = [...fragments, ...extra];
      return fc.record({
        messages: fc.constant(messages),
        arrivals: fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
        pollAfter: fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
        ordered: fc.boolean(),
      });
    });
  });
});

describe('ReceiveChannel properties (spec §7)', () => {
  it('any fragmentation, order and duplication: each message delivered exactly once, intact, in order if ordered', () => {
    fc.assert(
      fc.property(scheduleArb, ({ messages, arrivals, pollAfter, ordered }) => {
        const ch = new ReceiveChannel({ channelId, ordered, maxMessageBytes, windowBytes: 1 << 20 });
        const polled: { messageId: number; data: Uint8Array }[] = [];
        arrivals.forEach((fragment, i) => {
          expect(ch.handleFragment(fragment).status).not.toBe('rejected');
          if (pollAfter[i]) drainInto(ch, polled);
        });
        drainInto(ch, polled);
        expectDelivered(polled, messages, ordered);
        expect(ch.delivered).toBe(messages.length);
        expect(ch.bufferedBytes).toBe(0);
        expect(ch.pendingAssemblies).toBe(0);
        expect(ch.consumedBytes).toBe(messages.reduce((sum, m) => sum + m.length, 0));
      }),
      { numRuns: 300 },
    );
  });
});

/** The sender's view of one message in the retransmission models below. */
interface SentMessage {
  data: Uint8Array;
  /** Byte ranges acknowledged (the fragment was taken as new or duplicate). */
  acked: RangeSet;
  /** For an empty message: acknowledged. */
  emptyAcked: boolean;
  /** Start of the message in the channel's byte stream (spec §8). */
  startByte: number;
}

function sentMessages(messages: Uint8Array[]): SentMessage[] {
  let startByte = 0;
  return messages.map((data) => {
    const m = { data, acked: new RangeSet(), emptyAcked: false, startByte };
    startByte += data.length;
    return m;
  });
}

function fullyAcked(m: SentMessage): boolean {
  return m.data.length === 0 ? m.emptyAcked : m.acked.count === m.data.length;
}

/** A retransmission of message `id`: mostly from an unacknowledged byte, random length (re-fragmented). */
function retransmission(rng: RandomGenerator, id: number, m: SentMessage): ReceivedFragment {
  const length = m.data.length;
  if (length === 0) return fragmentOf(id, m.data, 0, 0);
  let offset = uniformInt(rng, 0, length - 1);
  if (uniformInt(rng, 0, 4) > 0) {
    offset = m.acked.firstGapFrom(offset);
    if (offset >= length) offset = m.acked.firstGapFrom(0);
    if (offset >= length) offset = 0;
  }
  const end = Math.min(length, offset + uniformInt(rng, 1, 64));
  return fragmentOf(id, m.data, offset, end);
}

function recordAck(m: SentMessage, fragment: ReceivedFragment): void {
  if (m.data.length === 0) m.emptyAcked = true;
  else if (fragment.payload.length > 0)
    m.acked.addRange(fragment.offset, fragment.offset + fragment.payload.length - 1);
}

const maxSteps = 20_000;

describe('ReceiveChannel flow control properties (spec §8)', () => {
  it('a sender ignoring credit: memory stays bounded (window + one message by default), a polling app gets everything', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        messagesArb,
        fc.integer({ min: 1, max: 600 }),
        fc.boolean(),
        fc.constantFrom<WindowAdmission>('whole-message', 'message-start'),
        (seed, messages, windowBytes, ordered, admission) => {
          const rng = xoroshiro128plus(seed);
          const ch = new ReceiveChannel({ channelId, ordered, maxMessageBytes, windowBytes, admission });
          const memoryBoundBytes =
            admission === 'whole-message'
              ? windowBytes + maxMessageBytes
              : windowBytes + 2 * maxMessageBytes - 1;
          const sent = sentMessages(messages);
          const polled: { messageId: number; data: Uint8Array }[] = [];
          let steps = 0;
          while (polled.length < messages.length && steps++ < maxSteps) {
            if (uniformInt(rng, 0, 9) < 2) {
              const m = ch.pollMessage();
              if (m !== undefined) polled.push(m);
              continue;
            }
            // Mostly unacknowledged messages; sometimes a stale duplicate of any message.
            const pending = sent.flatMap((m, id) => (fullyAcked(m) ? [] : [id]));
            const pool = pending.length > 0 && uniformInt(rng, 0, 9) > 0 ? pending : sent.map((_, id) => id);
            if (pool.length === 0) continue;
            const id = pool[uniformInt(rng, 0, pool.length - 1)]!;
            const fragment = retransmission(rng, id, sent[id]!);
            const outcome = ch.handleFragment(fragment);
            if (outcome.status === 'rejected') expect(outcome.reason).toBe('beyond-window');
            else recordAck(sent[id]!, fragment);
            expect(ch.bufferedBytes).toBeLessThanOrEqual(memoryBoundBytes);
          }
          expectDelivered(polled, messages, ordered);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a sender following the credit rule is never dropped and never stalls (with the blocked signal)', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        messagesArb,
        fc.integer({ min: 1, max: 600 }),
        fc.boolean(),
        (seed, messages, windowBytes, ordered) => {
          const rng = xoroshiro128plus(seed);
          const ch = new ReceiveChannel({ channelId, ordered, maxMessageBytes, windowBytes });
          const sent = sentMessages(messages);
          const polled: { messageId: number; data: Uint8Array }[] = [];
          // MAX_CHANNEL_DATA frames in flight: delayed and reordered; the sender keeps the largest.
          const inFlight: number[] = [];
          let limit = windowBytes;
          // The sender rule of spec §8: fits the credit, or the head-of-line exemption.
          const sendable = (id: number) => {
            const m = sent[id]!;
            if (m.startByte + m.data.length <= limit) return true;
            return m.startByte <= limit - windowBytes && sent.slice(0, id).every(fullyAcked);
          };
          let steps = 0;
          while (polled.length < messages.length && steps++ < maxSteps) {
            const roll = uniformInt(rng, 0, 9);
            if (roll < 2) {
              const m = ch.pollMessage();
              if (m !== undefined) polled.push(m);
            } else if (roll < 4 && inFlight.length > 0) {
              const [update] = inFlight.splice(uniformInt(rng, 0, inFlight.length - 1), 1);
              limit = Math.max(limit, update!);
            } else {
              const unacked = sent.flatMap((m, id) => (fullyAcked(m) ? [] : [id]));
              const ready = unacked.filter(sendable);
              if (ready.length === 0) {
                if (unacked.length > 0) ch.handlePeerBlocked(limit);
              } else {
                const id = ready[uniformInt(rng, 0, ready.length - 1)]!;
                const fragment = retransmission(rng, id, sent[id]!);
                expect(ch.handleFragment(fragment).status).not.toBe('rejected');
                recordAck(sent[id]!, fragment);
              }
            }
            const update = ch.creditUpdate();
            if (update !== undefined) inFlight.push(update);
            expect(ch.bufferedBytes).toBeLessThanOrEqual(windowBytes + maxMessageBytes);
          }
          expect(ch.windowDrops).toBe(0);
          expectDelivered(polled, messages, ordered);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("'message-start' admission with a start-below-limit sender: no stall without a blocked signal, bounded memory, no drop when nothing is lost", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        messagesArb,
        fc.integer({ min: 1, max: 600 }),
        fc.boolean(),
        fc.boolean(),
        (seed, messages, windowBytes, ordered, lossy) => {
          const rng = xoroshiro128plus(seed);
          const ch = new ReceiveChannel({
            channelId,
            ordered,
            maxMessageBytes,
            windowBytes,
            admission: 'message-start',
          });
          const sent = sentMessages(messages);
          const polled: { messageId: number; data: Uint8Array }[] = [];
          const inFlight: number[] = [];
          let limit = windowBytes;
          // Messages [0, started) have been started; the next may start while its stream position is below the limit.
          let started = 0;
          let steps = 0;
          while (polled.length < messages.length && steps++ < maxSteps) {
            const roll = uniformInt(rng, 0, 9);
            let id: number | undefined;
            if (roll < 2) {
              const m = ch.pollMessage();
              if (m !== undefined) polled.push(m);
            } else if (roll < 4 && inFlight.length > 0) {
              const [update] = inFlight.splice(uniformInt(rng, 0, inFlight.length - 1), 1);
              limit = Math.max(limit, update!);
            } else if (started < sent.length && sent[started]!.startByte < limit && roll < 7) {
              id = started++;
            } else {
              const unacked = sent.slice(0, started).flatMap((m, i) => (fullyAcked(m) ? [] : [i]));
              if (unacked.length > 0) id = unacked[uniformInt(rng, 0, unacked.length - 1)];
            }
            if (id !== undefined && !(lossy && uniformInt(rng, 0, 9) < 3)) {
              const fragment = retransmission(rng, id, sent[id]!);
              const outcome = ch.handleFragment(fragment);
              if (outcome.status === 'rejected') expect(outcome.reason).toBe('beyond-window');
              else recordAck(sent[id]!, fragment);
            }
            const update = ch.creditUpdate();
            if (update !== undefined) inFlight.push(update);
            expect(ch.bufferedBytes).toBeLessThan(windowBytes + 2 * maxMessageBytes);
          }
          if (!lossy) expect(ch.windowDrops).toBe(0);
          expectDelivered(polled, messages, ordered);
        },
      ),
      { numRuns: 200 },
    );
  });
});
