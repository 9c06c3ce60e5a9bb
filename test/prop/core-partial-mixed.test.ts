import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FerryPair } from '../../src/harness/ferry-pair.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import { lossyLinkArb } from './link-arbitrary.ts';

// Issue 6: media and a reliable IM channel share one connection. Over any link with 0–50 % loss, jitter,
// reordering and duplication, with a reliable-ordered, a deadline and an unreliable channel from the client:
// - every reliable message arrives exactly once, intact and in order (R-CHAN-9);
// - every partially reliable message arrives at most once, intact (R-PR-6), and the sender settles each one
//   exactly once: one `delivered` receipt or one `expired` event, never both (R-CHAN-7, R-PR-2);
// - a deadline message the receiver never got is expired at the sender, and reported skipped at the receiver;
// - the run ends: nothing stays buffered at the sender after the last deadline.

const im = makeChannelId(0, 'client', ChannelMode.reliableOrdered);
const media = makeChannelId(1, 'client', ChannelMode.deadline);
const datagram = makeChannelId(2, 'client', ChannelMode.unreliable);
const channels = [im, media, datagram] as const;

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  forward: lossyLinkArb({ maxDelayMs: 120, maxJitterMs: 40, bottleneck: true }),
  reverse: lossyLinkArb({ maxDelayMs: 120, maxJitterMs: 40, bottleneck: true }),
  deadlineMs: fc.integer({ min: 0, max: 600 }),
  messages: fc.array(
    fc.record({
      channel: fc.nat({ max: 2 }),
      sizeBytes: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 201, max: 6000 })),
      atMs: fc.integer({ min: 0, max: 2000 }),
    }),
    { minLength: 1, maxLength: 80 },
  ),
});

function payload(index: number, sizeBytes: number): Uint8Array {
  const data = new Uint8Array(sizeBytes);
  let x = (index + 1) * 2654435761;
  for (let i = 0; i < sizeBytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

describe('reliable and partially reliable channels on one connection (issue 6)', () => {
  it('IM stays exactly-once in order; media messages arrive at most once and are settled exactly once', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const sent = new Map<string, Uint8Array>();
        const imOrder: number[] = [];
        const received = new Map<string, number>();
        const imReceived: number[] = [];
        const settled = new Map<string, string[]>();
        let skipped = 0;
        const corrupt: string[] = [];
        const pair = new FerryPair({
          seed: c.seed,
          forward: c.forward,
          reverse: c.reverse,
          onMessage: (side, _now, m) => {
            if (side !== 'server') return;
            const key = `${m.channelId}:${m.messageId}`;
            received.set(key, (received.get(key) ?? 0) + 1);
            const want = sent.get(key);
            if (!want || Buffer.compare(Buffer.from(want), Buffer.from(m.data)) !== 0) corrupt.push(key);
            if (m.channelId === im) imReceived.push(m.messageId);
          },
          onEvent: (side, _now, e) => {
            if (side === 'client' && (e.type === 'delivered' || e.type === 'expired')) {
              const key = `${e.channelId}:${e.messageId}`;
              settled.set(key, [...(settled.get(key) ?? []), e.type]);
            }
            if (side === 'server' && e.type === 'skipped') skipped += e.count;
          },
        });
        pair.client.configureChannel(media, { deadlineMs: c.deadlineMs });
        c.messages.forEach((m, index) => {
          pair.at(m.atMs, (now) => {
            const channelId = channels[m.channel]!;
            const data = payload(index, m.sizeBytes);
            const id = pair.client.send(now, channelId, data);
            sent.set(`${channelId}:${id}`, data);
            if (channelId === im) imOrder.push(id);
          });
        });
        const total = c.messages.length;
        const result = pair.sim.run({ untilMs: 10 * 60_000, stopWhen: () => settled.size >= total });
        pair.sim.run({ untilMs: result.nowMs + 2000 });

        expect(result.reason, 'every message settled at the sender').toBe('stopped');
        expect(corrupt).toEqual([]);
        expect(imReceived, 'IM exactly once, in order').toEqual(imOrder);
        for (const [key, count] of received) expect(count, `${key} received once`).toBe(1);
        for (const [key, events] of settled) expect(events, `${key} settled once`).toHaveLength(1);
        for (const key of sent.keys()) {
          const outcome = settled.get(key)?.[0];
          if (key.startsWith(`${im}:`)) expect(outcome, key).toBe('delivered');
          if (outcome === 'delivered') expect(received.get(key), `${key} receipt means received`).toBe(1);
        }
        const mediaLost = [...sent.keys()].filter((k) => !k.startsWith(`${im}:`) && !received.has(k)).length;
        expect(skipped, 'receiver told of every lost message at most').toBeLessThanOrEqual(mediaLost);
        expect(pair.client.sendBufferedBytesTotal).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});
