import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import type { Connection } from '../../src/protocol/connection.ts';
import type { ConnectionConfig } from '../../src/protocol/connection-config.ts';
import { Endpoint, type EndpointTransmit } from '../../src/protocol/endpoint.ts';
import { x25519PublicKey } from '../../src/protocol/security/crypto.ts';
import type { TransportParams } from '../../src/protocol/security/handshake-codec.ts';
import { protectionOverheadBytes } from '../../src/protocol/security/packet-protection.ts';
import {
  type EndpointDriver,
  SecureEndpoint,
  type SecureEndpointEvent,
} from '../../src/protocol/security/secure-endpoint.ts';
import type { SecurityLimits, SecuritySettings } from '../../src/protocol/security/security-options.ts';
import { SeededRandom } from '../../src/sim/random.ts';

/** The reliable-ordered channel the pair tests send on. */
export const testChannel = makeChannelId(0, 'client', ChannelMode.reliableOrdered);

/** Announced parameters used by both sides unless a test overrides them. */
export const testParams: Omit<TransportParams, 'resetToken'> = {
  maxMessageBytes: 1 << 20,
  maxChannels: 64,
  idleTimeoutMs: 30_000,
  fec: false,
};

/** A datagram in flight in the {@link SecurePair}'s network. */
export interface Flight {
  from: string;
  to: string;
  bytes: Uint8Array;
  atMs: number;
}

/** Options of a {@link SecurePair}. */
export interface SecurePairOptions {
  seed?: number;
  /** Security of each side; default: static key (the server's private key drawn from the seed). */
  server?: SecuritySettings;
  client?: SecuritySettings;
  limits?: Partial<SecurityLimits>;
  /** One-way delay (ms). */
  delayMs?: number;
  /** Decides per datagram whether the network drops it. */
  drop?: (flight: Flight) => boolean;
  config?: Partial<ConnectionConfig>;
  /** Wraps the server's / client's inner endpoint (e.g. in a FEC layer). */
  wrapServer?: (endpoint: Endpoint) => EndpointDriver;
  wrapClient?: (endpoint: Endpoint) => EndpointDriver;
  serverParams?: Omit<TransportParams, 'resetToken'>;
  /** The server endpoint's connection limit. */
  maxConnections?: number;
}

/** Server address in the pair's network. */
export const serverAddress = 'server:443';
/** Client address in the pair's network. */
export const clientAddress = 'client:5000';

/**
 * A client and a server SecureEndpoint over an in-memory network with a fixed delay, driven in virtual time (no
 * clock, no sockets). Every datagram passes `tap` (observe, drop, inject) and is recorded in `wire`.
 */
export class SecurePair {
  nowMs = 0;
  server: SecureEndpoint;
  readonly client: SecureEndpoint;
  serverInner: Endpoint;
  readonly clientInner: Endpoint;
  readonly serverEvents: SecureEndpointEvent[] = [];
  readonly clientEvents: SecureEndpointEvent[] = [];
  /** Every datagram sent, in order. */
  readonly wire: Flight[] = [];
  readonly random: SeededRandom;
  readonly serverPublicKey: Uint8Array;
  /** The client's current source address (tests move it). */
  clientAddress = clientAddress;
  private inFlight: Flight[] = [];
  private readonly staticPrivateKey: Uint8Array;

  constructor(readonly options: SecurePairOptions = {}) {
    this.random = new SeededRandom(options.seed ?? 1);
    const staticPrivateKey = new Uint8Array(32);
    this.random.fill(staticPrivateKey);
    this.staticPrivateKey = staticPrivateKey;
    this.serverPublicKey = x25519PublicKey(staticPrivateKey);
    const config = this.config();
    [this.serverInner, this.server] = this.makeServer();
    this.clientInner = new Endpoint({ random: this.random, acceptConnections: false, config });
    this.client = new SecureEndpoint({
      endpoint: this.clientInner,
      driver: options.wrapClient?.(this.clientInner),
      random: this.random,
      security: options.client ?? { mode: 'static-key', serverPublicKey: this.serverPublicKey },
      acceptConnections: false,
      params: testParams,
      limits: options.limits,
    });
  }

  /** A server that lost all state (a restart with the same credentials); datagrams in flight are kept. */
  restartServer(): void {
    [this.serverInner, this.server] = this.makeServer();
  }

  private config(): Partial<ConnectionConfig> {
    return { maxDatagramBytes: 1200 - protectionOverheadBytes, ...this.options.config };
  }

  private makeServer(): [Endpoint, SecureEndpoint] {
    const options = this.options;
    const inner = new Endpoint({
      random: this.random,
      acceptConnections: false,
      config: this.config(),
      maxConnections: options.maxConnections,
    });
    const server = new SecureEndpoint({
      endpoint: inner,
      driver: options.wrapServer?.(inner),
      random: this.random,
      security: options.server ?? { mode: 'static-key', staticPrivateKey: this.staticPrivateKey },
      acceptConnections: true,
      params: options.serverParams ?? testParams,
      limits: options.limits,
    });
    return [inner, server];
  }

  /** Starts a client connection. */
  connect(): Connection {
    return this.client.connect(this.nowMs, serverAddress);
  }

  /** Delivers `bytes` to the server now, as if sent from `from`. */
  inject(from: string, bytes: Uint8Array, to = serverAddress): void {
    if (to === serverAddress) this.server.handleDatagram(this.nowMs, from, bytes);
    else this.client.handleDatagram(this.nowMs, from, bytes);
    this.flush();
  }

  /** Drains both endpoints' output into the network and their events into the event lists. */
  flush(): void {
    this.drain(this.server, serverAddress);
    this.drain(this.client, this.clientAddress);
  }

  /** Runs until `untilMs` (virtual), or until `done()` holds. Returns whether `done()` held. */
  run(untilMs: number, done: () => boolean = () => false): boolean {
    this.flush();
    while (this.nowMs <= untilMs) {
      if (done()) return true;
      const next = this.nextEventMs();
      if (next === undefined || next > untilMs) {
        this.nowMs = untilMs;
        return done();
      }
      this.nowMs = Math.max(this.nowMs, next);
      const due = this.inFlight.filter((f) => f.atMs <= this.nowMs);
      this.inFlight = this.inFlight.filter((f) => f.atMs > this.nowMs);
      for (const f of due) {
        if (f.to === serverAddress) this.server.handleDatagram(this.nowMs, f.from, f.bytes);
        else if (f.to === this.clientAddress) this.client.handleDatagram(this.nowMs, f.from, f.bytes);
      }
      for (const side of [this.server, this.client]) {
        const t = side.nextTimeout();
        if (t !== undefined && t <= this.nowMs) side.handleTimeout(this.nowMs);
      }
      this.flush();
    }
    return done();
  }

  private nextEventMs(): number | undefined {
    let t: number | undefined;
    for (const f of this.inFlight) if (t === undefined || f.atMs < t) t = f.atMs;
    for (const side of [this.server, this.client]) {
      const s = side.nextTimeout();
      if (s !== undefined && (t === undefined || s < t)) t = s;
    }
    return t === undefined ? undefined : Math.max(t, this.nowMs);
  }

  private drain(side: SecureEndpoint, from: string): void {
    const events = side === this.server ? this.serverEvents : this.clientEvents;
    for (let e = side.pollEvent(); e; e = side.pollEvent()) events.push(e);
    for (
      let t: EndpointTransmit | undefined = side.pollTransmit(this.nowMs);
      t;
      t = side.pollTransmit(this.nowMs)
    ) {
      const flight: Flight = {
        from,
        to: t.to,
        bytes: t.bytes,
        atMs: this.nowMs + (this.options.delayMs ?? 10),
      };
      this.wire.push(flight);
      if (!this.options.drop?.(flight)) this.inFlight.push(flight);
    }
    for (let e = side.pollEvent(); e; e = side.pollEvent()) events.push(e);
  }
}

/** Received messages of `connection` on any channel, as their first 4 bytes (big-endian sequence numbers). */
export function drainSeqs(connection: Connection): number[] {
  const out: number[] = [];
  for (let m = connection.receive(); m; m = connection.receive()) {
    out.push(new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength).getUint32(0));
  }
  return out;
}

/** A message whose first 4 bytes are `seq`, `size` bytes long. */
export function seqMessage(seq: number, size = 32): Uint8Array {
  const bytes = new Uint8Array(Math.max(4, size));
  new DataView(bytes.buffer).setUint32(0, seq);
  return bytes;
}
