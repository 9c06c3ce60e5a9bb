import { describe, expect, it } from 'vitest';
import { AppEndpoint } from '../../src/harness/app-endpoint.ts';
import type { Connection } from '../../src/protocol/connection.ts';
import { Endpoint } from '../../src/protocol/endpoint.ts';
import { x25519PublicKey } from '../../src/protocol/security/crypto.ts';
import { protectionOverheadBytes } from '../../src/protocol/security/packet-protection.ts';
import { SecureEndpoint } from '../../src/protocol/security/secure-endpoint.ts';
import { encodeHeader } from '../../src/protocol/wire/index.ts';
import type { SimEndpoint, Transmit } from '../../src/sim/endpoint.ts';
import { linkFromProfile } from '../../src/sim/link.ts';
import { SeededRandom } from '../../src/sim/random.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { assertConnectionInvariants } from '../support/invariants.ts';

// Flood against the security layer (spec §13, §14; R-LIMIT-6): 100k datagrams per simulated second from thousands
// of spoofed sources — noise, valid client Initials (anyone holding the server's public key can make one),
// protected-looking packets carrying the victim's connection id, and packets for unknown ids — while a legitimate
// client completes its handshake and a transfer. Spoofed sources create no connection state, and the server
// answers each source with at most 3× the bytes it received from it (R-HS-3).

const params = { maxMessageBytes: 1 << 20, maxChannels: 64, idleTimeoutMs: 30_000, fec: false };
const config = { maxDatagramBytes: 1200 - protectionOverheadBytes };

/** Counts what the server sends to each spoofed address. */
class Tap implements SimEndpoint {
  readonly sentTo = new Map<string, number>();
  constructor(private readonly inner: SimEndpoint) {}
  handleDatagram(now: number, from: string, bytes: Uint8Array): void {
    this.inner.handleDatagram(now, from, bytes);
  }
  handleTimeout(now: number): void {
    this.inner.handleTimeout(now);
  }
  pollTransmit(now: number): Transmit | undefined {
    const t = this.inner.pollTransmit(now);
    if (t?.to.startsWith('spoof')) this.sentTo.set(t.to, (this.sentTo.get(t.to) ?? 0) + t.bytes.length);
    return t;
  }
  nextTimeout(): number | undefined {
    return this.inner.nextTimeout();
  }
}

describe('flood against the security layer (R-LIMIT-6)', () => {
  it('spoofed sources create no state and get at most 3× back; the legitimate transfer completes exactly once', () => {
    const random = new SeededRandom(20_261_126);
    const staticPrivateKey = new Uint8Array(32);
    random.fill(staticPrivateKey);
    const serverPublicKey = x25519PublicKey(staticPrivateKey);
    const sim = new Simulation({ seed: 20_261_126, maxEventsPerInstant: 10_000_000 });
    const server = new SecureEndpoint({
      endpoint: new Endpoint({ random, acceptConnections: false, config }),
      random,
      security: { mode: 'static-key', staticPrivateKey },
      acceptConnections: true,
      params,
    });
    const client = new SecureEndpoint({
      endpoint: new Endpoint({ random, acceptConnections: false, config }),
      random,
      security: { mode: 'static-key', serverPublicKey },
      acceptConnections: false,
      params,
    });
    // Valid Initials an attacker makes with the public key, captured from throwaway client endpoints.
    const initials: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const forger = new SecureEndpoint({
        endpoint: new Endpoint({ random, acceptConnections: false, config }),
        random,
        security: { mode: 'static-key', serverPublicKey },
        acceptConnections: false,
        params,
      });
      forger.connect(0, 'server');
      const t = forger.pollTransmit(0);
      if (t) initials.push(t.bytes);
    }
    let established = false;
    let legit: Connection | undefined;
    const received = new Map<number, number>();
    const serverApp = (): void => {
      while (server.pollEvent()) {}
      for (const c of server.connections) {
        legit = c;
        while (c.pollEvent()) {}
        for (let m = c.receive(); m; m = c.receive())
          received.set(m.messageId, (received.get(m.messageId) ?? 0) + 1);
      }
    };
    const tap = new Tap(new AppEndpoint(server, serverApp));
    sim.addEndpoint('server', tap);
    sim.addEndpoint(
      'client',
      new AppEndpoint(client, () => {
        for (let e = client.pollEvent(); e; e = client.pollEvent())
          if (e.type === 'established') established = true;
      }),
    );
    const link = { delayMs: 20, lossPercent: 10 };
    sim.connect('client', 'server', linkFromProfile(link), linkFromProfile(link));
    const connection = client.connect(0, 'server');

    // The flood: 100 datagrams per millisecond from 5000 spoofed sources, injected at the server.
    let x = 12_345;
    const next = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const receivedFrom = new Map<string, number>();
    const kinds = { noise: 0, initial: 0, 'victim-id': 0, 'unknown-id': 0 };
    const floodFromMs = 10;
    const floodUntilMs = 1010;
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeapBytes = 0;
    let peakConnections = 0;
    for (let t = floodFromMs; t < floodUntilMs; t++) {
      sim.schedule(t, (now) => {
        for (let i = 0; i < 100; i++) {
          const r = next();
          const from = `spoof${r % 5000}:${1024 + (r % 60_000)}`;
          let bytes: Uint8Array;
          const kind = (['noise', 'initial', 'victim-id', 'unknown-id'] as const)[i % 4]!;
          kinds[kind]++;
          if (kind === 'initial') bytes = initials[r % initials.length]!;
          else if (kind === 'noise') bytes = new Uint8Array(20 + (r % 1000)).fill(r & 255);
          else {
            const id =
              kind === 'victim-id' ? connection.connectionId : new Uint8Array([r, r >> 8, r >> 16, r >> 24]);
            const buf = new Uint8Array(200);
            const at = encodeHeader(
              { type: 0, connectionId: id, keyPhase: false, packetNumber: r % 50_000 },
              buf,
              0,
            );
            for (let j = at; j < buf.length; j++) buf[j] = (r >> (j & 15)) & 255;
            bytes = buf;
          }
          receivedFrom.set(from, (receivedFrom.get(from) ?? 0) + bytes.length);
          tap.handleDatagram(now, from, bytes);
        }
      });
    }
    for (let t = 0; t < floodUntilMs; t += 5) {
      sim.schedule(t, (now) => {
        if (established && t % 10 === 0 && connection.state === 'open')
          connection.send(now, 0, new Uint8Array(500));
      });
    }
    for (let t = 0; t <= floodUntilMs + 500; t += 50) {
      sim.schedule(t, () => {
        peakConnections = Math.max(peakConnections, server.connections.length);
        peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed - heapBefore);
        if (legit) assertConnectionInvariants(legit, `server connection at ${sim.now} ms`);
      });
    }
    sim.run({ untilMs: floodUntilMs + 2000 });

    const flood = Object.values(kinds).reduce((a, b) => a + b, 0);
    expect(flood / ((floodUntilMs - floodFromMs) / 1000)).toBeGreaterThanOrEqual(100_000);
    expect(established).toBe(true);
    // Exactly one connection ever: the legitimate one. Spoofed Initials only got stateless Retries.
    expect(peakConnections).toBe(1);
    expect(server.stats.retriesSent).toBeGreaterThan(0);
    expect(server.stats.forged + server.stats.unroutable + server.stats.malformed).toBeGreaterThan(0);
    // Every message the client sent arrived exactly once.
    const sent = connection.stats.messagesSent;
    expect(sent).toBeGreaterThan(50);
    expect(received.size).toBe(sent);
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    // Anti-amplification: no spoofed address got more than 3× what it sent.
    let worst = 0;
    for (const [address, bytes] of tap.sentTo)
      worst = Math.max(worst, bytes / (receivedFrom.get(address) ?? 1));
    expect(worst).toBeLessThanOrEqual(3);
    expect(peakHeapBytes).toBeLessThan(256 * 1024 * 1024);
    const answered = [...tap.sentTo.values()].reduce((a, b) => a + b, 0);
    const floodBytes = [...receivedFrom.values()].reduce((a, b) => a + b, 0);
    console.log(
      `secure flood: ${flood} datagrams (${JSON.stringify(kinds)}) from ${receivedFrom.size} sources, ` +
        `${received.size}/${sent} messages exactly once, connections peak ${peakConnections}, ` +
        `answered ${answered} B for ${floodBytes} B (worst source ${worst.toFixed(2)}×), ` +
        `heap peak +${(peakHeapBytes / 2 ** 20).toFixed(1)} MiB, stats ${JSON.stringify(server.stats)}`,
    );
  });
});
