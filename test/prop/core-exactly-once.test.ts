import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FerryPair, type Side } from '../../src/harness/ferry-pair.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import type { Connection } from '../../src/protocol/connection.ts';
import { type ConnectionConfig, defaultConnectionConfig } from '../../src/protocol/connection-config.ts';
import { lossyLinkArb } from './link-arbitrary.ts';

// Issue 3 "Prove it": over any link with 0–50 % loss (Bernoulli, Gilbert bursts, bag), jitter, reordering,
// duplication and bottlenecks, every message on a reliable channel is delivered exactly once with its bytes, in
// order on ordered channels, every sender gets exactly one `delivered` receipt per message (R-CHAN-7), the run
// ends (no deadlock or livelock) and buffers stay within bounds derived from the configuration.

/** Virtual-time cap of one run: far beyond what any case needs, so hitting it means a stall. */
const capMs = 10 * 60_000;
/** How often buffer sizes are sampled (virtual ms), on top of a sample at every application callback. */
const sampleEveryMs = 10;
/** Virtual time the pair keeps running after everything completed, to catch late duplicates or closes. */
const settleMs = 3_000;

/** One direction of the path. */
const linkArb = lossyLinkArb({ maxDelayMs: 150, maxJitterMs: 50, bottleneck: true });

/** A message to send: which of the side's channels, how big, when. */
interface PlannedMessage {
  channel: number;
  sizeBytes: number;
  atMs: number;
}

/** Sizes: many small, some empty, some spanning many packets (up to 20000 bytes). */
const sizeArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: 301, max: 3000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 3001, max: 20_000 }) },
);

/** One side's workload: 1–3 channels, each ordered or unordered, and 1–60 messages in the first 3 s. */
const sideArb = fc.record({
  ordered: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
  messages: fc.array(
    fc.record({
      channel: fc.nat({ max: 2 }),
      sizeBytes: sizeArb,
      atMs: fc.integer({ min: 0, max: 3000 }),
    }),
    { minLength: 1, maxLength: 60 },
  ),
});

/** Flow-control windows: the defaults, or small enough that 20000-byte messages exceed them (R-FLOW-2 exemption). */
const configArb: fc.Arbitrary<Partial<ConnectionConfig>> = fc.oneof(
  fc.constant({}),
  fc.record({
    channelWindowBytes: fc.integer({ min: 8 * 1024, max: 256 * 1024 }),
    connectionWindowBytes: fc.integer({ min: 16 * 1024, max: 1024 * 1024 }),
  }),
);

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  forward: linkArb,
  reverse: linkArb,
  config: configArb,
  client: sideArb,
  server: sideArb,
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** What one run observed. */
interface Observed {
  reason: string;
  endMs: number;
  /** Per sending side: message key → bytes, and per channel the ids in send order. */
  sent: Record<Side, { bytes: Map<string, Uint8Array>; order: Map<number, number[]> }>;
  /** Per receiving side: message key → copies received, and per channel the ids in delivery order. */
  received: Record<Side, { bytes: Map<string, Uint8Array[]>; order: Map<number, number[]> }>;
  /** Per sending side: message key → `delivered` receipts. */
  receipts: Record<Side, Map<string, number>>;
  closed: string[];
  /** After the settle time: bytes still in each send buffer and messages not yet confirmed. */
  leftover: Record<Side, { sendBufferedBytes: number; unconfirmed: number }>;
  /** Bound violations found while sampling, with the time and figures. */
  boundViolations: string[];
  /** Largest figures sampled, for reporting. */
  peaks: Record<Side, { trackedPackets: number; ackRanges: number; receiveBufferedBytes: number }>;
}

const keyOf = (channelId: number, messageId: number): string => `${channelId}:${messageId}`;
const other = (side: Side): Side => (side === 'client' ? 'server' : 'client');

/** Deterministic, position- and message-dependent bytes, so a swapped or corrupted payload shows. */
function payload(side: Side, index: number, sizeBytes: number): Uint8Array {
  const data = new Uint8Array(sizeBytes);
  let x = (index + 1) * 2654435761 + (side === 'client' ? 17 : 71);
  for (let i = 0; i < sizeBytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

/** Channel ids a side uses: index i, opened by that side, ordered or unordered. */
function channelIds(side: Side, ordered: boolean[]): number[] {
  return ordered.map((o, i) =>
    makeChannelId(i, side, o ? ChannelMode.reliableOrdered : ChannelMode.reliableUnordered),
  );
}

/**
 * Bounds on `bufferSizes()` derived from the configuration (checked at every sample):
 * - receiveBufferedBytes: each receive channel admits a new message while its buffered bytes are below its
 *   window (`message-start` admission, see ReceiveChannel) and documents `bufferedBytes < windowBytes +
 *   2 × maxMessageBytes` for any peer; the peer never declares more than its largest planned message, so the
 *   sum over the channels the peer opened is below channels × (window + 2 × largest).
 * - ackRanges: the AckManager keeps at most max(4 × maxAckRanges, 256) ranges (Connection constructor).
 * - trackedPackets: packets in flight are limited by the congestion window (plus two probes per PTO and a
 *   packet over the window); ACK-only packets by one ack-eliciting PING every 16th (R-ACK-4); declared-lost
 *   records are kept about 4 loss delays. A packet is never below 16 bytes when it is ack-eliciting data, so
 *   4 × peak cwnd / 16 + 1000 bounds it with a wide margin while still catching a leak (a workload side sends
 *   up to ~1100 data packets, many more with retransmissions).
 */
function checkBounds(
  pair: FerryPair,
  side: Side,
  nowMs: number,
  c: Case,
  config: ConnectionConfig,
  peakCwnd: Record<Side, number>,
  obs: Observed,
): void {
  const connection: Connection | undefined = pair.connection(side);
  if (!connection) return;
  const sizes = connection.bufferSizes();
  const cwnd = connection.congestion.congestionWindowBytes;
  peakCwnd[side] = Math.max(peakCwnd[side], cwnd);
  const peak = obs.peaks[side];
  peak.trackedPackets = Math.max(peak.trackedPackets, sizes.trackedPackets);
  peak.ackRanges = Math.max(peak.ackRanges, sizes.ackRanges);
  peak.receiveBufferedBytes = Math.max(peak.receiveBufferedBytes, sizes.receiveBufferedBytes);

  const peer = c[other(side)];
  const peerLargest = Math.max(0, ...peer.messages.map((m) => m.sizeBytes));
  const receiveBound = peer.ordered.length * (config.channelWindowBytes + 2 * peerLargest);
  const ackRangeBound = Math.max(4 * config.maxAckRanges, 256);
  const trackedBound = (4 * peakCwnd[side]) / 16 + 1000;
  const fail = (what: string, value: number, bound: number): void => {
    if (obs.boundViolations.length < 5)
      obs.boundViolations.push(`${side} ${what} ${value} > ${bound} at ${nowMs} ms`);
  };
  if (sizes.receiveBufferedBytes > receiveBound)
    fail('receiveBufferedBytes', sizes.receiveBufferedBytes, receiveBound);
  if (sizes.ackRanges > ackRangeBound) fail('ackRanges', sizes.ackRanges, ackRangeBound);
  if (sizes.trackedPackets > trackedBound) fail('trackedPackets', sizes.trackedPackets, trackedBound);
}

/** Runs one case to completion (or the cap) and records everything the assertions need. */
function runCase(c: Case): Observed {
  const config: ConnectionConfig = { ...defaultConnectionConfig, ...c.config };
  const obs: Observed = {
    reason: '',
    endMs: 0,
    sent: {
      client: { bytes: new Map(), order: new Map() },
      server: { bytes: new Map(), order: new Map() },
    },
    received: {
      client: { bytes: new Map(), order: new Map() },
      server: { bytes: new Map(), order: new Map() },
    },
    receipts: { client: new Map(), server: new Map() },
    closed: [],
    leftover: {
      client: { sendBufferedBytes: -1, unconfirmed: -1 },
      server: { sendBufferedBytes: -1, unconfirmed: -1 },
    },
    boundViolations: [],
    peaks: {
      client: { trackedPackets: 0, ackRanges: 0, receiveBufferedBytes: 0 },
      server: { trackedPackets: 0, ackRanges: 0, receiveBufferedBytes: 0 },
    },
  };
  const peakCwnd: Record<Side, number> = { client: 0, server: 0 };
  const expected = c.client.messages.length + c.server.messages.length;
  let receivedCount = 0;
  let receiptCount = 0;
  const sample = (nowMs: number): void => {
    checkBounds(pair, 'client', nowMs, c, config, peakCwnd, obs);
    checkBounds(pair, 'server', nowMs, c, config, peakCwnd, obs);
  };

  const pair: FerryPair = new FerryPair({
    seed: c.seed,
    forward: c.forward,
    reverse: c.reverse,
    config: c.config,
    onMessage: (side, nowMs, message) => {
      const into = obs.received[side];
      const key = keyOf(message.channelId, message.messageId);
      const copies = into.bytes.get(key) ?? [];
      copies.push(message.data);
      into.bytes.set(key, copies);
      const order = into.order.get(message.channelId) ?? [];
      order.push(message.messageId);
      into.order.set(message.channelId, order);
      receivedCount++;
      sample(nowMs);
    },
    onEvent: (side, nowMs, event) => {
      if (event.type === 'delivered') {
        const key = keyOf(event.channelId, event.messageId);
        obs.receipts[side].set(key, (obs.receipts[side].get(key) ?? 0) + 1);
        receiptCount++;
      } else if (event.type === 'closed') {
        obs.closed.push(`${side} closed at ${nowMs} ms: ${event.initiator} ${event.code} ${event.reason}`);
      }
      sample(nowMs);
    },
  });

  for (const side of ['client', 'server'] as const) {
    const ids = channelIds(side, c[side].ordered);
    c[side].messages.forEach((m: PlannedMessage, index) => {
      const channelId = ids[m.channel % ids.length]!;
      const data = payload(side, index, m.sizeBytes);
      // The server's connection exists once the client's first datagram arrived; until then it retries.
      const attempt = (nowMs: number): void => {
        const connection = pair.connection(side);
        if (!connection) {
          pair.at(nowMs + 20, attempt);
          return;
        }
        const messageId = connection.send(nowMs, channelId, data);
        const sent = obs.sent[side];
        sent.bytes.set(keyOf(channelId, messageId), data);
        const order = sent.order.get(channelId) ?? [];
        order.push(messageId);
        sent.order.set(channelId, order);
      };
      pair.at(m.atMs, attempt);
    });
  }
  const sampler = (nowMs: number): void => {
    sample(nowMs);
    pair.sim.schedule(nowMs + sampleEveryMs, sampler);
  };
  pair.sim.schedule(0, sampler);

  const result = pair.sim.run({
    untilMs: capMs,
    stopWhen: () => receivedCount >= expected && receiptCount >= expected,
  });
  obs.reason = result.reason;
  obs.endMs = result.nowMs;
  if (result.reason === 'stopped') pair.sim.run({ untilMs: result.nowMs + settleMs });
  for (const side of ['client', 'server'] as const) {
    const connection = pair.connection(side);
    obs.leftover[side] = {
      sendBufferedBytes: connection?.sendBufferedBytesTotal ?? -1,
      unconfirmed: connection?.unconfirmedMessages().length ?? -1,
    };
  }
  return obs;
}

/** Asserts the issue-3 guarantees on one run. */
function checkCase(c: Case): void {
  const obs = runCase(c);
  expect(obs.closed, 'no connection may close').toEqual([]);
  expect(obs.reason, `run must end by completion, not the ${capMs} ms cap`).toBe('stopped');
  expect(obs.boundViolations, 'buffer bounds').toEqual([]);
  for (const side of ['client', 'server'] as const) {
    const sent = obs.sent[side];
    const received = obs.received[other(side)];
    expect(sent.bytes.size).toBe(c[side].messages.length);
    for (const [key, data] of sent.bytes) {
      const copies = received.bytes.get(key);
      expect(copies?.length, `${side} message ${key}: copies delivered`).toBe(1);
      // Compared after the run, so a payload that aliases a reused buffer shows too.
      expect(copies?.[0], `${side} message ${key}: bytes`).toEqual(data);
      expect(obs.receipts[side].get(key), `${side} message ${key}: delivered receipts`).toBe(1);
    }
    expect(obs.leftover[side], `${side}: send buffer empty once all is confirmed`).toEqual({
      sendBufferedBytes: 0,
      unconfirmed: 0,
    });
    expect(received.bytes.size, `${other(side)} received only what ${side} sent`).toBe(sent.bytes.size);
    expect(obs.receipts[side].size).toBe(sent.bytes.size);
    for (const [channelId, ids] of sent.order) {
      const got = received.order.get(channelId) ?? [];
      if (channelId % 4 === ChannelMode.reliableOrdered) {
        expect(got, `${side} channel ${channelId}: delivery order`).toEqual(ids);
      } else {
        expect([...got].sort((a, b) => a - b)).toEqual(ids);
      }
    }
  }
}

describe('reliable core in the simulator (issue 3)', () => {
  it('delivers every reliable message exactly once, in order where ordered, with receipts and bounded buffers', () => {
    fc.assert(
      fc.property(caseArb, (c) => checkCase(c)),
      { numRuns: 150 },
    );
  });
});
