import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import type { Connection } from '../../src/protocol/connection.ts';
import type { ConnectionEvent, ReceivedMessage } from '../../src/protocol/connection-events.ts';
import { Endpoint } from '../../src/protocol/endpoint.ts';
import { CloseCode } from '../../src/protocol/errors.ts';
import { decodeFrames, decodeHeader } from '../../src/protocol/wire/index.ts';
import type { SimEndpoint, Transmit } from '../../src/sim/endpoint.ts';
import { BaseNode, type Drop, type Emit, type SimPacket } from '../../src/sim/link/node.ts';
import { Link, type LinkProfile, profileNodes } from '../../src/sim/link.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { lossyLinkArb } from './link-arbitrary.ts';

// Graceful close (R-CLOSE-1…4) over random lossy links. After its last send the client calls `close(now)`:
// - peer reachable: the client reports `closed` (local, no error) with nothing unconfirmed and the server got
//   every message exactly once; the server reports `closed` by the peer's CLOSE, or — only when no CLOSE frame
//   ever reached it — by its idle timeout (R-LIVE-2), since a closed client answers nothing;
// - peer gone (both directions cut at some time): the client's close times out and `unconfirmed` lists exactly
//   the messages it never got a `delivered` receipt for; the server ends by idle timeout.
// In both cases the simulation then goes idle: no timer is left armed (no livelock after close).

/** Virtual-time cap; both connections must be closed and the simulation idle well before it. */
const capMs = 10 * 60_000;
/** Idle timeout of both sides (ms), the default, and the close timeout used when the peer vanishes. */
const idleTimeoutMs = 30_000;
const closeTimeoutMs = 10_000;

/** Drops every packet that enters the link at or after `cutAtMs`: the path (or the peer) disappears. */
class CutAfter extends BaseNode {
  readonly kind = 'cut-after';
  constructor(private readonly cutAtMs: number) {
    super();
  }
  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    if (packet.at >= this.cutAtMs) this.reject(packet, 'loss', drop);
    else this.pass(packet, emit);
  }
}

/** Everything one side's application saw. */
interface AppLog {
  events: ConnectionEvent[];
  messages: ReceivedMessage[];
  /** CLOSE frames delivered to this side's connection while it was still open or closing. */
  closeFramesWhileOpen: number;
}

/** Drives an Endpoint and, after each activity, reads every event and message (an eager application). */
class EagerApp implements SimEndpoint {
  readonly log: AppLog = { events: [], messages: [], closeFramesWhileOpen: 0 };
  connection: Connection | undefined;
  constructor(readonly endpoint: Endpoint) {}
  handleDatagram(nowMs: number, from: string, bytes: Uint8Array): void {
    const state = this.connection?.state ?? 'open';
    if ((state === 'open' || state === 'closing') && carriesClose(bytes)) this.log.closeFramesWhileOpen++;
    this.endpoint.handleDatagram(nowMs, from, bytes);
    this.drain();
  }
  handleTimeout(nowMs: number): void {
    this.endpoint.handleTimeout(nowMs);
    this.drain();
  }
  pollTransmit(nowMs: number): Transmit | undefined {
    return this.endpoint.pollTransmit(nowMs);
  }
  nextTimeout(): number | undefined {
    return this.endpoint.nextTimeout();
  }
  drain(): void {
    if (!this.connection) this.connection = this.endpoint.pollEvent()?.connection;
    const c = this.connection;
    if (!c) return;
    for (let e = c.pollEvent(); e; e = c.pollEvent()) this.log.events.push(e);
    for (let m = c.receive(); m; m = c.receive()) this.log.messages.push(m);
  }
}

function carriesClose(bytes: Uint8Array): boolean {
  const header = decodeHeader(bytes);
  if (!header.ok) return false;
  const frames = decodeFrames(bytes, header.value.bodyOffset);
  return frames.ok && frames.value.some((f) => f.type === 'close');
}

const linkArb = lossyLinkArb({ maxDelayMs: 150, maxJitterMs: 50, bottleneck: false });

/** Messages of 0–20000 bytes, empty ones included (graceful close must wait for those too, R-CLOSE-2). */
const messagesArb = (maxLength: number) =>
  fc.array(
    fc.record({
      ordered: fc.boolean(),
      sizeBytes: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 401, max: 20_000 })),
      atMs: fc.integer({ min: 0, max: 2000 }),
    }),
    { maxLength },
  );

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  forward: linkArb,
  reverse: linkArb,
  client: messagesArb(20).filter((m) => m.length > 0),
  server: messagesArb(5),
  /** Gap between the client's last send and its `close` call (ms). */
  closeAfterMs: fc.integer({ min: 0, max: 500 }),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const receiptBehindGap: Case = {
  seed: 1405829048,
  forward: {
    lossPercent: 1,
    lossModel: 'gilbert',
    burst: 1,
    delayMs: 1,
    jitterMs: 33,
    fifo: false,
    duplicatePercent: 0,
  },
  reverse: {
    lossPercent: 2,
    lossModel: 'bernoulli',
    burst: 1,
    delayMs: 1,
    jitterMs: 2,
    fifo: false,
    duplicatePercent: 0,
  },
  client: [{ ordered: false, sizeBytes: 6848, atMs: 789 }],
  server: [
    { ordered: true, sizeBytes: 0, atMs: 0 },
    { ordered: true, sizeBytes: 14743, atMs: 716 },
  ],
  closeAfterMs: 0,
};

interface Sent {
  key: string;
  data: Uint8Array;
}

const keyOf = (channelId: number, messageId: number): string => `${channelId}:${messageId}`;

/** Builds the pair, schedules the workload and the close, runs to idle and returns what each side saw. */
function runClose(c: Case, cutAtMs: number | undefined, config: { closeTimeoutMs: number }) {
  const sim = new Simulation({ seed: c.seed });
  const endpointConfig = { idleTimeoutMs, closeTimeoutMs: config.closeTimeoutMs };
  const client = new EagerApp(
    new Endpoint({ random: sim.forkRandom('client ids'), acceptConnections: false, config: endpointConfig }),
  );
  const server = new EagerApp(
    new Endpoint({ random: sim.forkRandom('server ids'), acceptConnections: true, config: endpointConfig }),
  );
  client.connection = client.endpoint.connect(0, 'server');
  sim.addEndpoint('client', client);
  sim.addEndpoint('server', server);
  const link = (profile: LinkProfile): Link =>
    new Link(
      cutAtMs === undefined ? profileNodes(profile) : [new CutAfter(cutAtMs), ...profileNodes(profile)],
    );
  sim.connect('client', 'server', link(c.forward), link(c.reverse));

  const sent = { client: [] as Sent[], server: [] as Sent[] };
  const plan = (side: 'client' | 'server', app: EagerApp, messages: Case['client']): void => {
    messages.forEach((m, index) => {
      const channelId = makeChannelId(
        0,
        side,
        m.ordered ? ChannelMode.reliableOrdered : ChannelMode.reliableUnordered,
      );
      const data = new Uint8Array(m.sizeBytes).fill((index * 37 + 11) & 0xff);
      const attempt = (nowMs: number): void => {
        app.drain();
        const connection = app.connection;
        if (!connection) {
          // The server's connection opens on the client's first datagram; once the client is closed, give up.
          if (client.connection?.state !== 'closed') sim.schedule(nowMs + 20, attempt);
          return;
        }
        if (connection.state !== 'open') return; // the client closed first: the server's late message is moot
        sent[side].push({ key: keyOf(channelId, connection.send(nowMs, channelId, data)), data });
      };
      sim.schedule(m.atMs, attempt);
    });
  };
  plan('client', client, c.client);
  plan('server', server, c.server);
  const closeAtMs = Math.max(...c.client.map((m) => m.atMs)) + c.closeAfterMs;
  sim.schedule(closeAtMs, (nowMs) => client.connection?.close(nowMs));
  const result = sim.run({ untilMs: capMs });
  client.drain();
  server.drain();
  return { result, client, server, sent, closeAtMs };
}

type Closed = Extract<ConnectionEvent, { type: 'closed' }>;

function closedEvents(app: EagerApp): Closed[] {
  return app.log.events.filter((e): e is Closed => e.type === 'closed');
}

function receipts(app: EagerApp): string[] {
  return app.log.events.flatMap((e) => (e.type === 'delivered' ? [keyOf(e.channelId, e.messageId)] : []));
}

const sorted = (keys: Iterable<string>): string[] => [...keys].sort();

/** R-CLOSE-3 on one side: `unconfirmed` is exactly the sent messages without a `delivered` receipt. */
function expectUnconfirmedExact(
  side: string,
  closed: Closed,
  sentKeys: string[],
  receiptKeys: string[],
): void {
  const confirmed = new Set(receiptKeys);
  const unconfirmed = sorted(closed.unconfirmed.map((u) => keyOf(u.channelId, u.messageId)));
  expect(unconfirmed, `${side}: unconfirmed = sent − delivered receipts`).toEqual(
    sorted(sentKeys.filter((k) => !confirmed.has(k))),
  );
}

/** Each message received at most once, with its bytes; returns the keys received. */
function expectAtMostOnce(side: string, messages: ReceivedMessage[], sent: Sent[]): Set<string> {
  const byKey = new Map(sent.map((s) => [s.key, s.data]));
  const seen = new Set<string>();
  for (const m of messages) {
    const key = keyOf(m.channelId, m.messageId);
    expect(seen.has(key), `${side} received ${key} twice`).toBe(false);
    seen.add(key);
    expect(m.data, `${side} message ${key} bytes`).toEqual(byKey.get(key));
  }
  return seen;
}

describe('graceful close (R-CLOSE-1…4)', () => {
  it('peer reachable: both sides report closed, nothing unconfirmed, everything delivered once', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        // A close deadline far beyond any case's recovery time: everything must be confirmed before it.
        const run = runClose(c, undefined, { closeTimeoutMs: capMs });
        expect(run.result.reason, 'simulation idle after both closed').toBe('idle');
        const [clientClosed, ...moreClient] = closedEvents(run.client);
        expect(moreClient).toEqual([]);
        expect(clientClosed, 'client closed event').toMatchObject({
          type: 'closed',
          initiator: 'local',
          code: CloseCode.noError,
          unconfirmed: [],
        });
        const received = expectAtMostOnce('server', run.server.log.messages, run.sent.client);
        expect(sorted(received)).toEqual(sorted(run.sent.client.map((s) => s.key)));
        expect(sorted(receipts(run.client))).toEqual(sorted(run.sent.client.map((s) => s.key)));

        const [serverClosed, ...moreServer] = closedEvents(run.server);
        expect(moreServer).toEqual([]);
        // The server closes on the first CLOSE it gets; with every CLOSE lost, only its idle timeout remains.
        const expectedInitiator = run.server.log.closeFramesWhileOpen > 0 ? 'peer' : 'idle-timeout';
        expect(serverClosed?.initiator, 'server closed by').toBe(expectedInitiator);
        // The server's own messages may still be in flight when the client's CLOSE arrives: the report is exact.
        expectUnconfirmedExact(
          'server',
          serverClosed!,
          run.sent.server.map((s) => s.key),
          receipts(run.server),
        );
        const clientReceived = expectAtMostOnce('client', run.client.log.messages, run.sent.server);
        for (const key of receipts(run.server))
          expect(clientReceived.has(key), `receipt ${key} => delivered`).toBe(true);
      }),
      // Found by a random seed: the client closed while its ordered channel held the server's complete message
      // 1 behind a missing 0; the server had the receipt, the client's application never got it (R-CLOSE-2).
      { numRuns: 60, examples: [[receiptBehindGap]] },
    );
  });

  it('peer disappears: the close times out and unconfirmed lists exactly the unacknowledged messages', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 2500 }), (c, cutAtMs) => {
        const run = runClose(c, cutAtMs, { closeTimeoutMs });
        expect(run.result.reason, 'simulation idle after both closed').toBe('idle');
        const [clientClosed, ...moreClient] = closedEvents(run.client);
        expect(moreClient).toEqual([]);
        expect(clientClosed?.initiator).toBe('local');
        expectUnconfirmedExact(
          'client',
          clientClosed!,
          run.sent.client.map((s) => s.key),
          receipts(run.client),
        );
        // Not everything can have been confirmed once the cut precedes the last send: then the close times out.
        const lastSendMs = Math.max(...c.client.map((m) => m.atMs));
        if (cutAtMs <= lastSendMs) expect(clientClosed?.unconfirmed.length).toBeGreaterThan(0);
        expect(clientClosed?.code).toBe(
          clientClosed?.unconfirmed.length === 0 ? CloseCode.noError : CloseCode.closeTimeout,
        );
        const received = expectAtMostOnce('server', run.server.log.messages, run.sent.client);
        for (const key of receipts(run.client))
          expect(received.has(key), `receipt ${key} => delivered`).toBe(true);

        const [serverClosed, ...moreServer] = closedEvents(run.server);
        expect(moreServer).toEqual([]);
        if (run.server.connection) {
          // A CLOSE reaches the server only if the client closed before the cut; otherwise its idle timeout ends it.
          const expectedInitiator = run.server.log.closeFramesWhileOpen > 0 ? 'peer' : 'idle-timeout';
          expect(serverClosed?.initiator).toBe(expectedInitiator);
          expectUnconfirmedExact(
            'server',
            serverClosed!,
            run.sent.server.map((s) => s.key),
            receipts(run.server),
          );
        }
      }),
      { numRuns: 60 },
    );
  });
});
