import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FerryPair } from '../../src/harness/ferry-pair.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import { Connection } from '../../src/protocol/connection.ts';
import type { ConnectionConfig } from '../../src/protocol/connection-config.ts';
import type { ConnectionEvent } from '../../src/protocol/connection-events.ts';
import { CloseCode, FerryUsageError } from '../../src/protocol/errors.ts';
import type { Frame, MessageFrame } from '../../src/protocol/wire/frame-types.ts';
import { encodeFrame, encodeHeader } from '../../src/protocol/wire/index.ts';
import { assertConnectionInvariants, connectionInvariantViolations } from '../support/invariants.ts';

// Resource limits (spec §14 table): exceeding each gives a typed error or a counted drop, never unbounded memory.

const connectionId = new Uint8Array([9, 8, 7, 6]);

/** A DATA packet from the peer carrying `frames`. */
function packet(packetNumber: number, frames: Frame[]): Uint8Array {
  const buf = new Uint8Array(4096);
  let at = encodeHeader({ type: 0, connectionId, keyPhase: false, packetNumber }, buf, 0);
  for (const frame of frames) at = encodeFrame(frame, buf, at);
  return buf.slice(0, at);
}

/** The first fragment of a message declaring `totalLength` bytes (with an explicit LENGTH when `packed`). */
function firstFragment(
  channelId: number,
  messageId: number,
  totalLength: number,
  bytes = 10,
  packed = false,
): MessageFrame {
  return {
    type: 'message',
    channelId,
    messageId,
    offset: 0,
    totalLength,
    payload: new Uint8Array(Math.min(bytes, totalLength)),
    lengthPresent: packed,
  };
}

function server(config: Partial<ConnectionConfig>): Connection {
  return new Connection(0, { role: 'server', connectionId, config });
}

function drainEvents(c: Connection): ConnectionEvent[] {
  const events: ConnectionEvent[] = [];
  for (let e = c.pollEvent(); e; e = c.pollEvent()) events.push(e);
  return events;
}

/** Client-opened channel `index` of `mode` (the peer of a server opens these). */
const peerChannel = (index: number, mode: ChannelMode = ChannelMode.reliableOrdered): number =>
  makeChannelId(index, 'client', mode);

describe('R-LIMIT-1: the hard receive-buffer cap', () => {
  it('first fragments declaring huge messages on every channel allocate at most the cap (was 4 GiB by default)', () => {
    const c = server({});
    const before = process.memoryUsage().arrayBuffers;
    const { maxChannels, maxMessageBytes, maxReceiveBufferBytes } = c.config;
    for (let i = 0; i < maxChannels; i++) {
      c.handleDatagram(i, packet(i, [firstFragment(peerChannel(i), 0, maxMessageBytes)]));
    }
    const grownBytes = process.memoryUsage().arrayBuffers - before;
    expect(c.state).toBe('open');
    expect(c.bufferSizes().receiveBufferedBytes).toBeLessThanOrEqual(maxReceiveBufferBytes);
    expect(c.stats.bufferLimitDrops).toBe(maxChannels - Math.floor(maxReceiveBufferBytes / maxMessageBytes));
    expect(grownBytes).toBeLessThan(maxReceiveBufferBytes + 8 * 1024 * 1024);
    assertConnectionInvariants(c);
  });

  it('for any forged lengths and channels, buffered bytes stay within the cap plus one message; drops are counted', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            channel: fc.nat({ max: 15 }),
            messageId: fc.nat({ max: 40 }),
            totalLength: fc.integer({ min: 1, max: 65_536 }),
          }),
          { minLength: 1, maxLength: 120 },
        ),
        (fragments) => {
          const config = {
            maxMessageBytes: 65_536,
            channelWindowBytes: 16_384,
            connectionWindowBytes: 32_768,
            maxReceiveBufferBytes: 100_000,
          };
          const c = server(config);
          let drops = 0;
          for (const [i, f] of fragments.entries()) {
            const before = c.stats.bufferLimitDrops;
            c.handleDatagram(
              i,
              packet(i, [firstFragment(peerChannel(f.channel), f.messageId, f.totalLength)]),
            );
            drops += c.stats.bufferLimitDrops - before;
            expect(c.bufferSizes().receiveBufferedBytes).toBeLessThanOrEqual(100_000 + 65_536);
            assertConnectionInvariants(c);
          }
          // Every fragment the cap refused left its packet unacknowledged (R-FLOW-3): counted as a window drop.
          expect(c.stats.windowDrops).toBeGreaterThanOrEqual(drops);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a legitimate sender starting large messages on many channels at once never reaches the cap', () => {
    const config: Partial<ConnectionConfig> = {
      maxMessageBytes: 40_000,
      channelWindowBytes: 20_000,
      connectionWindowBytes: 30_000,
      maxReceiveBufferBytes: 30_000 + 2 * 40_000,
    };
    const received: string[] = [];
    const pair = new FerryPair({
      seed: 7,
      forward: { delayMs: 15, lossPercent: 20 },
      reverse: { delayMs: 15, lossPercent: 20 },
      config,
      onMessage: (side, _now, m) => received.push(`${side}:${m.channelId}:${m.messageId}:${m.data.length}`),
    });
    const expected: string[] = [];
    pair.at(0, (now) => {
      for (let ch = 0; ch < 8; ch++) {
        for (let m = 0; m < 3; m++) {
          pair.client.send(now, peerChannel(ch), new Uint8Array(40_000));
          expected.push(`server:${peerChannel(ch)}:${m}:40000`);
        }
      }
    });
    let peakBufferedBytes = 0;
    for (let t = 1; t < 60_000; t += 10) {
      pair.at(t, () => {
        peakBufferedBytes = Math.max(peakBufferedBytes, pair.server?.bufferSizes().receiveBufferedBytes ?? 0);
      });
    }
    pair.sim.run({ untilMs: 60_000 });
    expect(received.sort()).toEqual(expected.sort());
    // The sender charges a message in full when it starts it, so it keeps within window + one message.
    expect(peakBufferedBytes).toBeGreaterThan(0);
    expect(peakBufferedBytes).toBeLessThanOrEqual(30_000 + 40_000);
    expect(pair.server?.stats.bufferLimitDrops).toBe(0);
  });
});

describe('R-LIMIT-2: pending-message caps', () => {
  it('empty messages on many channels to a reader that never reads stay within maxPendingMessages + channels', () => {
    const c = server({ maxPendingMessages: 300, maxPendingMessagesPerChannel: 100, maxChannels: 8 });
    let pn = 0;
    for (let round = 0; round < 150; round++) {
      const frames: Frame[] = [];
      for (let ch = 0; ch < 8; ch++)
        frames.push({ ...firstFragment(peerChannel(ch, 1), round, 0), lengthPresent: true });
      c.handleDatagram(pn, packet(pn++, frames));
      drainEvents(c);
    }
    const sizes = c.bufferSizes();
    expect(sizes.receivePendingMessages).toBeLessThanOrEqual(300 + 8);
    expect(sizes.receivePendingMessages).toBeGreaterThanOrEqual(300);
    expect(c.stats.bufferLimitDrops).toBeGreaterThan(0);
    // Reading frees the pending slots, and the sender's retransmissions are admitted again.
    for (let m = c.receive(); m; m = c.receive()) {}
    const again: Frame[] = [];
    for (let ch = 0; ch < 8; ch++)
      again.push({ ...firstFragment(peerChannel(ch, 1), 100, 0), lengthPresent: true });
    const drops = c.stats.bufferLimitDrops;
    c.handleDatagram(pn, packet(pn++, again));
    expect(c.stats.bufferLimitDrops).toBe(drops);
    expect(c.bufferSizes().receivePendingMessages).toBe(8);
  });

  it('one channel holds at most maxPendingMessagesPerChannel messages, and ids far ahead are dropped', () => {
    const c = server({ maxPendingMessagesPerChannel: 50 });
    for (let id = 1; id <= 200; id++)
      c.handleDatagram(id, packet(id, [firstFragment(peerChannel(0), id, 100)]));
    expect(c.bufferSizes().receivePendingMessages).toBeLessThanOrEqual(50);
    expect(c.stats.windowDrops).toBeGreaterThanOrEqual(150);
    assertConnectionInvariants(c);
  });
});

describe('R-LIMIT-3: tracked packet-number ranges', () => {
  it('gappy packet numbers keep at most max(4 × maxAckRanges, maxTrackedAckRanges) ranges; older ones count as duplicates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 64, max: 400 }), fc.integer({ min: 1, max: 5 }), (tracked, gap) => {
        const c = server({ maxTrackedAckRanges: tracked, maxAckRanges: 16 });
        const limit = Math.max(64, tracked);
        for (let i = 0; i < limit * 3; i++) c.handleDatagram(i, packet(i * (gap + 1), [{ type: 'ping' }]));
        expect(c.bufferSizes().ackRanges).toBeLessThanOrEqual(limit);
        const duplicatesBefore = c.stats.duplicatePackets;
        c.handleDatagram(limit * 3, packet(1, [{ type: 'ping' }])); // long forgotten: treated as a duplicate
        expect(c.stats.duplicatePackets).toBe(duplicatesBefore + 1);
      }),
      { numRuns: 20 },
    );
  });
});

describe('limits that close or refuse (typed)', () => {
  it('R-CHAN-5: one channel more than maxChannels closes with LIMIT_EXCEEDED', () => {
    const c = server({ maxChannels: 4 });
    for (let ch = 0; ch < 5; ch++) c.handleDatagram(ch, packet(ch, [firstFragment(peerChannel(ch), 0, 10)]));
    const closed = drainEvents(c).find((e) => e.type === 'closed');
    expect(c.state).toBe('draining');
    expect(c.bufferSizes().receiveChannels).toBe(4);
    c.handleTimeout(c.nextTimeout()!); // the end of draining (R-CLOSE-4)
    expect(drainEvents(c).find((e) => e.type === 'closed') ?? closed).toMatchObject({
      initiator: 'protocol-violation',
      code: CloseCode.limitExceeded,
    });
  });

  it('R-CHAN-4: a message above maxMessageBytes is refused by send and a declared one is a violation', () => {
    const c = server({ maxMessageBytes: 1000 });
    expect(() => c.send(0, 4, new Uint8Array(1001))).toThrow(FerryUsageError);
    c.handleDatagram(1, packet(1, [firstFragment(peerChannel(0), 0, 1001)]));
    expect(c.state).toBe('draining');
  });

  it('R-FLOW-5: the send buffer refuses with send-buffer-full, and canSend says so first', () => {
    const c = server({ sendBufferBytes: 10_000 });
    c.send(0, 4, new Uint8Array(8000));
    expect(c.canSend(3000)).toBe(false);
    try {
      c.send(0, 4, new Uint8Array(3000));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FerryUsageError);
      expect((error as FerryUsageError).reason).toBe('send-buffer-full');
    }
    assertConnectionInvariants(c);
  });
});

describe('the invariant helper', () => {
  it('reports a broken bound (it can fail)', () => {
    const c = server({});
    expect(connectionInvariantViolations(c)).toEqual([]);
    const broken = Object.create(c) as Connection;
    Object.defineProperty(broken, 'bufferSizes', {
      value: () => ({ ...c.bufferSizes(), receiveBufferedBytes: Number.MAX_SAFE_INTEGER, ackRanges: 1e6 }),
    });
    const violations = connectionInvariantViolations(broken);
    expect(violations.some((v) => v.startsWith('receiveBufferedBytes'))).toBe(true);
    expect(violations.some((v) => v.startsWith('ackRanges'))).toBe(true);
    expect(() => assertConnectionInvariants(broken, 'test')).toThrow(/invariants broken \(test\)/);
  });
});
