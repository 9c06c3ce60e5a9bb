import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FerryPair, type Side } from '../../src/harness/ferry-pair.ts';
import type { Connection } from '../../src/protocol/connection.ts';
import { Endpoint } from '../../src/protocol/endpoint.ts';
import type { RandomSource } from '../../src/protocol/random.ts';
import { decodeFrames, decodeHeader, encodeHeader } from '../../src/protocol/wire/index.ts';

// Bad input at the Endpoint and Connection (R-WIRE-13, spec §3.2): datagrams for unknown connection ids on a
// non-accepting endpoint are dropped and counted; random bytes never throw at any connection state; a malformed
// datagram changes nothing, so the connection still delivers what is sent afterwards.

/** A counter-based RandomSource: deterministic connection ids for standalone endpoints. */
function counterRandom(start: number): RandomSource {
  let x = start >>> 0;
  const next = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
  return {
    uint32: next,
    fill: (bytes) => {
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() >>> 24;
    },
  };
}

/** A DATA-packet header for `connectionId` and packet number `packetNumber`, followed by `body`. */
function withHeader(connectionId: Uint8Array, packetNumber: number, body: Uint8Array): Uint8Array {
  const buf = new Uint8Array(64 + body.length);
  const at = encodeHeader({ type: 0, connectionId, keyPhase: false, packetNumber }, buf, 0);
  buf.set(body, at);
  return buf.slice(0, at + body.length);
}

/** Whether a DATA packet decoder rejects `bytes` (R-WIRE-13: such a packet must change nothing). */
function isMalformed(bytes: Uint8Array): boolean {
  const header = decodeHeader(bytes);
  if (!header.ok || header.value.header.type !== 0) return true;
  return !decodeFrames(bytes, header.value.bodyOffset).ok;
}

/** Garbage for a connection: pure noise, or a valid DATA header carrying its id followed by a noisy body. */
const garbageArb = fc.oneof(
  fc.record({ noise: fc.uint8Array({ maxLength: 1500 }) }),
  fc.record({ packetNumber: fc.nat({ max: 2 ** 20 }), body: fc.uint8Array({ maxLength: 200 }) }),
);

/** The datagram a garbage description stands for, addressed to `connectionId`. */
function garbageBytes(
  g: typeof garbageArb extends fc.Arbitrary<infer T> ? T : never,
  connectionId: Uint8Array,
) {
  return 'noise' in g ? g.noise : withHeader(connectionId, g.packetNumber, g.body);
}

/** Datagrams with arbitrary (mostly unknown) connection ids. */
const strangerArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .record({
      id: fc.oneof(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
      ),
      packetNumber: fc.nat({ max: 2 ** 20 }),
      body: fc.uint8Array({ maxLength: 100 }),
    })
    .map(({ id, packetNumber, body }) => withHeader(id, packetNumber, body)),
);

describe('endpoint: datagrams it cannot route', () => {
  it('a non-accepting endpoint drops and counts every datagram for an unknown connection id', () => {
    fc.assert(
      fc.property(fc.array(strangerArb, { maxLength: 40 }), (datagrams) => {
        const endpoint = new Endpoint({ random: counterRandom(1), acceptConnections: false });
        for (const [i, bytes] of datagrams.entries()) endpoint.handleDatagram(i, 'stranger', bytes);
        const { malformed, unroutable } = endpoint.stats;
        expect(malformed + unroutable).toBe(datagrams.length);
        expect(malformed).toBe(datagrams.filter((d) => !decodeHeader(d).ok).length);
        expect(endpoint.connections).toEqual([]);
        expect(endpoint.pollEvent()).toBeUndefined();
        expect(endpoint.pollTransmit(datagrams.length)).toBeUndefined();
        expect(endpoint.nextTimeout()).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('a client endpoint routes only its own id; an accepting endpoint never exceeds maxConnections', () => {
    fc.assert(
      fc.property(
        fc.array(strangerArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (datagrams, max) => {
          const client = new Endpoint({ random: counterRandom(2), acceptConnections: false });
          const connection = client.connect(0, 'server');
          const server = new Endpoint({
            random: counterRandom(3),
            acceptConnections: true,
            maxConnections: max,
          });
          for (const [i, bytes] of datagrams.entries()) {
            client.handleDatagram(i, 'server', bytes);
            server.handleDatagram(i, 'client', bytes);
          }
          // None of the random ids is the client's (4 random bytes): all are counted, none reaches the connection.
          const mine = datagrams.filter((d) => {
            const h = decodeHeader(d);
            const id = h.ok ? h.value.header.connectionId : undefined;
            return (
              id?.length === connection.connectionId.length &&
              id.every((b, i) => b === connection.connectionId[i])
            );
          }).length;
          expect(client.stats.malformed + client.stats.unroutable).toBe(datagrams.length - mine);
          expect(server.connections.length).toBeLessThanOrEqual(max);
          let opened = 0;
          while (server.pollEvent()) opened++;
          expect(opened).toBe(server.connections.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** When garbage is injected, relative to the normal traffic of the pair. */
const phaseArb = fc.constantFrom(
  'before-data' as const,
  'after-data' as const,
  'closing' as const,
  'closed' as const,
);

describe('connection: garbage at any state', () => {
  it('never throws; malformed datagrams leave the connection usable', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        phaseArb,
        fc.constantFrom<Side>('client', 'server'),
        fc.array(garbageArb, { minLength: 1, maxLength: 12 }),
        (seed, phase, target, garbage) => {
          const received: string[] = [];
          const closed: string[] = [];
          const pair = new FerryPair({
            seed,
            forward: { delayMs: 10, lossPercent: 10 },
            reverse: { delayMs: 10, lossPercent: 10 },
            onMessage: (side, _now, m) =>
              received.push(`${side}:${m.channelId}:${m.messageId}:${m.data.length}`),
            onEvent: (side, _now, e) => {
              if (e.type === 'closed') closed.push(`${side}:${e.initiator}:${e.reason}`);
            },
          });
          const bytes = garbage.map((g) => garbageBytes(g, pair.client.connectionId));
          const allMalformed = bytes.every(isMalformed);
          const inject = (nowMs: number): void => {
            // Before any data only the client's connection exists.
            const connection: Connection | undefined = pair.connection(
              phase === 'before-data' ? 'client' : target,
            );
            for (const b of bytes) connection?.handleDatagram(nowMs, b);
          };
          // A well-formed forged packet may close the connection (v0 is unauthenticated); a malformed one may not.
          const send = (side: Side, nowMs: number, channelId: number, size: number): void => {
            const connection = pair.connection(side);
            if (connection?.state !== 'open') {
              expect(allMalformed, `${side} closed by well-formed input only`).toBe(false);
              return;
            }
            connection.send(nowMs, channelId, new Uint8Array(size));
          };
          pair.at(0, (now) => {
            if (phase === 'before-data') inject(now);
            send('client', now, 0, 100);
          });
          pair.at(500, (now) => send('server', now, 4, 3000));
          if (phase === 'after-data') pair.at(1500, inject);
          pair.at(2000, (now) => send('client', now, 0, 2500));
          pair.at(2100, (now) => send('server', now, 4, 7));
          if (phase === 'closing' || phase === 'closed') {
            pair.at(3000, (now) => pair.client.close(now));
            // Within a millisecond of close() the client is draining; 40 s later both sides are closed.
            pair.at(phase === 'closing' ? 3001 : 40_000, inject);
          }
          pair.sim.run({ untilMs: 60_000 }); // throws if anything threw inside
          if (!allMalformed) return; // a well-formed packet may legitimately act (unauthenticated v0): only no throw
          expect(received.sort()).toEqual([
            'client:4:0:3000',
            'client:4:1:7',
            'server:0:0:100',
            'server:0:1:2500',
          ]);
          if (phase === 'before-data' || phase === 'after-data') expect(closed).toEqual([]);
          else {
            // The server ends by the CLOSE, or by idle timeout if every CLOSE was lost (exact rule: graceful-close).
            expect(closed.filter((c) => c.startsWith('client:'))).toEqual(['client:local:']);
            const server = closed.filter((c) => c.startsWith('server:'));
            expect(server.length).toBe(1);
            expect(['server:peer:', 'server:idle-timeout:idle timeout']).toContain(server[0]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
