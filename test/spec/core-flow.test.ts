import { describe, expect, it } from 'vitest';
import { ReceiveChannel } from '../../src/protocol/channel/receive-channel.ts';
import { SendChannel } from '../../src/protocol/channel/send-channel.ts';
import type { FerryUsageError } from '../../src/protocol/errors.ts';
import type { Frame, MessageFrame } from '../../src/protocol/wire/index.ts';
import { framesOf, HandPair, packetBytes } from './core-harness.ts';

// spec.md §8 (flow control): one test per requirement id (design.md rule 10).

function message(messageId: number, length: number, offset = 0, total = length): MessageFrame {
  return {
    type: 'message',
    channelId: 0,
    messageId,
    offset,
    totalLength: total,
    payload: new Uint8Array(length),
    lengthPresent: true,
  };
}

const creditFrames = (pair: HandPair, type: 'max_data' | 'max_channel_data') =>
  pair
    .sentBy('server')
    .flatMap((d) => framesOf(d.bytes).frames)
    .flatMap((f: Frame) => (f.type === type ? [f.maximumBytes] : []));

describe('spec §8 flow control', () => {
  it('R-FLOW-1: limit = consumed + window, advertised after half a window of consumption; never lowered', () => {
    const pair = new HandPair({ config: { channelWindowBytes: 4000, connectionWindowBytes: 8000 } });
    for (let i = 0; i < 8; i++) {
      pair.runUntil(i * 100);
      pair.act((now) => pair.client.send(now, 0, new Uint8Array(1000)));
    }
    pair.runUntil(2000);
    expect(pair.messages.server.length).toBe(8);
    expect(creditFrames(pair, 'max_channel_data')).toEqual([6000, 8000, 10_000, 12_000]);
    expect(creditFrames(pair, 'max_data')).toEqual([12_000, 16_000]);
    const channel = new SendChannel(0, 4000);
    channel.onMaxChannelData(6000);
    channel.onMaxChannelData(5000);
    expect(channel.peerLimit).toBe(6000);
  });

  it('R-FLOW-2: connection credit is checked when a message starts; later fragments and repairs need none', () => {
    const perConnection = new HandPair({ config: { connectionWindowBytes: 4000 }, readEagerly: false });
    perConnection.act((now) => {
      for (let i = 0; i < 4; i++) perConnection.client.send(now, (i % 2) * 8, new Uint8Array(1500));
    });
    perConnection.runUntil(3000);
    let count = 0;
    while (perConnection.server.receive()) count++;
    expect(count).toBe(3); // starts at 0, 1500, 3000 < 4000; the third ends at 4500
    const lossy = new HandPair({
      config: { connectionWindowBytes: 4000 },
      readEagerly: false,
      drop: (d) => d.from === 'client' && d.index < 3,
    });
    lossy.act((now) => {
      for (let i = 0; i < 4; i++) lossy.client.send(now, (i % 2) * 8, new Uint8Array(1500));
    });
    lossy.runUntil(3000);
    count = 0;
    while (lossy.server.receive()) count++;
    expect(count).toBe(3); // retransmissions spent no credit: the same three messages got through
  });

  it('R-FLOW-2: channel credit is checked per message start too; a message larger than the channel window completes', () => {
    const perChannel = new HandPair({ config: { channelWindowBytes: 4000 }, readEagerly: false });
    perChannel.act((now) => {
      for (let i = 0; i < 4; i++) perChannel.client.send(now, 0, new Uint8Array(1500));
    });
    perChannel.runUntil(3000);
    let count = 0;
    while (perChannel.server.receive()) count++;
    expect(count).toBe(3); // one channel: starts at 0, 1500, 3000 < 4000; the fourth would start at 4500
    perChannel.runUntil(6000); // reading consumed 4500 bytes: the new channel limit lets the fourth start
    expect(perChannel.server.receive()?.messageId).toBe(3);
    const large = new HandPair({ config: { channelWindowBytes: 4000 } });
    large.act((now) => {
      large.client.send(now, 0, new Uint8Array(10_000)); // 2.5 windows
      large.client.send(now, 0, Uint8Array.of(7));
    });
    large.runUntil(5000);
    expect(large.messages.server.map((m) => m.data.length)).toEqual([10_000, 1]);
    // The second message started only after a MAX_CHANNEL_DATA raised the limit above the 10 000 bytes sent.
    const raisedAt = large
      .sentBy('server')
      .find((d) =>
        framesOf(d.bytes).frames.some((f) => f.type === 'max_channel_data' && f.maximumBytes > 10_000),
      );
    const secondAt = large
      .sentBy('client')
      .find((d) => framesOf(d.bytes).frames.some((f) => f.type === 'message' && f.messageId === 1));
    expect(raisedAt).toBeDefined();
    expect(secondAt!.sentAtMs).toBeGreaterThanOrEqual(raisedAt!.sentAtMs + 25);
  });

  it('R-FLOW-3: a packet whose data was dropped for lack of window is not acknowledged', () => {
    const pair = new HandPair({ config: { channelWindowBytes: 1000 }, readEagerly: false });
    const feed = (pn: number, frames: Frame[]) =>
      pair.server.handleDatagram(pn, packetBytes(pair.cid, pn, frames));
    feed(0, [message(0, 1000, 0, 1500)]); // the lowest undelivered message is always admitted
    feed(1, [message(1, 10)]); // window full: dropped
    feed(2, [{ type: 'ping' }]);
    const ack = framesOf(pair.server.pollTransmit(2)!).frames.find((f) => f.type === 'ack');
    expect(ack?.type === 'ack' && ack.ranges).toEqual([
      { smallest: 2, largest: 2 },
      { smallest: 0, largest: 0 },
    ]);
    feed(3, [message(0, 500, 1000, 1500)]);
    expect(pair.server.receive()?.messageId).toBe(0); // consumed: room again
    feed(1, [message(1, 10)]); // the same packet again is not a duplicate: it was never accepted
    expect(pair.server.receive()?.messageId).toBe(1);
  });

  it("R-FLOW-4: admission 'message-start': a new message is buffered while buffered bytes are below the window", () => {
    const channel = new ReceiveChannel({
      channelId: 0,
      ordered: true,
      windowBytes: 1000,
      admission: 'message-start',
    });
    const fragment = (messageId: number, length: number, total = length) => ({
      channelId: 0,
      messageId,
      offset: 0,
      totalLength: total,
      payload: new Uint8Array(length),
    });
    expect(channel.handleFragment(fragment(1, 10, 990)).status).toBe('new'); // 0 < 1000
    expect(channel.handleFragment(fragment(2, 10, 500)).status).toBe('new'); // 990 < 1000: may overshoot
    expect(channel.handleFragment(fragment(3, 1)).status).toBe('rejected'); // 1490 ≥ 1000
    expect(channel.handleFragment(fragment(0, 5, 5000)).status).toBe('new'); // lowest undelivered: exempt
    expect(channel.windowDrops).toBe(1);
  });

  it('R-FLOW-6: the receiver drops a new message while all channels together buffer the connection window', () => {
    const run = (connectionWindowBytes: number) => {
      const pair = new HandPair({ config: { connectionWindowBytes }, readEagerly: false });
      const feed = (pn: number, frames: Frame[]) =>
        pair.server.handleDatagram(pn, packetBytes(pair.cid, pn, frames));
      const on = (channelId: number, frame: MessageFrame): MessageFrame => ({ ...frame, channelId });
      feed(0, [message(0, 1000, 0, 2000)]); // channel 0: 2000 bytes charged
      feed(1, [on(8, message(0, 1500))]); // channel 8's lowest message: admitted even at 3500 ≥ 3000
      feed(2, [message(1, 10)]); // channel 0, a new message while 3500 bytes are buffered
      feed(3, [message(0, 1000, 1000, 2000)]); // a message already admitted always continues
      const ack = framesOf(pair.server.pollTransmit(3)!).frames.find((f) => f.type === 'ack');
      return { pair, feed, ranges: ack?.type === 'ack' ? ack.ranges : [] };
    };
    const tight = run(3000);
    expect(tight.ranges).toEqual([
      { smallest: 3, largest: 3 },
      { smallest: 0, largest: 1 },
    ]); // packet 2 not acknowledged (R-FLOW-3)
    const taken = [tight.pair.server.receive(), tight.pair.server.receive(), tight.pair.server.receive()];
    expect(taken.map((m) => m && `${m.channelId}/${m.messageId}`).sort()).toEqual(['0/0', '8/0', undefined]);
    tight.feed(2, [message(1, 10)]); // room again: the same packet is accepted now
    expect(tight.pair.server.receive()?.messageId).toBe(1);
    const roomy = run(1 << 20); // the same packets under a large connection window: nothing dropped
    expect(roomy.ranges).toEqual([{ smallest: 0, largest: 3 }]);
  });

  it("R-FLOW-5: a full send buffer makes `send` throw 'send-buffer-full' until `writable`", () => {
    const pair = new HandPair({ config: { sendBufferBytes: 3000 } });
    pair.act((now) => pair.client.send(now, 0, new Uint8Array(2000)));
    expect(pair.client.canSend(1000)).toBe(true);
    expect(pair.client.canSend(1001)).toBe(false);
    try {
      pair.client.send(0, 0, new Uint8Array(2000));
      expect.unreachable('send should have thrown');
    } catch (error) {
      expect((error as FerryUsageError).reason).toBe('send-buffer-full');
    }
    pair.runUntil(1000);
    expect(pair.events.client.map((e) => e.type)).toEqual(['delivered', 'writable']);
    expect(pair.client.send(pair.nowMs, 0, new Uint8Array(5000))).toBe(1); // an empty buffer takes any message
  });
});
