import fc from 'fast-check';
import type { Connection } from '../../src/protocol/connection.ts';
import { Endpoint, type EndpointTransmit } from '../../src/protocol/endpoint.ts';
import { x25519PublicKey } from '../../src/protocol/security/crypto.ts';
import { protectionOverheadBytes } from '../../src/protocol/security/packet-protection.ts';
import { SecureEndpoint, type SecureEndpointEvent } from '../../src/protocol/security/secure-endpoint.ts';
import { SeededRandom } from '../../src/sim/random.ts';
import { applyMutation, type Mutation, mutationArb } from './fuzz-harness.ts';
import { connectionInvariantViolations } from './invariants.ts';

const serverAddress = 'server:443';
const clientAddress = 'client:5000';

/** Where the attacked side is in its life when the hostile datagrams start (spec §13, §10). */
export type SecureFuzzState = 'before-handshake' | 'mid-handshake' | 'established' | 'closing' | 'closed';

/** All of {@link SecureFuzzState}. */
export const secureFuzzStates: readonly SecureFuzzState[] = [
  'before-handshake',
  'mid-handshake',
  'established',
  'closing',
  'closed',
];

/** A message payload carrying its sequence and a pattern derived from it, so a forged one is recognised. */
function payload(sequence: number): Uint8Array {
  const data = new Uint8Array(8 + ((sequence * 53) % 900));
  new DataView(data.buffer).setUint32(0, sequence);
  for (let i = 4; i < data.length; i++) data[i] = (sequence * 7 + i) & 255;
  return data;
}

function sequenceOf(data: Uint8Array): number | undefined {
  if (data.length < 8) return undefined;
  const sequence = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (data.length !== 8 + ((sequence * 53) % 900)) return undefined;
  for (let i = 4; i < data.length; i++) if (data[i] !== ((sequence * 7 + i) & 255)) return undefined;
  return sequence;
}

/**
 * A client and a server {@link SecureEndpoint} (static key) over an in-memory network with 10% loss and a 5 ms
 * delay, driven in virtual time; the client sends numbered messages that the server checks exactly once and
 * intact. Every datagram on the wire is kept as mutation material (Initials, Retries, ServerHellos, protected
 * DATA). Spoofed sources are tracked for the 3× anti-amplification bound (R-HS-3).
 */
class SecureMiniPair {
  nowMs = 0;
  readonly server: SecureEndpoint;
  readonly client: SecureEndpoint;
  clientConnection: Connection | undefined;
  established = false;
  readonly wire: Uint8Array[] = [];
  /** Bytes received from and sent to each spoofed address. */
  readonly spoofed = new Map<string, { received: number; sent: number }>();
  readonly problems: string[] = [];
  private inFlight: { to: string; from: string; bytes: Uint8Array; atMs: number }[] = [];
  private readonly received = new Set<number>();
  private sent = 0;
  private readonly random: SeededRandom;

  /** `keySeed` draws the server's static key; `seed` everything else (cookie secret, ephemeral keys, loss). */
  constructor(seed: number, keySeed = seed) {
    this.random = new SeededRandom(seed);
    const staticPrivateKey = new Uint8Array(32);
    new SeededRandom(keySeed).fill(staticPrivateKey);
    const config = { maxDatagramBytes: 1200 - protectionOverheadBytes };
    const params = { maxMessageBytes: 1 << 20, maxChannels: 64, idleTimeoutMs: 30_000, fec: false };
    this.server = new SecureEndpoint({
      endpoint: new Endpoint({ random: this.random, acceptConnections: false, config }),
      random: this.random,
      security: { mode: 'static-key', staticPrivateKey },
      acceptConnections: true,
      params,
    });
    this.client = new SecureEndpoint({
      endpoint: new Endpoint({ random: this.random, acceptConnections: false, config }),
      random: this.random,
      security: { mode: 'static-key', serverPublicKey: x25519PublicKey(staticPrivateKey) },
      acceptConnections: false,
      params,
    });
  }

  connect(): void {
    this.clientConnection = this.client.connect(this.nowMs, serverAddress);
    this.flush();
  }

  /** Advances virtual time by `ms`, delivering datagrams and firing timers, with the client sending. */
  run(ms: number): void {
    const until = this.nowMs + ms;
    while (this.nowMs < until) {
      this.nowMs += 1;
      const due = this.inFlight.filter((f) => f.atMs <= this.nowMs);
      this.inFlight = this.inFlight.filter((f) => f.atMs > this.nowMs);
      for (const f of due) this.deliver(f.to, f.from, f.bytes);
      for (const side of [this.server, this.client]) {
        const t = side.nextTimeout();
        if (t !== undefined && t <= this.nowMs) side.handleTimeout(this.nowMs);
      }
      const c = this.clientConnection;
      if (this.established && c?.state === 'open' && this.nowMs % 3 === 0 && c.canSend(1000)) {
        c.send(this.nowMs, 0, payload(this.sent++));
      }
      this.flush();
    }
  }

  /** A hostile datagram to `to`, from the legitimate peer's address or a spoofed one. */
  inject(to: 'server' | 'client', from: string, bytes: Uint8Array): void {
    if (from.startsWith('spoof')) {
      const s = this.spoofed.get(from) ?? { received: 0, sent: 0 };
      s.received += bytes.length;
      this.spoofed.set(from, s);
    }
    this.deliver(to === 'server' ? serverAddress : clientAddress, from, bytes);
    this.flush();
  }

  private deliver(to: string, from: string, bytes: Uint8Array): void {
    if (to === serverAddress) this.server.handleDatagram(this.nowMs, from, bytes);
    else if (to === clientAddress) this.client.handleDatagram(this.nowMs, from, bytes);
  }

  flush(): void {
    this.drain(this.server, serverAddress, this.handleServerEvent);
    this.drain(this.client, clientAddress, this.handleClientEvent);
  }

  private readonly handleServerEvent = (_e: SecureEndpointEvent): void => {};
  private readonly handleClientEvent = (e: SecureEndpointEvent): void => {
    if (e.type === 'established') this.established = true;
  };

  private drain(side: SecureEndpoint, from: string, onEvent: (e: SecureEndpointEvent) => void): void {
    for (let e = side.pollEvent(); e; e = side.pollEvent()) onEvent(e);
    let count = 0;
    for (
      let t: EndpointTransmit | undefined = side.pollTransmit(this.nowMs);
      t;
      t = side.pollTransmit(this.nowMs)
    ) {
      if (++count > 10_000) throw new Error(`${from}: pollTransmit never drains`);
      this.wire.push(t.bytes);
      if (this.wire.length > 256) this.wire.splice(8, 1); // keep the handshake's first datagrams
      const spoof = this.spoofed.get(t.to);
      if (spoof) spoof.sent += t.bytes.length;
      if (this.random.uint32() / 2 ** 32 >= 0.1)
        this.inFlight.push({ to: t.to, from, bytes: t.bytes, atMs: this.nowMs + 5 });
    }
    for (const c of side.connections) {
      while (c.pollEvent()) {}
      for (let m = c.receive(); m; m = c.receive()) {
        const sequence = sequenceOf(m.data);
        if (sequence === undefined || sequence >= this.sent) this.problems.push(`forged message delivered`);
        else if (this.received.has(sequence)) this.problems.push(`message ${sequence} delivered twice`);
        else this.received.add(sequence);
      }
    }
  }

  /** Every invariant the security layer promises, [] when all hold. */
  check(): string[] {
    const broken = [...this.problems];
    if (this.server.connections.length > 1)
      broken.push(`server holds ${this.server.connections.length} connections`);
    for (const c of [...this.server.connections, ...this.client.connections]) {
      broken.push(...connectionInvariantViolations(c));
    }
    for (const [address, s] of this.spoofed) {
      if (s.sent > 3 * s.received)
        broken.push(`${address}: sent ${s.sent} B for ${s.received} B (amplification)`);
    }
    return broken;
  }

  get messagesDelivered(): number {
    return this.received.size;
  }
}

/** One handshake-stage fuzz case. */
export interface SecureFuzzCase {
  seed: number;
  target: 'server' | 'client';
  state: SecureFuzzState;
  datagrams: { mutation: Mutation; spoofed: number | undefined; gapMs: number }[];
}

/** What a case did. */
export interface SecureFuzzOutcome {
  datagrams: number;
  /** Whether the legitimate connection survived every hostile datagram (it must, once established). */
  survived: boolean;
  delivered: number;
  forgedOrReplayed: number;
}

/**
 * Runs the secure pair to the case's state, then sends each hostile datagram — a mutation of a datagram seen on
 * the wire (handshake packets included), from the legitimate peer's address or a spoofed one — to the target,
 * with legitimate traffic in between. Throws when an invariant breaks: anything thrown, a forged or duplicate
 * message delivered, state for a spoofed source, more than 3× amplification, or the established connection
 * closed by hostile input.
 */
export function runSecureFuzzCase(fuzzCase: SecureFuzzCase): SecureFuzzOutcome {
  const pair = new SecureMiniPair(fuzzCase.seed);
  let pool: Uint8Array[] = [];
  if (fuzzCase.state === 'before-handshake') {
    // Material from another session with the same server key: its Initial (with a cookie of that server
    // instance), ServerHello and protected packets. Another instance has another cookie secret, as in production.
    const other = new SecureMiniPair(fuzzCase.seed + 1, fuzzCase.seed);
    other.connect();
    other.run(60);
    pool = other.wire.slice();
  } else {
    pair.connect();
    if (fuzzCase.state !== 'mid-handshake') pair.run(80);
    if (fuzzCase.state === 'closing') pair.clientConnection?.close(pair.nowMs);
    if (fuzzCase.state === 'closed') pair.clientConnection?.close(pair.nowMs, { graceful: false });
    pair.flush();
    if (fuzzCase.state === 'closed') pair.run(2000);
  }
  const protect = fuzzCase.state === 'established';
  for (const [i, { mutation, spoofed, gapMs }] of fuzzCase.datagrams.entries()) {
    if (gapMs > 0) pair.run(gapMs);
    const material = pool.length > 0 ? [...pool, ...pair.wire] : pair.wire;
    const from =
      spoofed === undefined
        ? fuzzCase.target === 'server'
          ? clientAddress
          : serverAddress
        : `spoof:${spoofed}`;
    pair.inject(fuzzCase.target, from, applyMutation(material, mutation));
    const broken = pair.check();
    if (protect && pair.clientConnection?.state !== 'open')
      broken.push('hostile input closed the connection');
    if (broken.length > 0)
      throw new Error(`datagram ${i} (${mutation.op} from ${from}): ${broken.join('; ')}`);
  }
  if (fuzzCase.state === 'before-handshake') pair.connect();
  pair.run(300);
  const broken = pair.check();
  if (broken.length > 0) throw new Error(`after the case: ${broken.join('; ')}`);
  const s = fuzzCase.target === 'server' ? pair.server.stats : pair.client.stats;
  return {
    datagrams: fuzzCase.datagrams.length,
    survived: pair.clientConnection?.state === 'open',
    delivered: pair.messagesDelivered,
    forgedOrReplayed: s.forged + s.replayed,
  };
}

/** Arbitrary handshake-stage fuzz cases of up to `maxDatagrams` hostile datagrams. */
export function secureFuzzCaseArb(maxDatagrams: number): fc.Arbitrary<SecureFuzzCase> {
  return fc.record({
    seed: fc.nat({ max: 2 ** 30 }),
    target: fc.constantFrom('server' as const, 'client' as const),
    state: fc.constantFrom(...secureFuzzStates),
    datagrams: fc.array(
      fc.record({
        mutation: mutationArb,
        spoofed: fc.option(fc.nat({ max: 50 }), { nil: undefined, freq: 3 }),
        gapMs: fc.oneof(fc.constant(0), fc.nat({ max: 4 })),
      }),
      { minLength: 1, maxLength: maxDatagrams, size: 'max' },
    ),
  });
}
