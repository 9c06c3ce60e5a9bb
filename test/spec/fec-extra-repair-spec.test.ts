import { describe, expect, it } from 'vitest';
import { FecDecoder } from '../../src/fec/fec-decoder.ts';
import { FecEncoder } from '../../src/fec/fec-encoder.ts';
import { ExtraRepair } from '../../src/fec/fec-extra-repair.ts';
import { decodeFeedbackPacket, encodeFeedbackPacket, isFeedbackPacket } from '../../src/fec/fec-feedback.ts';
import { decodeRepairPacket, encodeRepairPacket, repairPacketLength } from '../../src/fec/fec-header.ts';
import { fecPairStats } from '../../src/fec/fec-pair-stats.ts';
import type { FecOptions } from '../../src/fec/fec-session.ts';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';
import { FerryPair, type Side } from '../../src/harness/ferry-pair.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import type { ConnectionConfig } from '../../src/protocol/connection-config.ts';
import type { ConnectionEvent } from '../../src/protocol/connection-events.ts';
import { decodePacket, type MessageFrame, PacketType } from '../../src/protocol/wire/index.ts';
import { SeededRandom } from '../../src/sim/random.ts';
import { type Datagram, framesOf, HandPair } from './core-harness.ts';

// spec §11.9 (extra repair) and §12.1 R-PR-8: golden vectors of a FEEDBACK packet and of an extra REPAIR shard,
// the decoder's acceptance of a larger Repair Count, deadline channels that leave their losses to FEC (hand-driven
// pair at 30% loss), and a simulated FerryPair run at 30% loss with extra repair on both sides.

const codec = new ReedSolomonCodec();
const hexBytes = (hex: string): Uint8Array =>
  Uint8Array.from(Buffer.from(hex.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Golden vector: a FEEDBACK packet with a loss report, one block request and two missing packets. */
const feedbackVector = `
90                        # FEC_REPAIR, connection id length code 1 (4 bytes)
01020304                  # connection id
412c                      # reference: largest DATA packet received, 300
00                        # Span 0: FEEDBACK
4bb8 0e                   # loss report: 3000/10000 = 30 %, mean burst 1.4
01                        # 1 block request
0a 02                     #   first source 300 − 10 = 290, 2 more shards needed
02                        # 2 missing packets
05 01                     #   300 − 5 = 295, 300 − 1 = 299
`;

/**
 * Golden vector: extra repair for the block of spec §11.8.1 (packet 300 = aabbcc, 301 = ddee) first sent with
 * m = 1 (shard 0 = 441149): shard 1, Repair Count now 2.
 */
const extraShardVector = `
90                        # FEC_REPAIR, connection id length code 1 (4 bytes)
01020304                  # connection id
412c                      # first source 300
02 02 01                  # span 2, Repair Count 2 (was 1), repair index 1
00 00                     # no loss report
03 02                     # source lengths 3, 2
334485                    # parity shard 1
`;

describe('spec §11.9 extra repair', () => {
  it('R-FEC-15: golden FEEDBACK vector decodes to its fields and re-encodes to the same bytes', () => {
    const bytes = hexBytes(feedbackVector);
    expect(isFeedbackPacket(bytes)).toBe(true);
    const decoded = decodeFeedbackPacket(bytes);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect({ ...decoded.value, connectionId: toHex(decoded.value.connectionId) }).toEqual({
      connectionId: '01020304',
      referencePacketNumber: 300,
      lossReport: { lossPermyriad: 3000, meanBurstTenths: 14 },
      requests: [{ firstSourcePacketNumber: 290, needed: 2 }],
      missing: [295, 299],
    });
    expect(toHex(encodeFeedbackPacket(decoded.value))).toBe(toHex(bytes));
    // A FEEDBACK packet is never taken for a repair shard (Span 0 is invalid there, R-FEC-3).
    expect(decodeRepairPacket(bytes)).toMatchObject({ ok: false, error: { reason: 'invalid-counts' } });
  });

  it('R-FEC-14: golden extra shard continues the §11.8.1 code; with shard 0 it rebuilds both sources', () => {
    const sources = [Uint8Array.of(0xaa, 0xbb, 0xcc), Uint8Array.of(0xdd, 0xee, 0x00)];
    // Shard j does not depend on how many shards are made: shard 0 of m = 2 is §11.8.1's shard of m = 1.
    expect(codec.encode(sources, 2).map(toHex)).toEqual(['441149', '334485']);
    const bytes = hexBytes(extraShardVector);
    const decoded = decodeRepairPacket(bytes);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value).toMatchObject({
      firstSourcePacketNumber: 300,
      repairCount: 2,
      repairIndex: 1,
      lossReport: undefined,
      sourceLengths: [3, 2],
    });
    const again = new Uint8Array(repairPacketLength(decoded.value));
    encodeRepairPacket(decoded.value, again, 0);
    expect(toHex(again)).toBe(toHex(bytes));

    // The §11.8.1 shard (m = 1) then the extra shard (m = 2): the same block, both sources rebuilt.
    const first = hexBytes('90 01020304 412c 02 01 00 00 00 03 02 441149');
    const decoder = new FecDecoder({ codec });
    expect(decoder.onRepairPacket(0, first)).toEqual([]);
    expect([...decoder.incompleteBlocks()]).toEqual([
      { firstSourcePacketNumber: 300, needed: 1, firstSeenMs: 0, longestSourceBytes: 3 },
    ]);
    const rebuilt = decoder.onRepairPacket(1, bytes);
    expect(rebuilt.map(toHex).sort()).toEqual(['aabbcc', 'ddee']);
    expect(decoder.stats.inconsistentRepairs).toBe(0);
    // In the other order too (the extra shard overtook the first one), and a repeat is redundant.
    const reversed = new FecDecoder({ codec });
    reversed.onRepairPacket(0, bytes);
    expect(reversed.onRepairPacket(1, first).map(toHex).sort()).toEqual(['aabbcc', 'ddee']);
    reversed.onRepairPacket(2, bytes);
    expect(reversed.stats.redundantRepairs).toBe(1);
  });

  it('R-FEC-14: other source lengths are still inconsistent, whatever the Repair Count', () => {
    const decoder = new FecDecoder({ codec });
    decoder.onRepairPacket(0, hexBytes('90 01020304 412c 02 01 00 00 00 03 02 441149'));
    const other = {
      connectionId: Uint8Array.of(1, 2, 3, 4),
      firstSourcePacketNumber: 300,
      repairCount: 2,
      repairIndex: 1,
      lossReport: undefined,
      sourceLengths: [3, 3],
      parity: new Uint8Array(3),
    };
    expect(decoder.onRepair(1, other)).toEqual([]);
    expect(decoder.stats.inconsistentRepairs).toBe(1);
  });

  it('R-FEC-14: a sender encoder with extra repair keeps its blocks and answers a receiver that lost every shard', () => {
    const extra = new ExtraRepair(
      {},
      Uint8Array.of(1, 2, 3, 4),
      codec,
      (needed) => needed,
      () => undefined,
    );
    const encoder = new FecEncoder({
      connectionId: Uint8Array.of(1, 2, 3, 4),
      maxRepairBytes: 1200,
      parityFor: () => 0, // no repair at first: only extra repair can help
      codec,
      extraRepair: extra,
    });
    const sources = [10, 11, 12, 13].map((pn) => ({ pn, bytes: new Uint8Array(50 + pn).fill(pn) }));
    for (const s of sources) encoder.onSourcePacket(0, s.pn, s.bytes);
    encoder.flush(0);
    expect(encoder.pollRepair(0)).toBeUndefined();
    expect(encoder.stats.blocksWithoutRepair).toBe(1);
    const decoder = new FecDecoder({ codec });
    for (const s of sources.slice(0, 2)) decoder.onSourcePacket(5, s.pn, s.bytes);
    const out: Uint8Array[] = [];
    extra.onMissing(30, [12, 13], out);
    expect(out).toHaveLength(2);
    const rebuilt = out.flatMap((p) => decoder.onRepairPacket(40, p));
    expect(rebuilt.map(toHex).sort()).toEqual(sources.slice(2).map((s) => toHex(s.bytes)));
  });
});

// ─── R-PR-8: deadline channels with retransmission off ─────────────────────────────────────────────────────

const deadlineCh = makeChannelId(1, 'client', ChannelMode.deadline);
const reliableCh = makeChannelId(2, 'client', ChannelMode.reliableOrdered);

function ofType<T extends ConnectionEvent['type']>(events: ConnectionEvent[], type: T) {
  return events.filter((e): e is Extract<ConnectionEvent, { type: T }> => e.type === type);
}

/** Transmissions of each fragment (`messageId:offset`) of `channelId` among datagrams. */
function fragmentSends(datagrams: readonly Datagram[], channelId: number): Map<string, number> {
  const sends = new Map<string, number>();
  for (const d of datagrams) {
    for (const f of framesOf(d.bytes).frames) {
      if (f.type !== 'message' || (f as MessageFrame).channelId !== channelId) continue;
      const key = `${f.messageId}:${f.offset}`;
      sends.set(key, (sends.get(key) ?? 0) + 1);
    }
  }
  return sends;
}

interface PartialRun {
  pair: HandPair;
  deadlineSends: Map<string, number>;
  messages: number;
  reliable: number;
}

/** 30% loss both ways, seeded: 150 deadline messages (one every 20 ms, 200 ms deadline), 30 reliable ones. */
function runLossy(
  config: Partial<ConnectionConfig>,
  retransmit: boolean | undefined,
  seed: number,
): PartialRun {
  const random = new SeededRandom(seed);
  const pair = new HandPair({ config, drop: () => random.chance(0.3) });
  pair.client.configureChannel(deadlineCh, {
    deadlineMs: 200,
    ...(retransmit === undefined ? {} : { retransmit }),
  });
  const messages = 150;
  const reliable = 30;
  for (let i = 0; i < messages; i++) {
    pair.runUntil(i * 20);
    // Small and large messages: single fragments and messages of several fragments.
    pair.act((now) => pair.client.send(now, deadlineCh, new Uint8Array(i % 5 === 0 ? 3000 : 200).fill(i)));
    if (i % 5 === 0) pair.act((now) => pair.client.send(now, reliableCh, Uint8Array.of(i / 5)));
  }
  pair.runUntil(messages * 20 + 10_000);
  return { pair, deadlineSends: fragmentSends(pair.sentBy('client'), deadlineCh), messages, reliable };
}

/** Each deadline message settles once at the sender; the receiver gets it at most once; EXPIRED tells it the rest. */
function expectSettledOnce(run: PartialRun): { delivered: number; expired: number } {
  const { pair, messages } = run;
  const settled = new Map<number, string[]>();
  for (const e of pair.events.client) {
    if ((e.type === 'delivered' || e.type === 'expired') && e.channelId === deadlineCh) {
      settled.set(e.messageId, [...(settled.get(e.messageId) ?? []), e.type]);
    }
  }
  for (let id = 0; id < messages; id++) expect(settled.get(id), `message ${id}`).toHaveLength(1);
  const received = pair.messages.server.filter((m) => m.channelId === deadlineCh).map((m) => m.messageId);
  expect(new Set(received).size).toBe(received.length);
  for (const [id, outcome] of settled) if (outcome[0] === 'delivered') expect(received).toContain(id);
  // What never arrived was skipped at the receiver, through EXPIRED frames (R-PR-5, R-PR-6).
  const skipped = ofType(pair.events.server, 'skipped')
    .filter((e) => e.channelId === deadlineCh)
    .reduce((sum, e) => sum + e.count, 0);
  expect(received.length + skipped).toBe(messages);
  // Reliable messages beside them: exactly once, in order.
  const reliable = pair.messages.server.filter((m) => m.channelId === reliableCh).map((m) => m.data[0]);
  expect(reliable).toEqual([...Array(run.reliable).keys()]);
  const outcomes = [...settled.values()].map((o) => o[0]);
  return {
    delivered: outcomes.filter((o) => o === 'delivered').length,
    expired: outcomes.filter((o) => o === 'expired').length,
  };
}

describe('spec §12.1 R-PR-8 deadline channels with retransmission off', () => {
  for (const [name, config, retransmit] of [
    ['channel option retransmit: false', {}, false],
    ['config deadlineRetransmit: false', { deadlineRetransmit: false }, undefined],
  ] as const) {
    it(`R-PR-8: ${name}: at 30% loss no deadline fragment is sent twice, each message settles once`, () => {
      for (const seed of [1, 2, 3]) {
        const run = runLossy(config, retransmit, seed);
        const resent = [...run.deadlineSends].filter(([, n]) => n > 1);
        expect(resent, `seed ${seed}`).toEqual([]);
        const { delivered, expired } = expectSettledOnce(run);
        // Loss abandoned some at their deadline (an expired event and an EXPIRED frame), and most got through.
        expect(expired, `seed ${seed}`).toBeGreaterThan(10);
        expect(delivered, `seed ${seed}`).toBeGreaterThan(run.messages / 2);
        const expiredFrames = run.pair
          .sentBy('client')
          .flatMap((d) => framesOf(d.bytes).frames)
          .filter((f) => f.type === 'expired');
        expect(expiredFrames.length).toBeGreaterThan(0);
      }
    });
  }

  it('R-PR-8: with the default (deadlineRetransmit true) the same runs retransmit deadline fragments', () => {
    for (const seed of [1, 2, 3]) {
      const run = runLossy({}, undefined, seed);
      const resent = [...run.deadlineSends].filter(([, n]) => n > 1);
      expect(resent.length, `seed ${seed}`).toBeGreaterThan(10);
      const { expired } = expectSettledOnce(run);
      const off = expectSettledOnce(runLossy({}, false, seed));
      expect(expired, `seed ${seed}`).toBeLessThan(off.expired); // retransmission saves messages
      // A channel option overrides the config: retransmit: true under deadlineRetransmit: false retransmits.
      const forced = runLossy({ deadlineRetransmit: false }, true, seed);
      expect([...forced.deadlineSends].filter(([, n]) => n > 1).length).toBeGreaterThan(10);
    }
  });
});

// ─── A simulated FerryPair with extra repair at 30% loss ──────────────────────────────────────────────────

describe('R-FEC-14, R-FEC-15, R-PR-8 in a simulated FerryPair at 30% loss', () => {
  it('R-FEC-14: extra parity is sent and rebuilds packets; deadline messages settle once; a reliable channel stays exactly-once in order', () => {
    const link = { lossPercent: 30, delayMs: 40, jitterMs: 10, rateMbps: 10, queueBytes: 128 * 1024 };
    const fec: FecOptions = { fecClass: 'media', maxBlockDelayMs: 8, protectAckOnly: false, extraRepair: {} };
    const events: Record<Side, ConnectionEvent[]> = { client: [], server: [] };
    const received: { channelId: number; messageId: number; data: Uint8Array }[] = [];
    const deadlineFragmentSends = new Map<string, number>();
    let feedbackSeen = 0;
    const pair = new FerryPair({
      seed: 7,
      forward: link,
      reverse: link,
      config: { deadlineRetransmit: false },
      fec,
      onEvent: (side, _now, event) => events[side].push(event),
      onMessage: (side, _now, m) => {
        if (side === 'server')
          received.push({ channelId: m.channelId, messageId: m.messageId, data: m.data });
      },
      onDatagram: (side, direction, _now, bytes) => {
        if (direction !== 'out') return;
        if (side === 'server' && bytes[0]! >>> 6 === PacketType.fecRepair && isFeedbackPacket(bytes))
          feedbackSeen++;
        if (side !== 'client') return;
        const decoded = decodePacket(bytes);
        if (!decoded.ok) return; // REPAIR packets
        for (const f of decoded.value.frames) {
          if (f.type !== 'message' || f.channelId !== deadlineCh) continue;
          const key = `${f.messageId}:${f.offset}`;
          deadlineFragmentSends.set(key, (deadlineFragmentSends.get(key) ?? 0) + 1);
        }
      },
    });
    pair.client.configureChannel(deadlineCh, { deadlineMs: 300 });
    const frames = 300;
    const reliableCount = 60;
    for (let i = 0; i < frames; i++) {
      // ~8 KB video-like frames every 33 ms (several fragments each), a keyframe of 30 KB every 60.
      const size = i % 60 === 0 ? 30_000 : 6000 + ((i * 977) % 4000);
      pair.at(200 + i * 33, (now) => {
        pair.client.send(now, deadlineCh, new Uint8Array(size).fill(i & 0xff));
      });
    }
    for (let i = 0; i < reliableCount; i++) {
      pair.at(200 + i * 150, (now) => {
        pair.client.send(now, reliableCh, Uint8Array.of(i, ...new Uint8Array(100 + i)));
      });
    }
    pair.sim.run({ untilMs: 200 + frames * 33 + 5000 });

    const stats = fecPairStats(pair);
    expect(stats.extraParitySent).toBeGreaterThan(0);
    expect(stats.packetsRecoveredByFec).toBeGreaterThan(0);
    expect(feedbackSeen).toBeGreaterThan(0);
    const serverSession = pair.fec!.server.session(pair.server!)!;
    const clientSession = pair.fec!.client.session(pair.client)!;
    expect(serverSession.stats.feedbackSent).toBeGreaterThan(0);
    expect(clientSession.stats.malformedFeedback + serverSession.stats.malformedFeedback).toBe(0);
    // Deadline fragments were sent (the count of their sends is where a resend would show, see the HandPair runs).
    expect(deadlineFragmentSends.size).toBeGreaterThan(frames);
    // Deadline messages: one outcome each at the sender, at most one delivery at the receiver.
    const settled = new Map<number, number>();
    for (const e of events.client) {
      if ((e.type === 'delivered' || e.type === 'expired') && e.channelId === deadlineCh) {
        settled.set(e.messageId, (settled.get(e.messageId) ?? 0) + 1);
      }
    }
    expect(settled.size).toBe(frames);
    for (const [id, n] of settled) expect(n, `message ${id}`).toBe(1);
    const deadlineIds = received.filter((m) => m.channelId === deadlineCh).map((m) => m.messageId);
    expect(new Set(deadlineIds).size).toBe(deadlineIds.length);
    expect(deadlineIds.length).toBeGreaterThan(frames * 0.8);
    // The reliable channel beside them: every message exactly once, in order, intact.
    const reliable = received.filter((m) => m.channelId === reliableCh);
    expect(reliable.map((m) => m.data[0])).toEqual([...Array(reliableCount).keys()]);
    for (const m of reliable) expect(m.data.length).toBe(101 + m.data[0]!);
    expect(events.client.some((e) => e.type === 'closed')).toBe(false);
  });
});
