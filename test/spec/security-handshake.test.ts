import { describe, expect, it } from 'vitest';
import { x25519PublicKey } from '../../src/protocol/security/crypto.ts';
import {
  decodeHandshakeBody,
  ferryVersion,
  HandshakeKind,
  type HandshakeMessage,
  minInitialDatagramBytes,
  SecurityMode,
} from '../../src/protocol/security/handshake-codec.ts';
import { decodeHeader, PacketType } from '../../src/protocol/wire/header.ts';
import { SeededRandom } from '../../src/sim/random.ts';
import {
  clientAddress,
  drainSeqs,
  type Flight,
  SecurePair,
  seqMessage,
  serverAddress,
  testChannel,
  testParams,
} from './security-pair.ts';

// Spec §13.2–§13.4, §13.7: the handshake, address validation, version negotiation, parameters, modes, limits.

/** The HANDSHAKE message of a datagram, or undefined for other packet types. */
function handshakeOf(bytes: Uint8Array): HandshakeMessage | undefined {
  const d = decodeHeader(bytes);
  if (!d.ok || d.value.header.type !== PacketType.handshake) return undefined;
  const body = decodeHandshakeBody(bytes, d.value.bodyOffset);
  return body.ok ? body.value : undefined;
}

function kinds(flights: Flight[]): number[] {
  return flights.map((f) => handshakeOf(f.bytes)?.kind ?? -1);
}

const established = (pair: SecurePair) => () => pair.clientEvents.some((e) => e.type === 'established');

describe('spec §13.3 handshake', () => {
  it('R-HS-3, R-HS-4, R-HS-5: Initial → Retry (no server state) → Initial with cookie → ServerHello, then data', () => {
    const pair = new SecurePair({ seed: 3 });
    const client = pair.connect();
    pair.flush();
    expect(kinds(pair.wire)).toEqual([HandshakeKind.initial]);
    expect(pair.wire[0]!.bytes.length).toBeGreaterThanOrEqual(minInitialDatagramBytes); // R-HS-3 padding
    pair.run(15); // the Initial arrives; the server answers statelessly
    expect(kinds(pair.wire)).toEqual([HandshakeKind.initial, HandshakeKind.retry]);
    expect(pair.serverInner.connectionCount).toBe(0); // R-HS-4: no state before the cookie returns
    expect(pair.server.stats.retriesSent).toBe(1);
    expect(pair.run(200, established(pair))).toBe(true);
    expect(kinds(pair.wire).slice(0, 4)).toEqual([
      HandshakeKind.initial,
      HandshakeKind.retry,
      HandshakeKind.initial,
      HandshakeKind.serverHello,
    ]);
    // Only the second Initial carries the cookie of the Retry.
    const retry = handshakeOf(pair.wire[1]!.bytes);
    const second = handshakeOf(pair.wire[2]!.bytes);
    expect(retry?.kind === HandshakeKind.retry && second?.kind === HandshakeKind.initial).toBe(true);
    if (retry?.kind === HandshakeKind.retry && second?.kind === HandshakeKind.initial) {
      expect(second.cookie).toEqual(retry.cookie);
    }
    expect(pair.serverEvents.map((e) => e.type)).toEqual(['connection']);
    client.send(pair.nowMs, testChannel, seqMessage(7));
    const got: number[] = [];
    pair.run(1000, () => {
      got.push(...drainSeqs(pair.serverInner.connections[0]!));
      return got.length > 0;
    });
    expect(got).toEqual([7]);
  });

  it('R-HS-3: the server never sends an unvalidated address more than 3× what it received', () => {
    const pair = new SecurePair({ seed: 4 });
    pair.connect();
    pair.run(500, established(pair));
    const initial = pair.wire[0]!.bytes;
    // Spoofed sources (fresh connection ids): each gets exactly one small Retry per Initial and nothing else.
    for (let i = 0; i < 20; i++) {
      const spoofed = initial.slice();
      spoofed[1] = i;
      spoofed[2] = 0xee;
      pair.inject(`victim:${i}`, spoofed);
    }
    pair.inject('victim:small', initial.slice(0, minInitialDatagramBytes - 1));
    const toVictims = pair.wire.filter((f) => f.to.startsWith('victim'));
    expect(toVictims).toHaveLength(20);
    for (const f of toVictims) expect(f.bytes.length).toBeLessThanOrEqual(3 * initial.length);
    expect(pair.server.stats.initialTooSmall).toBe(1);
    expect(pair.serverInner.connectionCount).toBe(1);
  });

  it('R-HS-4: a cookie is bound to the address and the connection id, and expires', () => {
    const pair = new SecurePair({ seed: 5, limits: { cookieLifetimeMs: 1000 } });
    pair.connect();
    pair.run(25); // Initial, Retry, and the Initial with the cookie is on its way
    const withCookie = pair.wire[2]!.bytes;
    expect(handshakeOf(withCookie)?.kind).toBe(HandshakeKind.initial);
    pair.inject('elsewhere:1', withCookie); // same cookie, other address
    expect(pair.server.stats.invalidCookies).toBe(1);
    expect(pair.serverInner.connectionCount).toBe(0);
    const otherId = withCookie.slice();
    otherId[1]! ^= 0xff; // another connection id, same cookie
    pair.inject(clientAddress, otherId);
    expect(pair.server.stats.invalidCookies).toBe(2);
    pair.nowMs += 2500; // two lifetimes later the cookie no longer verifies
    pair.inject(clientAddress, withCookie);
    expect(pair.server.stats.invalidCookies).toBe(3);
    expect(pair.serverInner.connectionCount).toBe(0);
  });

  it('R-HS-5: a client that pins another key never connects; the server cannot open its Initial', () => {
    const wrong = x25519PublicKey(new Uint8Array(32).fill(9));
    const pair = new SecurePair({
      seed: 6,
      client: { mode: 'static-key', serverPublicKey: wrong },
      limits: { handshakeTimeoutMs: 2000 },
    });
    pair.connect();
    pair.run(3000);
    expect(pair.clientEvents.map((e) => e.type)).toEqual(['handshake-failed']);
    expect(pair.server.stats.forged).toBeGreaterThan(0);
    expect(pair.serverInner.connectionCount).toBe(0);
  });

  it('R-HS-5: PSK mode connects with the same key and fails with another', () => {
    const psk = new Uint8Array(32).fill(1);
    const ok = new SecurePair({ seed: 7, server: { mode: 'psk', psk }, client: { mode: 'psk', psk } });
    ok.connect();
    expect(ok.run(500, established(ok))).toBe(true);
    const bad = new SecurePair({
      seed: 7,
      server: { mode: 'psk', psk },
      client: { mode: 'psk', psk: new Uint8Array(32).fill(2) },
      limits: { handshakeTimeoutMs: 1000 },
    });
    bad.connect();
    bad.run(2000);
    expect(bad.clientEvents.map((e) => e.type)).toEqual(['handshake-failed']);
    expect(bad.server.stats.forged).toBeGreaterThan(0);
  });

  it('R-HS-5: the handshake completes through 30% loss each way (Initials are retransmitted)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const loss = new SeededRandom(seed + 1000);
      const pair = new SecurePair({
        seed,
        drop: () => loss.uint32() % 100 < 30,
        limits: { handshakeTimeoutMs: 30_000 },
      });
      pair.connect();
      expect(pair.run(30_000, established(pair))).toBe(true);
    }
  });
});

describe('spec §13.2 versions', () => {
  it('R-HS-1, R-HS-2: an unknown version gets a stateless version negotiation reply; the client gives up', () => {
    const pair = new SecurePair({ seed: 8 });
    pair.connect();
    pair.flush();
    const initial = pair.wire[0]!.bytes.slice();
    const d = decodeHeader(initial);
    expect(d.ok).toBe(true);
    const at = d.ok ? d.value.bodyOffset + 1 : 0;
    expect(new DataView(initial.buffer).getUint32(at)).toBe(ferryVersion);
    new DataView(initial.buffer).setUint32(at, 0x0a0a0a0a);
    pair.inject('prober:1', initial);
    const reply = pair.wire.at(-1)!;
    expect(reply.to).toBe('prober:1');
    expect(handshakeOf(reply.bytes)).toEqual({
      kind: HandshakeKind.versionNegotiation,
      versions: [ferryVersion],
    });
    expect(reply.bytes.length).toBeLessThan(initial.length);
    expect(pair.serverInner.connectionCount).toBe(0);
    // The client accepts a reply only if it does not list its own version.
    pair.inject(serverAddress, reply.bytes, pair.clientAddress);
    expect(pair.client.stats.unexpected).toBe(1);
    const other = reply.bytes.slice();
    new DataView(other.buffer).setUint32(other.length - 4, 2);
    pair.inject(serverAddress, other, pair.clientAddress);
    expect(pair.clientEvents.at(-1)).toMatchObject({ type: 'handshake-failed', reason: 'version-mismatch' });
  });
});

describe('spec §13.4 parameters', () => {
  it('R-HS-6: each limit is the smaller of the two; FEC only when both support it', () => {
    const pair = new SecurePair({
      seed: 9,
      serverParams: { maxMessageBytes: 5000, maxChannels: 500, idleTimeoutMs: 10_000, fec: true },
    });
    pair.connect();
    pair.run(500, established(pair));
    const serverSide = pair.serverEvents[0];
    const clientSide = pair.clientEvents[0];
    const expected = {
      maxMessageBytes: 5000,
      maxChannels: testParams.maxChannels,
      idleTimeoutMs: 10_000,
      fec: false,
    };
    expect(serverSide?.type === 'connection' && serverSide.params).toMatchObject(expected);
    expect(clientSide?.type === 'established' && clientSide.params).toMatchObject(expected);
  });
});

describe('spec §13.1 modes', () => {
  it('R-HS-7: plaintext and encrypted sides never connect, in either direction', () => {
    const plainClient = new SecurePair({
      seed: 10,
      client: { mode: 'plaintext' },
      limits: { handshakeTimeoutMs: 500 },
    });
    plainClient.connect();
    plainClient.run(1000);
    expect(plainClient.server.stats.modeMismatches).toBeGreaterThan(0);
    expect(plainClient.serverInner.connectionCount).toBe(0);
    const plainServer = new SecurePair({
      seed: 10,
      server: { mode: 'plaintext' },
      limits: { handshakeTimeoutMs: 500 },
    });
    plainServer.connect();
    plainServer.run(1000);
    expect(plainServer.clientEvents.map((e) => e.type)).toEqual(['handshake-failed']);
  });

  it('R-HS-7: an attacker rewriting the ServerHello to plaintext cannot downgrade the client', () => {
    const pair = new SecurePair({ seed: 11, limits: { handshakeTimeoutMs: 1000 } });
    pair.connect();
    pair.run(35); // the ServerHello is in flight
    const hello = pair.wire.find((f) => handshakeOf(f.bytes)?.kind === HandshakeKind.serverHello)!;
    const d = decodeHeader(hello.bytes);
    const downgraded = hello.bytes.slice();
    if (d.ok) downgraded[d.value.bodyOffset + 5] = SecurityMode.plaintext;
    pair.inject(serverAddress, downgraded, pair.clientAddress);
    expect(pair.client.stats.modeMismatches).toBe(1);
    expect(pair.clientEvents).toEqual([]);
    expect(pair.run(500, established(pair))).toBe(true); // the genuine ServerHello still completes it
  });

  it('R-HS-7: two plaintext sides connect and exchange unprotected packets', () => {
    const pair = new SecurePair({ seed: 12, server: { mode: 'plaintext' }, client: { mode: 'plaintext' } });
    const c = pair.connect();
    expect(pair.run(500, established(pair))).toBe(true);
    c.send(pair.nowMs, testChannel, seqMessage(1));
    const got: number[] = [];
    pair.run(1000, () => {
      got.push(...drainSeqs(pair.serverInner.connections[0]!));
      return got.length > 0;
    });
    expect(got).toEqual([1]);
  });
});

describe('spec §13.7 limits', () => {
  it('R-HS-8: pending handshakes, per-source rate and connection count are bounded, drops counted', () => {
    const pending = new SecurePair({ seed: 13, limits: { maxPendingHandshakes: 1 } });
    pending.connect();
    pending.connect();
    pending.run(2000, () => pending.clientEvents.filter((e) => e.type === 'established').length === 2);
    expect(pending.server.stats.pendingHandshakeLimit).toBeGreaterThan(0);
    expect(pending.clientEvents.filter((e) => e.type === 'established')).toHaveLength(2); // later, once confirmed

    const rate = new SecurePair({
      seed: 14,
      limits: { handshakesPerSecondPerSource: 1, handshakeBurstPerSource: 1, handshakeTimeoutMs: 800 },
    });
    for (let i = 0; i < 3; i++) rate.connect();
    rate.run(1000);
    expect(rate.server.stats.rateLimited).toBeGreaterThan(0);
    expect(rate.serverInner.connectionCount).toBeLessThan(3);

    const full = new SecurePair({ seed: 15, maxConnections: 1, limits: { handshakeTimeoutMs: 500 } });
    full.connect();
    full.connect();
    full.run(1000);
    expect(full.server.stats.connectionLimit).toBeGreaterThan(0);
    expect(full.serverInner.connectionCount).toBe(1);
  });

  it('R-HS-8: a server connection whose client never confirms is dropped after the handshake timeout', () => {
    const pair = new SecurePair({ seed: 16, limits: { handshakeTimeoutMs: 300 } });
    // Nothing from the client after its second Initial reaches the server.
    let initials = 0;
    pair.options.drop = (f) => f.from === clientAddress && !(handshakeOf(f.bytes) && ++initials <= 2);
    pair.connect();
    pair.run(1000);
    expect(pair.serverEvents.map((e) => e.type)).toEqual(['connection', 'handshake-failed']);
    expect(pair.server.stats.handshakesFailed).toBe(1);
  });
});
