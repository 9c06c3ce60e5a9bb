import { describe, expect, it } from 'vitest';
import { ChannelMode, channelModeOf, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import { CloseCode, FerryUsageError } from '../../src/protocol/errors.ts';
import type { Frame, MessageFrame } from '../../src/protocol/wire/index.ts';
import { framesOf, HandPair, packetBytes } from './core-harness.ts';

// spec.md §7 (channels, fragmentation and ordering): one test per requirement id (design.md rule 10).

function message(channelId: number, messageId: number, data: number[], offset = 0, total = data.length) {
  const frame: MessageFrame = {
    type: 'message',
    channelId,
    messageId,
    offset,
    totalLength: total,
    payload: Uint8Array.from(data),
    lengthPresent: true,
  };
  return frame;
}

/** Feeds `packets` (frames each) to a fresh server with packet numbers 0, 1, … and returns it. */
function serverFed(pair: HandPair, packets: Frame[][]) {
  for (const [pn, frames] of packets.entries()) {
    pair.server.handleDatagram(pn, packetBytes(pair.cid, pn, frames));
  }
  return pair.server;
}

function closeCodeSent(pair: HandPair): number | undefined {
  const bytes = pair.server.pollTransmit(100);
  const close = bytes && framesOf(bytes).frames.find((f) => f.type === 'close');
  return close?.type === 'close' ? close.code : undefined;
}

const expectUsageError = (fn: () => unknown, reason: FerryUsageError['reason']) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryUsageError);
    expect((error as FerryUsageError).reason).toBe(reason);
    return;
  }
  expect.unreachable(`expected FerryUsageError ${reason}`);
};

describe('spec §7 channels, fragmentation and ordering', () => {
  it('R-CHAN-1: channel id = index << 3 | opener << 2 | mode', () => {
    expect(makeChannelId(0, 'client', ChannelMode.reliableOrdered)).toBe(0);
    expect(makeChannelId(2, 'server', ChannelMode.reliableUnordered)).toBe(21);
    expect(makeChannelId(5, 'client', ChannelMode.unreliable)).toBe(43);
    expect([0, 1, 2, 3, 4, 5, 21, 43].map(channelModeOf)).toEqual([0, 1, 2, 3, 0, 1, 1, 3]);
  });

  it('R-CHAN-2: message ids count 0, 1, 2, … per channel and direction', () => {
    const pair = new HandPair();
    const ids: number[] = [];
    pair.act((now) => {
      ids.push(pair.client.send(now, 0, Uint8Array.of(1)), pair.client.send(now, 0, Uint8Array.of(2)));
      ids.push(pair.client.send(now, 8, Uint8Array.of(3)), pair.server.send(now, 0, Uint8Array.of(4)));
    });
    expect(ids).toEqual([0, 1, 0, 0]);
    pair.runUntil(500);
    // Order across channels is not specified (receive() is round-robin); within a channel it is by id.
    const byChannel = (id: number) =>
      pair.messages.server.filter((m) => m.channelId === id).map((m) => [m.messageId, m.data[0]]);
    expect(byChannel(0)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(byChannel(8)).toEqual([[0, 3]]);
  });

  it('R-CHAN-3: a message is cut once into fixed fragments; every copy carries the same bytes', () => {
    const pair = new HandPair({ drop: (d) => d.from === 'client' && d.index === 1 });
    const data = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
    pair.act((now) => pair.client.send(now, 0, data));
    pair.runUntil(2000);
    expect(pair.messages.server[0]?.data).toEqual(data);
    const pieces = new Set<string>();
    let copies = 0;
    for (const d of pair.sentBy('client')) {
      for (const f of framesOf(d.bytes).frames) {
        if (f.type !== 'message') continue;
        copies++;
        expect(f.payload).toEqual(data.subarray(f.offset, f.offset + f.payload.length));
        pieces.add(`${f.offset}+${f.payload.length}/${f.totalLength}`);
      }
    }
    // 1200-byte datagrams, 4-byte connection id: 1200 − 13 (header, 8-byte packet number) − 37 − 16 = 1134.
    expect([...pieces].sort()).toEqual(['0+1134/3000', '1134+1134/3000', '2268+732/3000']);
    expect(copies).toBeGreaterThan(3);
  });

  it('R-CHAN-4: messages above maxMessageBytes are refused by the sender and a violation at the receiver', () => {
    const pair = new HandPair({ config: { maxMessageBytes: 1000 } });
    expect(pair.client.send(0, 0, new Uint8Array(1000))).toBe(0);
    expectUsageError(() => pair.client.send(0, 0, new Uint8Array(1001)), 'message-too-large');
    serverFed(pair, [[message(0, 0, [1, 2], 0, 1001)]]);
    expect(closeCodeSent(pair)).toBe(CloseCode.protocolViolation);
  });

  it('R-CHAN-5: a peer using more than maxChannels channels closes with LIMIT_EXCEEDED', () => {
    const ok = new HandPair({ config: { maxChannels: 2 } });
    serverFed(ok, [[message(0, 0, [1]), message(8, 0, [2])]]);
    expect(ok.server.state).toBe('open');
    const over = new HandPair({ config: { maxChannels: 2 } });
    serverFed(over, [[message(0, 0, [1]), message(8, 0, [2]), message(16, 0, [3])]]);
    expect(closeCodeSent(over)).toBe(CloseCode.limitExceeded);
  });

  it('R-CHAN-6: a reliable message is kept and repaired until every fragment is acknowledged', () => {
    const pair = new HandPair({ drop: (d) => d.index % 3 === 1 && d.sentAtMs < 1500 });
    const sizes = Array.from({ length: 20 }, (_, i) => 1 + ((i * 977) % 4000));
    pair.act((now) => {
      for (const [i, size] of sizes.entries()) pair.client.send(now, 0, new Uint8Array(size).fill(i));
    });
    expect(pair.client.sendBufferedBytesTotal).toBe(sizes.reduce((a, b) => a + b, 0));
    pair.runUntil(10_000);
    expect(pair.messages.server.map((m) => [m.messageId, m.data.length, m.data[0]])).toEqual(
      sizes.map((size, i) => [i, size, i]),
    );
    expect(pair.client.sendBufferedBytesTotal).toBe(0);
    expect(pair.client.unconfirmedMessages()).toEqual([]);
    expect(pair.client.stats.fragmentRetransmissions).toBeGreaterThan(0);
  });

  it('R-CHAN-7: `delivered` fires once per message, when its last fragment is acknowledged', () => {
    const pair = new HandPair({ delayMs: 30 });
    pair.act((now) => {
      pair.client.send(now, 0, new Uint8Array(5000));
      pair.client.send(now, 0, Uint8Array.of(1));
    });
    pair.runUntil(59); // nothing can be acknowledged before one round trip (60 ms)
    expect(pair.events.client.filter((e) => e.type === 'delivered')).toEqual([]);
    pair.runUntil(2000);
    const delivered = pair.events.client.filter((e) => e.type === 'delivered');
    expect(delivered.map((e) => e.type === 'delivered' && e.messageId).sort()).toEqual([0, 1]);
  });

  it('R-CHAN-8: each message is delivered exactly once, whatever copies and overlaps arrive', () => {
    const pair = new HandPair();
    serverFed(pair, [
      [message(1, 0, [1, 2], 0, 4)],
      [message(1, 0, [2, 3], 1, 4)], // overlaps the first fragment
      [message(1, 0, [3, 4], 2, 4)],
      [message(1, 0, [1, 2, 3, 4])], // a whole copy
      [message(1, 0, [9], 3, 4)], // a late fragment: bytes already held are never overwritten
    ]);
    expect(pair.server.receive()?.data).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(pair.server.receive()).toBeUndefined();
  });

  it('R-CHAN-9: a reliable-ordered channel delivers in message-id order', () => {
    const pair = new HandPair();
    serverFed(pair, [[message(0, 1, [11])]]);
    expect(pair.server.receive()).toBeUndefined(); // message 0 is missing
    pair.server.handleDatagram(1, packetBytes(pair.cid, 1, [message(0, 0, [10])]));
    expect([pair.server.receive()?.messageId, pair.server.receive()?.messageId]).toEqual([0, 1]);
  });

  it('R-CHAN-10: a reliable-unordered channel delivers each message as soon as it is complete', () => {
    const pair = new HandPair();
    serverFed(pair, [[message(1, 1, [11])], [message(1, 0, [10])], [message(1, 1, [11])]]);
    expect([pair.server.receive()?.messageId, pair.server.receive()?.messageId]).toEqual([1, 0]);
    expect(pair.server.receive()).toBeUndefined();
  });

  it('R-CHAN-12: fragments of one message that disagree on its total length are a violation', () => {
    const pair = new HandPair();
    serverFed(pair, [[message(0, 0, [1, 2], 0, 4)], [message(0, 0, [3], 2, 5)]]);
    expect(closeCodeSent(pair)).toBe(CloseCode.protocolViolation);
  });
});
