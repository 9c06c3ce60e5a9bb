import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fecPairStats } from '../../src/fec/fec-pair-stats.ts';
import type { FecOptions } from '../../src/fec/fec-session.ts';
import { FerryPair, type Side } from '../../src/harness/ferry-pair.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import type { LinkProfile } from '../../src/sim/link.ts';
import { lossyLinkArb } from '../prop/link-arbitrary.ts';

// Issue 5 "Prove it": with FEC on (R-FEC-6), every reliability property of the core still holds — the approach of
// test/prop/core-exactly-once.test.ts with fewer runs: over random lossy, jittery, reordering, duplicating links
// every reliable message arrives exactly once with its bytes, in order on ordered channels, each sender gets one
// `delivered` receipt per message, nothing closes, the run completes, and the FEC decoders stay within bounds.

const capMs = 10 * 60_000;
const settleMs = 2_000;

const linkArb = lossyLinkArb({ maxDelayMs: 120, maxJitterMs: 40, bottleneck: true });

const sizeArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: 301, max: 3000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 3001, max: 20_000 }) },
);

const sideArb = fc.record({
  ordered: fc.array(fc.boolean(), { minLength: 1, maxLength: 2 }),
  messages: fc.array(
    fc.record({ channel: fc.nat({ max: 1 }), sizeBytes: sizeArb, atMs: fc.integer({ min: 0, max: 2000 }) }),
    { minLength: 1, maxLength: 40 },
  ),
});

/** FEC settings: the defaults, or any block size, delay and class (peers may differ: R-FEC-12 in-band ratio). */
const fecArb: fc.Arbitrary<FecOptions> = fc.oneof(
  fc.constant({}),
  fc.record({
    maxBlockSources: fc.integer({ min: 1, max: 40 }),
    maxBlockDelayMs: fc.integer({ min: 0, max: 60 }),
    fecClass: fc.constantFrom('interactive' as const, 'media' as const, 'bulk' as const),
    protectAckOnly: fc.boolean(),
  }),
);

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  forward: linkArb,
  reverse: linkArb,
  fec: fecArb,
  client: sideArb,
  server: sideArb,
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const keyOf = (channelId: number, messageId: number): string => `${channelId}:${messageId}`;
const other = (side: Side): Side => (side === 'client' ? 'server' : 'client');

function payload(side: Side, index: number, sizeBytes: number): Uint8Array {
  const data = new Uint8Array(sizeBytes);
  let x = (index + 1) * 2654435761 + (side === 'client' ? 17 : 71);
  for (let i = 0; i < sizeBytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

function checkCase(c: Case): void {
  const sent: Record<Side, Map<string, Uint8Array>> = { client: new Map(), server: new Map() };
  const sentOrder: Record<Side, Map<number, number[]>> = { client: new Map(), server: new Map() };
  const received: Record<Side, Map<string, Uint8Array[]>> = { client: new Map(), server: new Map() };
  const receivedOrder: Record<Side, Map<number, number[]>> = { client: new Map(), server: new Map() };
  const receipts: Record<Side, Map<string, number>> = { client: new Map(), server: new Map() };
  const closed: string[] = [];
  const expected = c.client.messages.length + c.server.messages.length;
  let receivedCount = 0;
  let receiptCount = 0;
  let maxHeldBytes = 0;

  const pair: FerryPair = new FerryPair({
    seed: c.seed,
    forward: c.forward,
    reverse: c.reverse,
    fec: c.fec,
    onMessage: (side, _nowMs, message) => {
      const key = keyOf(message.channelId, message.messageId);
      received[side].set(key, [...(received[side].get(key) ?? []), message.data]);
      const order = receivedOrder[side].get(message.channelId) ?? [];
      order.push(message.messageId);
      receivedOrder[side].set(message.channelId, order);
      receivedCount++;
    },
    onEvent: (side, nowMs, event) => {
      if (event.type === 'delivered') {
        const key = keyOf(event.channelId, event.messageId);
        receipts[side].set(key, (receipts[side].get(key) ?? 0) + 1);
        receiptCount++;
      } else if (event.type === 'closed') {
        closed.push(`${side} closed at ${nowMs} ms: ${event.initiator} ${event.code} ${event.reason}`);
      }
    },
  });
  for (const side of ['client', 'server'] as const) {
    const ids = c[side].ordered.map((o, i) =>
      makeChannelId(i, side, o ? ChannelMode.reliableOrdered : ChannelMode.reliableUnordered),
    );
    c[side].messages.forEach((m, index) => {
      const channelId = ids[m.channel % ids.length]!;
      const data = payload(side, index, m.sizeBytes);
      const attempt = (nowMs: number): void => {
        const connection = pair.connection(side);
        if (!connection) {
          pair.at(nowMs + 20, attempt);
          return;
        }
        const messageId = connection.send(nowMs, channelId, data);
        sent[side].set(keyOf(channelId, messageId), data);
        const order = sentOrder[side].get(channelId) ?? [];
        order.push(messageId);
        sentOrder[side].set(channelId, order);
      };
      pair.at(m.atMs, attempt);
    });
  }
  const sampler = (nowMs: number): void => {
    for (const side of ['client', 'server'] as const) {
      const connection = pair.connection(side);
      const session = connection && pair.fec?.[side].session(connection);
      if (session) maxHeldBytes = Math.max(maxHeldBytes, session.held.bytes);
    }
    pair.sim.schedule(nowMs + 50, sampler);
  };
  pair.sim.schedule(0, sampler);

  const result = pair.sim.run({
    untilMs: capMs,
    stopWhen: () => receivedCount >= expected && receiptCount >= expected,
  });
  if (result.reason === 'stopped') pair.sim.run({ untilMs: result.nowMs + settleMs });

  expect(closed, 'no connection may close').toEqual([]);
  expect(result.reason, 'run must end by completion, not the cap').toBe('stopped');
  expect(maxHeldBytes, 'FEC decoder memory (R-FEC-8)').toBeLessThanOrEqual(1024 * 1024);
  for (const side of ['client', 'server'] as const) {
    const peer = other(side);
    expect(sent[side].size).toBe(c[side].messages.length);
    for (const [key, data] of sent[side]) {
      const copies = received[peer].get(key);
      expect(copies?.length, `${side} message ${key}: copies delivered`).toBe(1);
      expect(copies?.[0], `${side} message ${key}: bytes`).toEqual(data);
      expect(receipts[side].get(key), `${side} message ${key}: receipts`).toBe(1);
    }
    expect(received[peer].size).toBe(sent[side].size);
    for (const [channelId, ids] of sentOrder[side]) {
      const got = receivedOrder[peer].get(channelId) ?? [];
      if (channelId % 4 === ChannelMode.reliableOrdered)
        expect(got, `channel ${channelId} order`).toEqual(ids);
      else expect([...got].sort((a, b) => a - b)).toEqual(ids);
    }
    const connection = pair.connection(side)!;
    expect(connection.sendBufferedBytesTotal).toBe(0);
    expect(connection.unconfirmedMessages()).toEqual([]);
  }
}

describe('reliable core with FEC on, in the simulator (issue 5)', () => {
  it('exactly once, in order where ordered, receipts, completion and bounded FEC memory', () => {
    fc.assert(
      fc.property(caseArb, (c) => checkCase(c)),
      { numRuns: 100 },
    );
  });

  it('FEC is active in these runs: repairs sent and packets rebuilt at 30 % loss', () => {
    const link: LinkProfile = { lossPercent: 30, lossModel: 'bernoulli', delayMs: 40, jitterMs: 10 };
    const pair = new FerryPair({ seed: 7, forward: link, reverse: link, fec: true });
    for (let i = 0; i < 100; i++)
      pair.at(i * 20, (now) => pair.client.send(now, 0, new Uint8Array(2000).fill(i)));
    pair.sim.run({ untilMs: 10_000 });
    const stats = fecPairStats(pair);
    expect(stats.paritySent).toBeGreaterThan(100);
    expect(stats.packetsRecoveredByFec).toBeGreaterThan(50);
  });
});
