import { describe, expect, it } from 'vitest';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import { framesOf, HandPair } from '../spec/core-harness.ts';

const ordered = makeChannelId(0, 'client', ChannelMode.reliableOrdered);
const other = makeChannelId(1, 'client', ChannelMode.reliableOrdered);

describe('Connection receive side', () => {
  it('raises `readable` again after a channel was drained by receive(channelId)', () => {
    const pair = new HandPair({ readEagerly: false });
    pair.act((now) => pair.client.send(now, ordered, Uint8Array.of(1)));
    pair.runUntil(100);
    expect(pair.server.receive(ordered)?.data).toEqual(Uint8Array.of(1));
    pair.act((now) => pair.client.send(now, ordered, Uint8Array.of(2)));
    pair.runUntil(200);
    const readable = pair.events.server.filter((e) => e.type === 'readable');
    expect(readable).toHaveLength(2);
    expect(pair.server.receive(ordered)?.data).toEqual(Uint8Array.of(2));
  });

  it('receive() takes from ready channels round-robin and counts what it hands over', () => {
    const pair = new HandPair({ readEagerly: false });
    pair.act((now) => {
      for (let i = 0; i < 3; i++) pair.client.send(now, ordered, Uint8Array.of(10 + i));
      for (let i = 0; i < 3; i++) pair.client.send(now, other, Uint8Array.of(20 + i, 0));
    });
    pair.runUntil(100);
    const order = Array.from({ length: 6 }, () => pair.server.receive()?.channelId);
    expect(order).toEqual([ordered, other, ordered, other, ordered, other]);
    expect(pair.server.receive()).toBeUndefined();
    expect(pair.server.stats.messagesReceived).toBe(6);
    expect(pair.server.stats.payloadBytesReceived).toBe(3 + 6);
  });

  it('ping() sends a PING that the peer acknowledges', () => {
    const pair = new HandPair();
    pair.runUntil(10);
    pair.act(() => pair.client.ping());
    const sent = pair.sentBy('client');
    expect(framesOf(sent.at(-1)!.bytes).frames.some((f) => f.type === 'ping')).toBe(true);
    pair.runUntil(200);
    expect(framesOf(pair.sentBy('server').at(-1)!.bytes).frames.some((f) => f.type === 'ack')).toBe(true);
  });
});
