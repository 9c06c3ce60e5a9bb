import { describe, expect, it } from 'vitest';
import { AckManager } from '../../src/protocol/ack/ack-manager.ts';
import { CloseCode } from '../../src/protocol/errors.ts';
import type { Frame } from '../../src/protocol/wire/index.ts';
import { framesOf, HandPair, packetBytes } from './core-harness.ts';

// spec.md §5 (acknowledgements): one test per requirement id, named after it (design.md rule 10).

const options = { maxAckDelayMs: 20, ackElicitingThreshold: 2, maxAckRanges: 32, maxTrackedRanges: 256 };
const ping: Frame = { type: 'ping' };
const ackOf = (frames: Frame[]) => frames.find((f) => f.type === 'ack');

describe('spec §5 acknowledgements', () => {
  it('R-ACK-1: a gap or an out-of-order arrival makes the ACK immediate', () => {
    const acks = new AckManager(options);
    acks.onPacketReceived(0, 0, true);
    expect(acks.ackDueMs()).toBe(20); // in order: delayed
    acks.onPacketReceived(1, 2, true); // packet 1 missing
    expect(acks.ackDueMs()).toBe(Number.NEGATIVE_INFINITY);
    acks.buildAck(1);
    acks.onPacketReceived(2, 1, true); // fills the gap: below the largest received
    expect(acks.ackDueMs()).toBe(Number.NEGATIVE_INFINITY);
  });

  it('R-ACK-2: ACK after two ack-eliciting packets or max ACK delay; never for non-eliciting alone', () => {
    const acks = new AckManager(options);
    acks.onPacketReceived(10, 0, false);
    expect(acks.ackDueMs()).toBeUndefined();
    acks.onPacketReceived(12, 1, true);
    expect(acks.ackDueMs()).toBe(32); // 20 ms after the first ack-eliciting packet
    acks.onPacketReceived(15, 2, true);
    expect(acks.ackDueMs()).toBe(Number.NEGATIVE_INFINITY); // the second one
    acks.buildAck(15);
    acks.onPacketReceived(16, 3, true);
    expect(acks.ackDueMs()).toBe(36);
  });

  it('R-ACK-3: a duplicate packet number is dropped whole, unacknowledged; forgotten numbers count as seen', async () => {
    const pair = new HandPair();
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(1, 2, 3)));
    const datagram = pair.sentBy('client')[0]!.bytes;
    pair.server.handleDatagram(1, datagram);
    pair.server.handleDatagram(2, datagram);
    expect(pair.server.stats.duplicatePackets).toBe(1);
    expect(pair.server.receive()?.data).toEqual(Uint8Array.of(1, 2, 3));
    expect(pair.server.receive()).toBeUndefined();
    const acks = new AckManager({ ...options, maxTrackedRanges: 4 });
    for (let pn = 0; pn <= 20; pn += 2) acks.onPacketReceived(pn, pn, true);
    expect(acks.trackedRanges).toBe(4); // 14, 16, 18, 20
    expect([13, 14, 15, 1].map((pn) => acks.isDuplicate(pn))).toEqual([true, true, false, true]);
  });

  it('R-ACK-4: ranges repeat in every ACK until the peer acknowledges a packet carrying them', () => {
    const acks = new AckManager(options);
    for (const pn of [0, 1, 2, 4, 5]) acks.onPacketReceived(pn, pn, true);
    const first = acks.buildAck(5);
    expect(acks.buildAck(6)?.ranges).toEqual(first?.ranges);
    acks.onAckOfAck(5); // our packet carrying largest 5 was acknowledged
    expect(acks.hasRangesToReport()).toBe(false);
    acks.onPacketReceived(7, 6, true);
    expect(acks.buildAck(7)?.ranges).toEqual([{ smallest: 6, largest: 6 }]);
    // Through the connection: a data packet carries an ACK whenever there are ranges, due or not.
    const pair = new HandPair();
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(1)));
    pair.runUntil(25); // delivered, ACK not yet due (20 ms delay)
    pair.act((now) => pair.server.send(now, 0, Uint8Array.of(2)));
    const reply = framesOf(pair.sentBy('server')[0]!.bytes).frames;
    expect(reply.map((f) => f.type)).toEqual(['ack', 'message']);
    pair.runUntil(200);
    const last = pair.sentBy('server').at(-1)!;
    expect(pair.server.bufferSizes().ackRanges).toBeGreaterThan(0);
    expect(ackOf(framesOf(last.bytes).frames)).toBeDefined();
  });

  it('R-ACK-4: an acknowledged ACK retires exactly the ranges it reported; left-out ranges are reported again', () => {
    const acks = new AckManager(options);
    for (const pn of [0, 2, 4, 6, 8]) acks.onPacketReceived(pn, pn, true);
    expect(acks.buildAck(9, 3)?.complete).toBe(false); // five ranges, three reported
    expect(acks.buildAck(9, 32)?.complete).toBe(true);
    // Through the connection: the server's data packet carries a 3-range (truncated) piggybacked ACK.
    const pair = new HandPair();
    const server = pair.server;
    for (const pn of [0, 2, 4, 6, 8]) server.handleDatagram(0, packetBytes(pair.cid, pn, [ping]));
    server.send(0, 0, Uint8Array.of(1));
    const truncated = framesOf(server.pollTransmit(0)!);
    const piggy = ackOf(truncated.frames);
    expect(piggy?.type === 'ack' && piggy.ranges.map((r) => r.largest)).toEqual([8, 6, 4]);
    const ackOfOurs = (pn: number, ofPn: number) =>
      packetBytes(pair.cid, pn, [
        { type: 'ack', ackDelayUs: 0, ranges: [{ smallest: ofPn, largest: ofPn }] },
      ]);
    server.handleDatagram(10, ackOfOurs(9, truncated.packetNumber));
    server.handleDatagram(11, packetBytes(pair.cid, 11, [ping])); // out of order: an ACK-only packet now
    const full = framesOf(server.pollTransmit(11)!);
    const fullAck = ackOf(full.frames);
    // 8, 6 and 4 were reported and acknowledged: retired (9 is new). 2 and 0 were left out: reported again.
    expect(fullAck?.type === 'ack' && fullAck.ranges).toEqual([
      { smallest: 11, largest: 11 },
      { smallest: 9, largest: 9 },
      { smallest: 2, largest: 2 },
      { smallest: 0, largest: 0 },
    ]);
    server.handleDatagram(12, ackOfOurs(13, full.packetNumber)); // everything reported is now known
    server.handleDatagram(13, packetBytes(pair.cid, 15, [ping]));
    const after = ackOf(framesOf(server.pollTransmit(13)!).frames);
    expect(after?.type === 'ack' && after.ranges).toEqual([
      { smallest: 15, largest: 15 },
      { smallest: 13, largest: 13 },
    ]);
  });

  it('R-ACK-5: newest ranges first, at most 32 in an ACK-only packet and 3 beside data', () => {
    const pair = new HandPair();
    for (let pn = 0; pn <= 80; pn += 2) pair.server.handleDatagram(0, packetBytes(pair.cid, pn, [ping]));
    const ackOnly = ackOf(framesOf(pair.server.pollTransmit(0)!).frames);
    expect(ackOnly?.type === 'ack' && ackOnly.ranges.length).toBe(32);
    expect(ackOnly?.type === 'ack' && ackOnly.ranges[0]).toEqual({ smallest: 80, largest: 80 });
    pair.server.send(1, 0, Uint8Array.of(9));
    const withData = framesOf(pair.server.pollTransmit(1)!).frames;
    const piggy = ackOf(withData);
    expect(piggy?.type === 'ack' && piggy.ranges.map((r) => r.largest)).toEqual([80, 78, 76]);
  });

  it('R-ACK-6: acknowledging a packet never sent closes with PROTOCOL_VIOLATION', () => {
    const pair = new HandPair();
    const forged: Frame = { type: 'ack', ackDelayUs: 0, ranges: [{ smallest: 0, largest: 0 }] };
    pair.server.handleDatagram(0, packetBytes(pair.cid, 0, [forged]));
    expect(pair.server.state).toBe('draining');
    const close = framesOf(pair.server.pollTransmit(0)!).frames.find((f) => f.type === 'close');
    expect(close?.type === 'close' && close.code).toBe(CloseCode.protocolViolation);
  });

  it('R-ACK-7: an ACK-only packet whose number is 15 mod 16 carries a PING', () => {
    const pair = new HandPair();
    for (let i = 0; i < 60; i++) {
      pair.runUntil(i * 50); // one message every 50 ms: each is acknowledged alone after the ACK delay
      pair.act((now) => pair.client.send(now, 0, Uint8Array.of(i)));
    }
    pair.runUntil(4000);
    const ackOnly = pair
      .sentBy('server')
      .map((d) => framesOf(d.bytes))
      .filter((p) => p.frames.every((f) => f.type === 'ack' || f.type === 'ping'));
    const withPing = ackOnly.filter((p) => p.frames.some((f) => f.type === 'ping'));
    expect(ackOnly.length).toBeGreaterThan(16);
    expect(withPing.length).toBeGreaterThan(0);
    for (const p of ackOnly) expect(p.frames.some((f) => f.type === 'ping')).toBe(p.packetNumber % 16 === 15);
  });

  it('R-ACK-8: ACK Delay is the time since the largest acknowledged packet arrived, in microseconds', () => {
    const acks = new AckManager(options);
    acks.onPacketReceived(10, 3, true);
    acks.onPacketReceived(12.5, 1, true);
    expect(acks.buildAck(25.25)?.ackDelayUs).toBe(15_250);
  });
});
