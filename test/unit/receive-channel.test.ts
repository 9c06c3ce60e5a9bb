import { describe, expect, it } from 'vitest';
import { ReceiveChannel, type ReceiveChannelOptions } from '../../src/protocol/channel/receive-channel.ts';

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

/** A whole message as one fragment. */
function whole(messageId: number, data: Uint8Array, channelId = 1) {
  return { channelId, messageId, offset: 0, totalLength: data.length, payload: data };
}

function frag(messageId: number, data: Uint8Array, offset: number, end: number) {
  return { channelId: 1, messageId, offset, totalLength: data.length, payload: data.subarray(offset, end) };
}

function channel(options: Partial<ReceiveChannelOptions> = {}): ReceiveChannel {
  return new ReceiveChannel({ channelId: 1, ordered: true, ...options });
}

function drain(ch: ReceiveChannel): number[] {
  const ids: number[] = [];
  for (let m = ch.pollMessage(); m !== undefined; m = ch.pollMessage()) ids.push(m.messageId);
  return ids;
}

describe('ReceiveChannel delivery', () => {
  it('ordered: holds later messages until the gap fills, then delivers the run in id order', () => {
    const ch = channel();
    expect(ch.handleFragment(whole(2, bytes(3, 2))).status).toBe('new');
    expect(ch.handleFragment(whole(1, bytes(3, 1))).status).toBe('new');
    expect(ch.pollMessage()).toBeUndefined();
    expect(ch.handleFragment(whole(0, bytes(3, 0))).status).toBe('new');
    expect(drain(ch)).toEqual([0, 1, 2]);
    expect(ch.nextMessageId).toBe(3);
    expect(ch.delivered).toBe(3);
  });

  it('unordered: delivers each message as soon as it is complete', () => {
    const ch = channel({ ordered: false });
    ch.handleFragment(whole(2, bytes(3, 2)));
    expect(drain(ch)).toEqual([2]);
    ch.handleFragment(whole(0, bytes(3, 0)));
    expect(drain(ch)).toEqual([0]);
    expect(ch.nextMessageId).toBe(1);
    ch.handleFragment(whole(1, bytes(3, 1)));
    expect(ch.nextMessageId).toBe(3);
    expect(drain(ch)).toEqual([1]);
  });

  it('never delivers a message twice, even after it was polled (exactly-once)', () => {
    for (const ordered of [true, false]) {
      const ch = channel({ ordered });
      const data = bytes(5, 7);
      ch.handleFragment(whole(0, data));
      ch.handleFragment(whole(3, data));
      drain(ch);
      expect(ch.handleFragment(whole(0, data)).status).toBe('duplicate');
      expect(ch.handleFragment(frag(0, data, 1, 3)).status).toBe('duplicate');
      expect(ch.handleFragment(whole(3, data)).status).toBe('duplicate');
      expect(drain(ch)).toEqual([]);
      expect(ch.duplicates).toBe(3);
      expect(ch.isDelivered(0)).toBe(true);
    }
  });

  it('reassembles a fragmented message and copies the payload out of the packet buffer', () => {
    const ch = channel();
    const packet = Uint8Array.from({ length: 9 }, (_, i) => i);
    expect(ch.handleFragment(frag(0, packet, 4, 9)).status).toBe('new');
    expect(ch.bufferedBytes).toBe(9);
    expect(ch.handleFragment(frag(0, packet, 0, 5)).status).toBe('new');
    packet.fill(0xff);
    expect(ch.pollMessage()).toEqual({ messageId: 0, data: Uint8Array.from({ length: 9 }, (_, i) => i) });
    expect(ch.consumedBytes).toBe(9);
    expect(ch.bufferedBytes).toBe(0);
  });

  it('delivers an empty message', () => {
    const ch = channel();
    expect(ch.handleFragment(whole(0, new Uint8Array(0))).status).toBe('new');
    expect(ch.pollMessage()?.data.length).toBe(0);
  });
});

describe('ReceiveChannel violations (the connection closes)', () => {
  it('rejects a message above maxMessageBytes from its first fragment, without allocating', () => {
    const ch = channel({ maxMessageBytes: 100 });
    const outcome = ch.handleFragment({
      channelId: 1,
      messageId: 0,
      offset: 0,
      totalLength: 101,
      payload: bytes(10, 0),
    });
    expect(outcome).toEqual({ status: 'rejected', reason: 'message-too-large', violation: true });
    expect(ch.bufferedBytes).toBe(0);
    expect(ch.rejected).toBe(1);
  });

  it('rejects a total length that differs from an earlier fragment of the same message', () => {
    const ch = channel();
    ch.handleFragment({ channelId: 1, messageId: 0, offset: 0, totalLength: 10, payload: bytes(4, 0) });
    const outcome = ch.handleFragment({
      channelId: 1,
      messageId: 0,
      offset: 4,
      totalLength: 12,
      payload: bytes(4, 0),
    });
    expect(outcome).toEqual({ status: 'rejected', reason: 'length-mismatch', violation: true });
  });

  it('rejects ids, offsets and lengths that are out of range', () => {
    const ch = channel();
    const good = { channelId: 1, messageId: 0, offset: 0, totalLength: 4, payload: bytes(4, 0) };
    for (const bad of [
      { ...good, offset: 1 },
      { ...good, offset: -1, payload: bytes(1, 0) },
      { ...good, messageId: -1 },
      { ...good, messageId: 2 ** 53 },
      { ...good, totalLength: Number.NaN },
    ]) {
      expect(ch.handleFragment(bad)).toEqual({ status: 'rejected', reason: 'out-of-range', violation: true });
    }
    expect(ch.rejected).toBe(5);
    expect(ch.handleFragment(good).status).toBe('new');
  });

  it('throws on a fragment of another channel (local misuse, not a peer violation)', () => {
    expect(() => channel().handleFragment(whole(0, bytes(1, 0), 2))).toThrow(RangeError);
  });

  it('throws on invalid options', () => {
    expect(() => channel({ windowBytes: 0 })).toThrow(RangeError);
    expect(() => channel({ maxMessageBytes: -5 })).toThrow(RangeError);
    expect(() => channel({ channelId: -1 })).toThrow(RangeError);
  });
});

describe('ReceiveChannel flow control (spec §8)', () => {
  it('drops a new out-of-order message that would overflow the window, as a drop and not a violation', () => {
    const ch = channel({ windowBytes: 100 });
    expect(ch.handleFragment(whole(1, bytes(60, 1))).status).toBe('new');
    expect(ch.handleFragment(whole(2, bytes(41, 2)))).toEqual({
      status: 'rejected',
      reason: 'beyond-window',
      violation: false,
    });
    expect(ch.windowDrops).toBe(1);
    // Fits exactly.
    expect(ch.handleFragment(whole(2, bytes(40, 2))).status).toBe('new');
    expect(ch.bufferedBytes).toBe(100);
  });

  it('always accepts the next message in order, even larger than the window, once the queue is polled', () => {
    const ch = channel({ windowBytes: 100 });
    ch.handleFragment(whole(1, bytes(100, 1)));
    expect(ch.handleFragment(frag(0, bytes(500, 0), 0, 10)).status).toBe('new');
    expect(ch.bufferedBytes).toBe(600);
    expect(ch.handleFragment(frag(0, bytes(500, 0), 10, 500)).status).toBe('new');
    expect(drain(ch)).toEqual([0, 1]);
    expect(ch.bufferedBytes).toBe(0);
  });

  it('does not exempt the next message while delivered messages wait to be polled', () => {
    const ch = channel({ windowBytes: 100 });
    ch.handleFragment(whole(0, bytes(80, 0)));
    expect(ch.handleFragment(whole(1, bytes(30, 1))).status).toBe('rejected');
    expect(ch.pollMessage()?.messageId).toBe(0);
    expect(ch.handleFragment(whole(1, bytes(300, 1))).status).toBe('new');
  });

  it('drops messages too far ahead of the next id', () => {
    const ch = channel({ maxPendingMessages: 4, ordered: false });
    expect(ch.handleFragment(whole(4, bytes(1, 4))).status).toBe('rejected');
    for (const id of [1, 2, 3]) expect(ch.handleFragment(whole(id, bytes(1, id))).status).toBe('new');
    expect(ch.readyMessages).toBe(3);
    ch.handleFragment(frag(0, bytes(4, 0), 0, 2));
    expect(ch.pendingAssemblies).toBe(1);
    expect(drain(ch)).toEqual([1, 2, 3]);
    ch.handleFragment(frag(0, bytes(4, 0), 2, 4));
    expect(drain(ch)).toEqual([0]);
    expect(ch.nextMessageId).toBe(4);
    expect(ch.handleFragment(whole(4, bytes(1, 4))).status).toBe('new');
  });

  it('caps the messages held at once, empty ones included, until the application polls', () => {
    const ch = channel({ maxPendingMessages: 3, ordered: false });
    for (const id of [0, 1, 2]) expect(ch.handleFragment(whole(id, new Uint8Array(0))).status).toBe('new');
    expect(ch.bufferedBytes).toBe(0);
    expect(ch.handleFragment(whole(3, new Uint8Array(0))).status).toBe('rejected');
    expect(ch.windowDrops).toBe(1);
    ch.pollMessage();
    expect(ch.handleFragment(whole(3, new Uint8Array(0))).status).toBe('new');
  });

  it("'message-start' admission takes a new message while any room is left, overshooting by that message", () => {
    const ch = channel({ windowBytes: 100, admission: 'message-start' });
    expect(ch.handleFragment(whole(1, bytes(60, 1))).status).toBe('new');
    expect(ch.handleFragment(whole(2, bytes(80, 2))).status).toBe('new');
    expect(ch.bufferedBytes).toBe(140);
    expect(ch.handleFragment(whole(3, bytes(1, 3))).status).toBe('rejected');
    // The exemption still applies on top.
    expect(ch.handleFragment(whole(0, bytes(90, 0))).status).toBe('new');
    expect(drain(ch)).toEqual([0, 1, 2]);
  });

  it('advertises a new limit after half a window is consumed, not before', () => {
    const ch = channel({ windowBytes: 100 });
    expect(ch.maxChannelData).toBe(100);
    expect(ch.creditUpdate()).toBeUndefined();
    ch.handleFragment(whole(0, bytes(49, 0)));
    ch.handleFragment(whole(1, bytes(1, 1)));
    ch.pollMessage();
    expect(ch.creditUpdate()).toBeUndefined();
    ch.pollMessage();
    expect(ch.creditUpdate()).toBe(150);
    expect(ch.creditUpdate()).toBeUndefined();
  });

  it('advertises any consumption once the peer says it is blocked at the advertised limit', () => {
    const ch = channel({ windowBytes: 100 });
    ch.handleFragment(whole(0, bytes(40, 0)));
    ch.handlePeerBlocked(100);
    expect(ch.creditUpdate()).toBeUndefined();
    ch.pollMessage();
    expect(ch.creditUpdate()).toBe(140);
    ch.handleFragment(whole(1, bytes(10, 1)));
    ch.pollMessage();
    // The peer was blocked at 100, not at 140: back to half-window steps.
    expect(ch.creditUpdate()).toBeUndefined();
  });
});
