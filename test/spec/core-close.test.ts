import { describe, expect, it } from 'vitest';
import type { ConnectionEvent } from '../../src/protocol/connection-events.ts';
import { CloseCode, FerryUsageError } from '../../src/protocol/errors.ts';
import type { Frame } from '../../src/protocol/wire/index.ts';
import { framesOf, HandPair, packetBytes, type Side } from './core-harness.ts';

// spec.md §10 (liveness and close): one test per requirement id (design.md rule 10).

const closedEvent = (pair: HandPair, side: Side) =>
  pair.events[side].find((e): e is Extract<ConnectionEvent, { type: 'closed' }> => e.type === 'closed');

const framesSent = (pair: HandPair, side: Side) =>
  pair.sentBy(side).map((d) => ({ atMs: d.sentAtMs, frames: framesOf(d.bytes).frames }));

const usageReason = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof FerryUsageError ? error.reason : 'other';
  }
  return undefined;
};

describe('spec §10 liveness and close', () => {
  it('R-LIVE-1: a PING goes out after keepAliveIntervalMs without anything ack-eliciting sent', () => {
    const pair = new HandPair({ config: { keepAliveIntervalMs: 1000, idleTimeoutMs: 3000 } });
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(1)));
    pair.runUntil(10_000);
    expect([pair.client.state, pair.server.state]).toEqual(['open', 'open']);
    const eliciting = framesSent(pair, 'client').filter((p) => p.frames.some((f) => f.type !== 'ack'));
    const pings = eliciting.filter((p) => p.frames.some((f) => f.type === 'ping'));
    expect(pings.length).toBeGreaterThanOrEqual(9);
    for (let i = 1; i < eliciting.length; i++) {
      expect(eliciting[i]!.atMs - eliciting[i - 1]!.atMs).toBeLessThanOrEqual(1000);
    }
  });

  it('R-LIVE-2: after idleTimeoutMs without receiving anything the connection closes silently', () => {
    const pair = new HandPair({ config: { keepAliveIntervalMs: 0, idleTimeoutMs: 3000 } });
    pair.act((now) => pair.client.send(now, 0, Uint8Array.of(1)));
    pair.runUntil(10_000);
    const lastToClient = Math.max(...pair.sentBy('server').map((d) => d.sentAtMs)) + 25;
    const event = closedEvent(pair, 'client');
    expect(event).toMatchObject({ initiator: 'idle-timeout', code: CloseCode.idleTimeout, unconfirmed: [] });
    expect(pair.client.state).toBe('closed');
    expect(pair.sent.every((d) => d.sentAtMs < lastToClient + 3000)).toBe(true);
    expect(pair.sent.flatMap((d) => framesOf(d.bytes).frames).some((f) => f.type === 'close')).toBe(false);
  });

  it('R-CLOSE-1: graceful close (default) refuses new messages; immediate close goes straight to CLOSE', () => {
    const pair = new HandPair();
    pair.act((now) => pair.client.close(now));
    expect(pair.client.state === 'closing' || pair.client.state === 'draining').toBe(true);
    expect(usageReason(() => pair.client.send(0, 0, Uint8Array.of(1)))).toBeDefined();
    const open = new HandPair();
    open.act((now) => open.client.send(now, 0, Uint8Array.of(1)));
    open.client.close(0, { graceful: false, code: 0x100, reason: 'bye' });
    expect(open.client.state).toBe('draining');
    expect(usageReason(() => open.client.send(0, 0, Uint8Array.of(1)))).toBe('connection-closed');
    const close = framesOf(open.client.pollTransmit(0)!).frames.find((f) => f.type === 'close');
    expect(close).toEqual({ type: 'close', code: 0x100, reason: 'bye' });
  });

  it('R-CLOSE-2: a graceful close flushes until everything is acknowledged, or gives up after closeTimeoutMs', () => {
    const pair = new HandPair({ drop: (d) => d.from === 'client' && d.index < 2 });
    pair.act((now) => {
      pair.client.send(now, 0, new Uint8Array(3000));
      pair.client.close(now);
    });
    expect(usageReason(() => pair.client.send(0, 0, Uint8Array.of(1)))).toBe('closing');
    pair.runUntil(10_000);
    expect(pair.messages.server.length).toBe(1);
    const sent = framesSent(pair, 'client');
    const closeAt = sent.find((p) => p.frames.some((f) => f.type === 'close'));
    expect(closeAt?.frames.find((f) => f.type === 'close')).toMatchObject({ code: CloseCode.noError });
    expect(closeAt!.atMs).toBeGreaterThanOrEqual(50); // not before one round trip could acknowledge the data
    expect(pair.events.client.map((e) => e.type)).toEqual(['delivered', 'closed']);
    const stuck = new HandPair({ config: { closeTimeoutMs: 2000 }, drop: (d) => d.from === 'client' });
    stuck.act((now) => {
      stuck.client.send(now, 0, Uint8Array.of(1));
      stuck.client.close(now);
    });
    stuck.runUntil(10_000);
    const gaveUp = framesSent(stuck, 'client').find((p) => p.frames.some((f) => f.type === 'close'));
    expect(gaveUp?.atMs).toBe(2000);
    expect(gaveUp?.frames.find((f) => f.type === 'close')).toMatchObject({ code: CloseCode.closeTimeout });
  });

  it('R-CLOSE-3: `closed` lists the messages never acknowledged: none after a successful graceful close', () => {
    const ok = new HandPair();
    ok.act((now) => {
      ok.client.send(now, 0, Uint8Array.of(1));
      ok.client.close(now);
    });
    ok.runUntil(10_000);
    expect(closedEvent(ok, 'client')).toMatchObject({ initiator: 'local', code: 0, unconfirmed: [] });
    expect(closedEvent(ok, 'server')).toMatchObject({ initiator: 'peer', code: 0 });
    const stuck = new HandPair({ config: { closeTimeoutMs: 2000 }, drop: (d) => d.from === 'client' });
    stuck.act((now) => {
      stuck.client.send(now, 0, Uint8Array.of(1));
      stuck.client.send(now, 8, Uint8Array.of(2));
      stuck.client.close(now);
    });
    stuck.runUntil(10_000);
    expect(closedEvent(stuck, 'client')?.unconfirmed).toEqual([
      { channelId: 0, messageId: 0 },
      { channelId: 8, messageId: 0 },
    ]);
  });

  it('R-CLOSE-4: after sending CLOSE an endpoint drains for 3 PTOs, answering each packet with CLOSE', () => {
    const pair = new HandPair();
    pair.client.close(0, { graceful: false });
    expect(framesOf(pair.client.pollTransmit(0)!).frames.map((f) => f.type)).toEqual(['close']);
    expect(pair.client.pollTransmit(0)).toBeUndefined();
    const ping: Frame = { type: 'ping' };
    pair.client.handleDatagram(100, packetBytes(pair.cid, 0, [ping]));
    expect(framesOf(pair.client.pollTransmit(100)!).frames.map((f) => f.type)).toEqual(['close']);
    expect(pair.client.pollTransmit(100)).toBeUndefined();
    expect(pair.client.nextTimeout()).toBe(3 * 620); // PTO before any RTT sample: 200 + 400 + 20
    pair.client.handleTimeout(1859);
    expect(pair.client.state).toBe('draining');
    pair.client.handleTimeout(1860);
    expect(pair.client.state).toBe('closed');
    expect(pair.client.pollEvent()).toMatchObject({ type: 'closed', initiator: 'local' });
  });

  it('R-CLOSE-4: CLOSE is repeated while draining after a violation too; not after receiving CLOSE', () => {
    const pair = new HandPair();
    const bad: Frame = { type: 'ack', ackDelayUs: 0, ranges: [{ smallest: 5, largest: 5 }] };
    pair.server.handleDatagram(0, packetBytes(pair.cid, 0, [bad])); // R-ACK-6: a violation
    expect(pair.server.state).toBe('draining');
    const first = framesOf(pair.server.pollTransmit(0)!).frames.find((f) => f.type === 'close');
    expect(first?.type === 'close' && first.code).toBe(CloseCode.protocolViolation);
    for (const [at, pn] of [
      [10, 1],
      [20, 2],
    ]) {
      pair.server.handleDatagram(at!, packetBytes(pair.cid, pn!, [{ type: 'ping' }]));
      const again = framesOf(pair.server.pollTransmit(at!)!).frames;
      expect(again.filter((f) => f.type !== 'ack')).toEqual([first]); // one CLOSE per packet received
      expect(pair.server.pollTransmit(at!)).toBeUndefined();
    }
    // The peer that received CLOSE is closed (R-CLOSE-6) and answers nothing.
    const peer = new HandPair();
    peer.client.handleDatagram(0, packetBytes(peer.cid, 0, [{ type: 'close', code: 0, reason: '' }]));
    peer.client.handleDatagram(5, packetBytes(peer.cid, 1, [{ type: 'ping' }]));
    expect(peer.client.pollTransmit(5)).toBeUndefined();
  });

  it('R-CLOSE-5: a protocol violation closes with PROTOCOL_VIOLATION (or LIMIT_EXCEEDED) and a reason', () => {
    const pair = new HandPair();
    const bad: Frame = { type: 'ack', ackDelayUs: 0, ranges: [{ smallest: 5, largest: 5 }] };
    pair.server.handleDatagram(0, packetBytes(pair.cid, 0, [bad]));
    const close = framesOf(pair.server.pollTransmit(0)!).frames.find((f) => f.type === 'close');
    expect(close?.type === 'close' && close.code).toBe(CloseCode.protocolViolation);
    expect(close?.type === 'close' && close.reason.length).toBeGreaterThan(0);
    pair.server.handleTimeout(pair.server.nextTimeout()!);
    expect(pair.server.pollEvent()).toMatchObject({
      type: 'closed',
      initiator: 'protocol-violation',
      code: 2,
    });
  });

  it('R-CLOSE-6: on CLOSE the connection is closed at once and sends nothing more; earlier frames count', () => {
    const pair = new HandPair({ readEagerly: false });
    const frames: Frame[] = [
      {
        type: 'message',
        channelId: 0,
        messageId: 0,
        offset: 0,
        totalLength: 1,
        payload: Uint8Array.of(5),
        lengthPresent: true,
      },
      { type: 'close', code: 0x123, reason: 'done' },
    ];
    pair.server.send(0, 0, Uint8Array.of(1));
    pair.server.handleDatagram(1, packetBytes(pair.cid, 0, frames));
    expect(pair.server.state).toBe('closed');
    expect(pair.server.pollTransmit(1)).toBeUndefined();
    expect(pair.server.nextTimeout()).toBeUndefined();
    expect(pair.server.receive()?.data).toEqual(Uint8Array.of(5));
    const events = [pair.server.pollEvent(), pair.server.pollEvent()];
    expect(events.find((e) => e?.type === 'closed')).toMatchObject({
      initiator: 'peer',
      code: 0x123,
      reason: 'done',
      unconfirmed: [{ channelId: 0, messageId: 0 }],
    });
  });
});
