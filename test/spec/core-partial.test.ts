import { describe, expect, it } from 'vitest';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import type { ConnectionEvent } from '../../src/protocol/connection-events.ts';
import { CloseCode, FerryUsageError } from '../../src/protocol/errors.ts';
import type { Frame, MessageFrame } from '../../src/protocol/wire/index.ts';
import { type Datagram, framesOf, HandPair, packetBytes } from './core-harness.ts';

// spec.md §12.1 (deadline, unreliable and sequenced channels): one test per requirement id (design.md rule 10).

const deadlineCh = makeChannelId(1, 'client', ChannelMode.deadline);
const unreliableCh = makeChannelId(1, 'client', ChannelMode.unreliable);

function messageFramesOf(d: Datagram): MessageFrame[] {
  return framesOf(d.bytes).frames.filter((f): f is MessageFrame => f.type === 'message');
}

function carries(d: Datagram, channelId: number, messageId: number): boolean {
  return messageFramesOf(d).some((f) => f.channelId === channelId && f.messageId === messageId);
}

function ofType<T extends ConnectionEvent['type']>(events: ConnectionEvent[], type: T) {
  return events.filter((e): e is Extract<ConnectionEvent, { type: T }> => e.type === type);
}

function usageReason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof FerryUsageError) return error.reason;
    throw error;
  }
  return undefined;
}

describe('spec §12.1 partial reliability', () => {
  it('R-CHAN-11: options apply to partially reliable channels only; all four modes send', () => {
    const pair = new HandPair();
    expect(usageReason(() => pair.client.configureChannel(0, { deadlineMs: 5 }))).toBe(
      'unsupported-channel-mode',
    );
    for (const mode of [0, 1, 2, 3] as const) {
      const id = makeChannelId(2, 'client', mode);
      pair.act((now) => pair.client.send(now, id, Uint8Array.of(mode)));
    }
    pair.runUntil(2000);
    expect(pair.messages.server.map((m) => m.data[0]).sort()).toEqual([0, 1, 2, 3]);
  });

  it('R-PR-1: a message expires at send time + its deadline (send option, then channel option, then default)', () => {
    const pair = new HandPair({ drop: (d) => d.from === 'client', config: { defaultDeadlineMs: 700 } });
    pair.client.configureChannel(deadlineCh, { deadlineMs: 300 });
    pair.act((now) => {
      pair.client.send(now, deadlineCh, Uint8Array.of(1), { deadlineMs: 100 }); // id 0: 100 ms
      pair.client.send(now, deadlineCh, Uint8Array.of(2)); // id 1: channel 300 ms
    });
    const other = makeChannelId(3, 'client', ChannelMode.deadline);
    pair.act((now) => pair.client.send(now, other, Uint8Array.of(3))); // default 700 ms
    const expiredAt = new Map<string, number>();
    for (let t = 0; t <= 1000; t += 10) {
      pair.runUntil(t);
      for (const e of ofType(pair.events.client, 'expired')) {
        const key = `${e.channelId}/${e.messageId}`;
        if (!expiredAt.has(key)) expiredAt.set(key, t);
      }
    }
    // Abandoned at the expiry, or up to a one-way delay earlier when a repair could no longer arrive (R-PR-3).
    const oneWayMs = pair.client.rtt.smoothedRttMs / 2 + 10;
    for (const [key, expiry] of [
      [`${deadlineCh}/0`, 100],
      [`${deadlineCh}/1`, 300],
      [`${other}/0`, 700],
    ] as const) {
      expect(expiredAt.get(key), key).toBeLessThanOrEqual(expiry);
      expect(expiredAt.get(key), key).toBeGreaterThan(expiry - oneWayMs);
    }
    expect(usageReason(() => pair.client.send(0, deadlineCh, Uint8Array.of(1), { deadlineMs: -1 }))).toBe(
      'invalid-deadline',
    );
    expect(usageReason(() => pair.client.configureChannel(deadlineCh, { deadlineMs: Number.NaN }))).toBe(
      'invalid-deadline',
    );
  });

  it('R-PR-2: an expired message is abandoned once: buffer freed, one expired event, never sent again', () => {
    const pair = new HandPair({ drop: (d) => d.from === 'client' });
    pair.act((now) => pair.client.send(now, deadlineCh, new Uint8Array(100), { deadlineMs: 150 }));
    expect(pair.client.sendBufferedBytesTotal).toBe(100);
    pair.runUntil(150);
    const sentBefore = pair.sentBy('client').filter((d) => carries(d, deadlineCh, 0)).length;
    pair.runUntil(3000);
    expect(ofType(pair.events.client, 'expired')).toEqual([
      { type: 'expired', channelId: deadlineCh, messageId: 0 },
    ]);
    expect(pair.client.sendBufferedBytesTotal).toBe(0);
    expect(pair.client.stats.messagesExpired).toBe(1);
    const after = pair.sentBy('client').filter((d) => d.sentAtMs > 150 && carries(d, deadlineCh, 0));
    expect(sentBefore).toBeGreaterThan(0);
    expect(after).toEqual([]);
    // Never sent for the first time after its expiry: a zero deadline is abandoned before its first send.
    const fresh = new HandPair();
    fresh.act((now) => fresh.client.send(now, deadlineCh, Uint8Array.of(9), { deadlineMs: 0 }));
    expect(fresh.sentBy('client').some((d) => carries(d, deadlineCh, 0))).toBe(false);
    expect(ofType(fresh.events.client, 'expired')).toHaveLength(1);
  });

  it('R-PR-3: unreliable fragments are sent once; deadline fragments are repaired only while they can arrive', () => {
    // Unreliable: drop the first transmission; nothing is ever sent again for it.
    const u = new HandPair({ drop: (d) => d.from === 'client' && d.index === 0 });
    u.act((now) => u.client.send(now, unreliableCh, new Uint8Array(50)));
    u.act((now) => u.client.send(now + 1, 0, Uint8Array.of(1))); // reliable traffic after it, to detect the loss
    u.runUntil(3000);
    expect(u.sentBy('client').filter((d) => carries(d, unreliableCh, 0))).toHaveLength(1);
    expect(ofType(u.events.client, 'expired')).toEqual([
      { type: 'expired', channelId: unreliableCh, messageId: 0 },
    ]);
    expect(u.messages.server.map((m) => m.channelId)).toEqual([0]);

    // Deadline: RTT 50 ms. Every copy dropped; no copy leaves once now + srtt/2 reaches the expiry.
    const d = new HandPair({ drop: (x) => x.from === 'client' && carries(x, deadlineCh, 0) });
    d.act((now) => d.client.send(now, 0, Uint8Array.of(0))); // an RTT sample first
    d.runUntil(500);
    const srtt = d.client.rtt.smoothedRttMs;
    d.act((now) => d.client.send(now, deadlineCh, new Uint8Array(50), { deadlineMs: 400 }));
    d.runUntil(3000);
    const copies = d.sentBy('client').filter((x) => carries(x, deadlineCh, 0));
    expect(copies.length).toBeGreaterThan(1); // it was repaired…
    for (const c of copies) expect(c.sentAtMs + srtt / 2).toBeLessThan(500 + 400 + 1); // …only in time
    expect(ofType(d.events.client, 'expired')).toHaveLength(1);
  });

  it('R-PR-4: partially reliable channels spend no flow-control credit and get no MAX_CHANNEL_DATA', () => {
    const pair = new HandPair({ config: { channelWindowBytes: 4096, connectionWindowBytes: 8192 } });
    for (let i = 0; i < 40; i++) pair.act((now) => pair.client.send(now, deadlineCh, new Uint8Array(1000)));
    pair.runUntil(5000);
    // 40 KB went through windows of 4 and 8 KB without any credit update for the channel.
    expect(pair.messages.server.filter((m) => m.channelId === deadlineCh)).toHaveLength(40);
    const credit = pair
      .sentBy('server')
      .flatMap((d) => framesOf(d.bytes).frames)
      .filter((f) => f.type === 'max_channel_data' || f.type === 'max_data');
    expect(credit).toEqual([]);
  });

  it('R-PR-5: abandoning moves the forward point; EXPIRED carries it and is repeated when lost', () => {
    let expiredFramesDropped = 0;
    const pair = new HandPair({
      drop: (d) => {
        if (d.from !== 'client') return false;
        if (carries(d, deadlineCh, 0) || carries(d, deadlineCh, 1)) return true;
        const hasExpired = framesOf(d.bytes).frames.some((f) => f.type === 'expired');
        if (hasExpired && expiredFramesDropped === 0) {
          expiredFramesDropped++;
          return true;
        }
        return false;
      },
    });
    pair.act((now) => {
      pair.client.send(now, deadlineCh, Uint8Array.of(0), { deadlineMs: 200 });
      pair.client.send(now, deadlineCh, Uint8Array.of(1), { deadlineMs: 200 });
      pair.client.send(now, deadlineCh, Uint8Array.of(2), { deadlineMs: 5000 });
    });
    pair.runUntil(3000);
    const expiredFrames = pair
      .sentBy('client')
      .flatMap((d) => framesOf(d.bytes).frames)
      .filter((f): f is Extract<Frame, { type: 'expired' }> => f.type === 'expired');
    expect(expiredFramesDropped).toBe(1);
    expect(expiredFrames.length).toBeGreaterThanOrEqual(2);
    // Message 2 was acknowledged, 0 and 1 abandoned: the forward point is 3, the next id.
    expect(expiredFrames.at(-1)).toEqual({ type: 'expired', channelId: deadlineCh, forwardMessageId: 3 });
    expect(ofType(pair.events.server, 'skipped')).toEqual([
      { type: 'skipped', channelId: deadlineCh, beforeMessageId: 3, count: 2 },
    ]);
  });

  it('R-PR-6: delivered once as soon as complete; partial messages below the forward point are discarded', () => {
    const pair = new HandPair();
    const feed = (pn: number, frames: Frame[]) =>
      pair.server.handleDatagram(pn, packetBytes(pair.cid, pn, frames));
    const frag = (id: number, offset: number, bytes: number[], total: number): MessageFrame => ({
      type: 'message',
      channelId: deadlineCh,
      messageId: id,
      offset,
      totalLength: total,
      payload: Uint8Array.from(bytes),
      lengthPresent: true,
    });
    feed(0, [frag(2, 0, [2], 1)]); // id 2 complete first: delivered at once
    feed(1, [frag(0, 0, [0, 0], 4)]); // id 0 half
    feed(2, [frag(2, 0, [2], 1)]); // duplicate
    expect(pair.server.receive()?.messageId).toBe(2);
    expect(pair.server.receive()).toBeUndefined();
    expect(pair.server.bufferSizes().receiveBufferedBytes).toBeGreaterThan(0);
    feed(3, [{ type: 'expired', channelId: deadlineCh, forwardMessageId: 3 }]);
    expect(pair.server.bufferSizes().receiveBufferedBytes).toBe(0);
    feed(4, [frag(0, 2, [0, 0], 4)]); // the rest of id 0 arrives late: never delivered
    feed(5, [frag(1, 0, [1], 1)]); // id 1 late: never delivered
    expect(pair.server.receive()).toBeUndefined();
    const events: ConnectionEvent[] = [];
    for (let e = pair.server.pollEvent(); e; e = pair.server.pollEvent()) events.push(e);
    expect(ofType(events, 'skipped')).toEqual([
      { type: 'skipped', channelId: deadlineCh, beforeMessageId: 3, count: 2 },
    ]);
    // EXPIRED on a reliable channel is a protocol violation.
    const bad = new HandPair();
    bad.server.handleDatagram(
      0,
      packetBytes(bad.cid, 0, [{ type: 'expired', channelId: 0, forwardMessageId: 1 }]),
    );
    const close = framesOf(bad.server.pollTransmit(1)!).frames.find((f) => f.type === 'close');
    expect(close?.type === 'close' && close.code).toBe(CloseCode.protocolViolation);
  });

  it('R-PR-7: sequenced channels drop stale messages at the receiver and supersede old ones at the sender', () => {
    const pair = new HandPair();
    pair.server.configureChannel(unreliableCh, { sequenced: true });
    const feed = (pn: number, id: number) =>
      pair.server.handleDatagram(
        pn,
        packetBytes(pair.cid, pn, [
          {
            type: 'message',
            channelId: unreliableCh,
            messageId: id,
            offset: 0,
            totalLength: 1,
            payload: Uint8Array.of(id),
            lengthPresent: true,
          },
        ]),
      );
    feed(0, 1);
    feed(1, 3);
    feed(2, 2); // older than 3: stale
    feed(3, 4);
    const ids: number[] = [];
    for (let m = pair.server.receive(); m; m = pair.server.receive()) ids.push(m.messageId);
    expect(ids).toEqual([1, 3, 4]);

    const sender = new HandPair({ drop: (d) => d.from === 'client' });
    sender.client.configureChannel(deadlineCh, { sequenced: true, deadlineMs: 10_000 });
    sender.act((now) => sender.client.send(now, deadlineCh, Uint8Array.of(0)));
    sender.act((now) => sender.client.send(now, deadlineCh, Uint8Array.of(1)));
    expect(ofType(sender.events.client, 'expired')).toEqual([
      { type: 'expired', channelId: deadlineCh, messageId: 0 },
    ]);
    expect(sender.client.sendBufferedBytesTotal).toBe(1);
  });
});
