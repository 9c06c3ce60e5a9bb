import type { Connection } from '../connection.ts';
import type { Endpoint, EndpointTransmit } from '../endpoint.ts';
import type { RandomSource } from '../random.ts';
import { type DecodedHeader, decodeHeader, PacketType } from '../wire/header.ts';
import { CookieMinter } from './cookie.ts';
import {
  aeadOpen,
  aeadSeal,
  aeadTagBytes,
  ascii,
  bytesEqual,
  hkdf,
  hmacSha256,
  type X25519KeyPair,
  x25519,
  x25519KeyBytes,
  x25519KeyPair,
} from './crypto.ts';
import {
  ControlType,
  decodeControlPayload,
  decodeHandshakeBody,
  decodeTransportParams,
  encodeControlPayload,
  encodeHandshakePacket,
  encodeTransportParams,
  ferryVersion,
  HandshakeKind,
  type InitialMessage,
  minInitialDatagramBytes,
  negotiateParams,
  pathDataBytes,
  peekInitialVersion,
  resetTokenBytes,
  SecurityMode,
  type ServerHelloMessage,
  supportedVersions,
  type TransportParams,
} from './handshake-codec.ts';
import {
  type EarlySecrets,
  earlySecrets,
  firstSecret,
  handshakeSecrets,
  trafficKeys,
} from './key-schedule.ts';
import { PacketProtector } from './packet-protection.ts';
import { PerSourceLimiter, TokenBucket } from './rate-limiter.ts';
import {
  defaultSecurityLimits,
  type LocalParams,
  type SecureEndpointStats,
  type SecurityLimits,
  type SecuritySettings,
  zeroSecureStats,
} from './security-options.ts';

/** What a secure endpoint drives inside it: an {@link Endpoint}, or a FEC layer over one (`FecEndpoint`). */
export interface EndpointDriver {
  /** Takes one authenticated plaintext datagram (header + body). */
  handleDatagram(nowMs: number, from: string, bytes: Uint8Array): unknown;
  /** The next plaintext datagram to protect and send. */
  pollTransmit(nowMs: number): EndpointTransmit | undefined;
  /** The inner layers' earliest deadline. */
  nextTimeout(): number | undefined;
  /** Fires the inner layers' due timers. */
  handleTimeout(nowMs: number): void;
}

/** Options of a {@link SecureEndpoint}. */
export interface SecureEndpointOptions {
  /** The plaintext endpoint whose connections this protects; it must not accept connections itself. */
  endpoint: Endpoint;
  /** The layer datagrams pass through inside protection (default: `endpoint`); e.g. a `FecEndpoint`. */
  driver?: EndpointDriver;
  /** Keys, cookie secret, challenges: the CSPRNG in the Node binding, a seeded PRNG in the simulator. */
  random: RandomSource;
  /** Static key, PSK or plaintext (spec §13.1). */
  security: SecuritySettings;
  /** Whether Initials may open connections (a server). */
  acceptConnections: boolean;
  /** Parameters announced in the handshake (spec §13.4). */
  params: LocalParams;
  /** Limits and timers; see {@link defaultSecurityLimits}. */
  limits?: Partial<SecurityLimits>;
  /**
   * Server: the secret stateless reset tokens derive from (R-HS-9). Default: derived from the static key or the
   * PSK, so a restarted server with the same credentials can still reset its old connections.
   */
  resetSecret?: Uint8Array;
}

/** Something the secure endpoint tells the application. */
export type SecureEndpointEvent =
  /** Server: a handshake completed; the connection is usable. */
  | { type: 'connection'; connection: Connection; remote: string; params: TransportParams }
  /** Client: the server proved its identity; the connection is usable. */
  | { type: 'established'; connection: Connection; params: TransportParams }
  /** Client: no handshake (timeout, version mismatch); server: the client never confirmed. */
  | { type: 'handshake-failed'; connection: Connection; reason: 'timeout' | 'version-mismatch' }
  /** The peer has no state for this connection any more (a valid stateless reset, R-HS-9). */
  | { type: 'reset'; connection: Connection }
  /** The peer's new address passed path validation; the connection now sends there (R-PATH-1). */
  | { type: 'migrated'; connection: Connection; remote: string };

/** A path being validated (spec §13.6). */
interface PathProbe {
  address: string;
  data: Uint8Array;
  /** Bytes received from and sent to `address` while it is unvalidated (R-PATH-2: sent ≤ 3 × received). */
  receivedBytes: number;
  sentBytes: number;
  tries: number;
  nextSendMs: number;
}

/** A client handshake in progress. */
interface ClientHandshake {
  ephemeral: X25519KeyPair;
  early: EarlySecrets | undefined;
  sealedParams: Uint8Array;
  cookie: Uint8Array;
  retries: number;
  attempts: number;
  nextSendMs: number;
  deadlineMs: number;
  queued: EndpointTransmit[];
}

/** Per-connection security state. */
interface Session {
  connection: Connection;
  connectionId: Uint8Array;
  role: 'client' | 'server';
  state: 'handshaking' | 'established' | 'failed';
  /** The validated peer address: where everything is sent. */
  remote: string;
  protector: PacketProtector | undefined;
  params: TransportParams | undefined;
  client: ClientHandshake | undefined;
  /** Server: the client's ephemeral key and our ServerHello, resent for a retransmitted Initial. */
  clientEphemeral: Uint8Array | undefined;
  serverHello: Uint8Array | undefined;
  /** Server: false until the client's first authenticated packet; `confirmDeadlineMs` bounds the wait. */
  confirmed: boolean;
  confirmDeadlineMs: number;
  probe: PathProbe | undefined;
  /** Plaintext mode: control packets are numbered here. */
  plainControlNumber: number;
}

const noPrologue = new Uint8Array(0);
const maxProbeTries = 8;
const maxRetriesAccepted = 3;

/**
 * The security layer (spec §13): handshake, address validation, packet protection, path validation and
 * stateless resets around a plaintext {@link Endpoint} (optionally through a FEC layer). Protection is the
 * outermost layer: wire ↔ SecureEndpoint ↔ [FEC] ↔ Connection, so REPAIR packets are sealed like DATA.
 *
 * Sans-IO, with the endpoint's driver contract: `handleDatagram` / `handleTimeout`, then drain `pollTransmit`
 * and `pollEvent`, then re-arm at `nextTimeout()`. Never throws on peer input: every dropped datagram is counted
 * in `stats` (R-HS-10), and nothing is allocated for a source before its address is validated (R-HS-4).
 */
export class SecureEndpoint {
  /** Counters since creation. */
  readonly stats: SecureEndpointStats = zeroSecureStats();
  private readonly endpoint: Endpoint;
  private readonly driver: EndpointDriver;
  private readonly random: RandomSource;
  private readonly mode: SecurityMode;
  private readonly limits: SecurityLimits;
  private readonly sessions = new Map<string, Session>();
  /** Sessions with a handshake, confirmation or path timer. */
  private readonly timed = new Set<Session>();
  private readonly out: EndpointTransmit[] = [];
  private outHead = 0;
  private readonly events: SecureEndpointEvent[] = [];
  private readonly cookies: CookieMinter;
  private readonly resetKey: Uint8Array;
  private readonly resets: TokenBucket;
  private readonly perSource: PerSourceLimiter;
  private readonly staticKey: X25519KeyPair | undefined;
  private readonly prologue: Uint8Array;
  private pendingHandshakes = 0;
  private accepting: boolean;
  private lastSession: Session | undefined;

  constructor(private readonly options: SecureEndpointOptions) {
    this.endpoint = options.endpoint;
    this.driver = options.driver ?? options.endpoint;
    this.random = options.random;
    this.accepting = options.acceptConnections;
    this.limits = { ...defaultSecurityLimits, ...options.limits };
    const security = options.security;
    this.mode =
      security.mode === 'plaintext'
        ? SecurityMode.plaintext
        : security.mode === 'psk'
          ? SecurityMode.psk
          : SecurityMode.staticKey;
    let longTerm: Uint8Array = this.randomBytes(32);
    if (security.mode === 'psk') {
      if (security.psk.length !== 32) throw new RangeError('psk must be 32 bytes');
      longTerm = security.psk;
      this.prologue = noPrologue;
    } else if (security.mode === 'static-key') {
      if (security.staticPrivateKey) {
        if (security.staticPrivateKey.length !== x25519KeyBytes)
          throw new RangeError('staticPrivateKey must be 32 bytes');
        this.staticKey = x25519KeyPair(security.staticPrivateKey);
        this.prologue = this.staticKey.publicKey;
        longTerm = security.staticPrivateKey;
      } else {
        if (security.serverPublicKey.length !== x25519KeyBytes)
          throw new RangeError('serverPublicKey must be 32 bytes');
        this.prologue = security.serverPublicKey;
      }
    } else {
      this.prologue = noPrologue;
    }
    this.resetKey = hkdf(options.resetSecret ?? longTerm, ascii('ferry reset'), 'ferry reset key', 32);
    this.cookies = new CookieMinter(this.randomBytes(32), this.limits.cookieLifetimeMs);
    this.resets = new TokenBucket(this.limits.resetsPerSecond, this.limits.resetsPerSecond);
    this.perSource = new PerSourceLimiter(
      this.limits.handshakesPerSecondPerSource,
      this.limits.handshakeBurstPerSource,
    );
  }

  // ─── Application side ──────────────────────────────────────────────────────────────────────────────

  /** Starts a handshake with `remote` (R-HS-3); the connection is usable after its 'established' event. */
  connect(nowMs: number, remote: string): Connection {
    const connection = this.endpoint.connect(nowMs, remote);
    const ephemeral = x25519KeyPair(this.randomBytes(x25519KeyBytes));
    const session = this.newSession(connection, 'client', remote);
    const params = encodeTransportParams({ ...this.options.params, resetToken: new Uint8Array(0) });
    let early: EarlySecrets | undefined;
    let sealedParams = params;
    if (this.mode !== SecurityMode.plaintext) {
      const psk = this.options.security.mode === 'psk' ? this.options.security.psk : undefined;
      const secret = firstSecret(this.mode, psk, ephemeral.privateKey, this.prologue);
      if (!secret) throw new RangeError('serverPublicKey is not a valid X25519 public key');
      early = earlySecrets(
        this.mode,
        this.prologue,
        ferryVersion,
        connection.connectionId,
        ephemeral.publicKey,
        secret,
      );
      sealedParams = new Uint8Array(params.length + aeadTagBytes);
      aeadSeal(early.earlyKey, 0, early.transcript, params, sealedParams, 0);
    }
    session.client = {
      ephemeral,
      early,
      sealedParams,
      cookie: new Uint8Array(0),
      retries: 0,
      attempts: 0,
      nextSendMs: nowMs,
      deadlineMs: nowMs + this.limits.handshakeTimeoutMs,
      queued: [],
    };
    this.sendInitial(nowMs, session);
    return connection;
  }

  /** Stops opening connections for new Initials (they are dropped and counted). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** The address `connection` sends to (its validated path). */
  remoteOf(connection: Connection): string | undefined {
    return this.sessions.get(keyOf(connection.connectionId))?.remote;
  }

  /** The negotiated parameters of `connection`, once its handshake completed. */
  paramsOf(connection: Connection): TransportParams | undefined {
    return this.sessions.get(keyOf(connection.connectionId))?.params;
  }

  /** Live connections. */
  get connections(): Connection[] {
    return this.endpoint.connections;
  }

  /** The next event, or undefined. */
  pollEvent(): SecureEndpointEvent | undefined {
    return this.events.shift();
  }

  // ─── Driver contract ───────────────────────────────────────────────────────────────────────────────

  /** Handles one datagram from `from`. Never throws on peer input. */
  handleDatagram(nowMs: number, from: string, bytes: Uint8Array): void {
    const decoded = decodeHeader(bytes);
    if (!decoded.ok) {
      this.stats.malformed++;
      return;
    }
    const { header } = decoded.value;
    const session = this.sessionFor(header.connectionId);
    if (header.type === PacketType.handshake) {
      this.onHandshakePacket(nowMs, from, bytes, decoded.value, session);
      return;
    }
    if (header.type === PacketType.reserved) {
      this.stats.malformed++;
      return;
    }
    if (!session) {
      this.stats.unroutable++;
      if (this.options.acceptConnections) this.maybeSendReset(nowMs, from, bytes, header.connectionId);
      return;
    }
    if (session.state !== 'established') {
      this.stats.undecryptable++;
      return;
    }
    let plain = bytes;
    let newest = true;
    if (session.protector) {
      const largest = session.protector.largestDataPacket;
      const opened = session.protector.open(bytes, decoded.value);
      if (!opened.ok) {
        if (opened.reason === 'replayed') this.stats.replayed++;
        else if (opened.reason === 'forged') this.stats.forged++;
        else this.stats.malformed++;
        return;
      }
      plain = opened.packet;
      newest = header.type === PacketType.data && opened.packetNumber > largest;
    }
    this.onAuthenticated(nowMs, session, from, bytes.length, newest);
    this.driver.handleDatagram(nowMs, session.remote, plain);
  }

  /** Next datagram to send: handshake and control packets first, then the inner layers' packets, sealed. */
  pollTransmit(nowMs: number): EndpointTransmit | undefined {
    if (this.outHead < this.out.length) return this.shiftOut();
    for (;;) {
      const t = this.driver.pollTransmit(nowMs);
      if (!t) {
        this.reapClosed();
        return undefined;
      }
      const decoded = decodeHeader(t.bytes);
      if (!decoded.ok) continue; // the inner layers never produce this
      const session = this.sessionFor(decoded.value.header.connectionId);
      if (!session || session.state === 'failed') continue;
      if (session.state === 'handshaking') {
        const queue = session.client!.queued;
        if (queue.length < this.limits.maxQueuedBeforeHandshake) queue.push(t);
        else this.stats.queuedDropped++;
        continue;
      }
      return this.protect(session, t.bytes, decoded.value);
    }
  }

  /** The earliest of the inner layers' deadline and every handshake, confirmation and path timer. */
  nextTimeout(): number | undefined {
    let t = this.driver.nextTimeout();
    for (const session of this.timed) {
      const s = this.sessionDeadline(session);
      if (s !== undefined && (t === undefined || s < t)) t = s;
    }
    return t;
  }

  /** Fires the inner layers' timers and the handshake, confirmation and path timers that are due. */
  handleTimeout(nowMs: number): void {
    this.driver.handleTimeout(nowMs);
    for (const session of [...this.timed]) {
      const client = session.client;
      if (session.state === 'handshaking' && client) {
        if (nowMs >= client.deadlineMs) this.failHandshake(nowMs, session, 'timeout');
        else if (nowMs >= client.nextSendMs) this.sendInitial(nowMs, session);
      }
      if (session.role === 'server' && !session.confirmed && nowMs >= session.confirmDeadlineMs) {
        this.failHandshake(nowMs, session, 'timeout');
      }
      const probe = session.probe;
      if (probe && nowMs >= probe.nextSendMs) {
        if (probe.tries >= maxProbeTries) session.probe = undefined;
        else this.sendChallenge(nowMs, session);
      }
      this.updateTimed(session);
    }
  }

  // ─── Handshake ─────────────────────────────────────────────────────────────────────────────────────

  private onHandshakePacket(
    nowMs: number,
    from: string,
    bytes: Uint8Array,
    decoded: DecodedHeader,
    session: Session | undefined,
  ): void {
    const { header, bodyOffset } = decoded;
    if (bytes[bodyOffset] === HandshakeKind.initial && this.options.acceptConnections) {
      this.onInitial(nowMs, from, bytes, decoded, session);
      return;
    }
    const body = decodeHandshakeBody(bytes, bodyOffset);
    if (!body.ok) {
      this.stats.malformed++;
      return;
    }
    const message = body.value;
    if (!session) {
      this.stats.unexpected++;
      return;
    }
    switch (message.kind) {
      case HandshakeKind.control:
        this.onControl(nowMs, session, from, bytes, bodyOffset, header.packetNumber);
        return;
      case HandshakeKind.statelessReset:
        if (
          session.params &&
          session.role === 'client' &&
          bytesEqual(message.token, session.params.resetToken)
        ) {
          this.stats.resetsReceived++;
          session.state = 'failed';
          this.timed.delete(session);
          session.connection.close(nowMs, { graceful: false });
          this.events.push({ type: 'reset', connection: session.connection });
        } else this.stats.unexpected++;
        return;
      default:
        break;
    }
    const client = session.client;
    if (session.role !== 'client' || session.state !== 'handshaking' || !client || from !== session.remote) {
      this.stats.unexpected++;
      return;
    }
    switch (message.kind) {
      case HandshakeKind.retry:
        if (message.version !== ferryVersion || client.retries >= maxRetriesAccepted) {
          this.stats.unexpected++;
          return;
        }
        client.retries++;
        client.cookie = message.cookie.slice();
        this.sendInitial(nowMs, session);
        return;
      case HandshakeKind.versionNegotiation:
        // Unauthenticated: a list naming our version is incoherent (or forged) and ignored (R-HS-2).
        if (message.versions.includes(ferryVersion)) this.stats.unexpected++;
        else this.failHandshake(nowMs, session, 'version-mismatch');
        return;
      case HandshakeKind.serverHello:
        this.onServerHello(session, client, message);
        return;
      default:
        this.stats.unexpected++;
    }
  }

  /** Server side of an Initial (spec §13.3): version, mode, cookie, limits, then key agreement. */
  private onInitial(
    nowMs: number,
    from: string,
    bytes: Uint8Array,
    decoded: DecodedHeader,
    session: Session | undefined,
  ): void {
    const { header, bodyOffset } = decoded;
    if (bytes.length < minInitialDatagramBytes) {
      this.stats.initialTooSmall++;
      return;
    }
    const version = peekInitialVersion(bytes, bodyOffset);
    if (version >= 0 && version !== ferryVersion) {
      const reply = encodeHandshakePacket(header.connectionId, 0, {
        kind: HandshakeKind.versionNegotiation,
        versions: [...supportedVersions],
      });
      this.sendStateless(from, reply, bytes.length);
      this.stats.versionNegotiationsSent++;
      return;
    }
    const body = decodeHandshakeBody(bytes, bodyOffset);
    if (!body.ok || body.value.kind !== HandshakeKind.initial) {
      this.stats.malformed++;
      return;
    }
    const initial = body.value;
    if (initial.mode !== this.mode) {
      this.stats.modeMismatches++; // R-HS-7: never answered in another mode
      return;
    }
    if (session) {
      // A retransmitted Initial: the ServerHello was lost. Same client key and validated address: resend it.
      if (
        session.role === 'server' &&
        session.serverHello &&
        from === session.remote &&
        session.clientEphemeral &&
        bytesEqual(session.clientEphemeral, initial.ephemeralKey)
      ) {
        this.out.push({ to: from, bytes: session.serverHello });
      } else this.stats.unexpected++;
      return;
    }
    if (!this.accepting) {
      this.stats.connectionLimit++;
      return;
    }
    const connectionId = header.connectionId;
    if (initial.cookie.length === 0 || !this.cookies.verify(nowMs, from, connectionId, initial.cookie)) {
      if (initial.cookie.length > 0) this.stats.invalidCookies++;
      const reply = encodeHandshakePacket(connectionId, 0, {
        kind: HandshakeKind.retry,
        version: ferryVersion,
        cookie: this.cookies.mint(nowMs, from, connectionId),
      });
      this.sendStateless(from, reply, bytes.length);
      this.stats.retriesSent++;
      return;
    }
    // The address is validated; now limit the expensive part (R-HS-8).
    if (!this.perSource.take(nowMs, from)) {
      this.stats.rateLimited++;
      return;
    }
    if (this.pendingHandshakes >= this.limits.maxPendingHandshakes) {
      this.stats.pendingHandshakeLimit++;
      return;
    }
    const accepted = this.serverKeyAgreement(connectionId, initial);
    if (!accepted) return;
    const connection = this.endpoint.accept(nowMs, connectionId, from);
    if (!connection) {
      this.stats.connectionLimit++;
      return;
    }
    const s = this.newSession(connection, 'server', from);
    s.state = 'established';
    s.protector = accepted.protector;
    s.params = accepted.params;
    s.clientEphemeral = initial.ephemeralKey.slice();
    s.serverHello = accepted.serverHello;
    s.confirmDeadlineMs = nowMs + this.limits.handshakeTimeoutMs;
    this.pendingHandshakes++;
    this.updateTimed(s);
    this.stats.handshakesCompleted++;
    this.out.push({ to: from, bytes: accepted.serverHello });
    // The inner endpoint queued its own 'connection' event; ours carries the parameters instead.
    while (this.endpoint.pollEvent());
    this.events.push({ type: 'connection', connection, remote: from, params: accepted.params });
  }

  /** Key agreement and the ServerHello for a validated Initial; undefined (counted) if it does not verify. */
  private serverKeyAgreement(
    connectionId: Uint8Array,
    initial: InitialMessage,
  ):
    | { protector: PacketProtector | undefined; params: TransportParams; serverHello: Uint8Array }
    | undefined {
    const localParams: TransportParams = {
      ...this.options.params,
      resetToken: hmacSha256(this.resetKey, connectionId).slice(0, resetTokenBytes),
    };
    const hello = (ephemeralKey: Uint8Array, params: Uint8Array): Uint8Array =>
      encodeHandshakePacket(connectionId, 0, {
        kind: HandshakeKind.serverHello,
        version: ferryVersion,
        mode: this.mode,
        ephemeralKey,
        params,
      });
    if (this.mode === SecurityMode.plaintext) {
      const peer = decodeTransportParams(initial.params);
      if (!peer.ok) {
        this.stats.malformed++;
        return undefined;
      }
      const params = negotiateParams(localParams, peer.value);
      return {
        protector: undefined,
        params,
        serverHello: hello(new Uint8Array(x25519KeyBytes), encodeTransportParams(localParams)),
      };
    }
    const psk = this.options.security.mode === 'psk' ? this.options.security.psk : undefined;
    const secret = firstSecret(this.mode, psk, this.staticKey?.privateKey, initial.ephemeralKey);
    if (!secret) {
      this.stats.forged++;
      return undefined;
    }
    const early = earlySecrets(
      this.mode,
      this.prologue,
      ferryVersion,
      connectionId,
      initial.ephemeralKey,
      secret,
    );
    const clientParams = aeadOpen(early.earlyKey, 0, early.transcript, initial.params);
    const peer = clientParams ? decodeTransportParams(clientParams) : undefined;
    if (!peer?.ok) {
      this.stats.forged++;
      return undefined;
    }
    const ephemeral = x25519KeyPair(this.randomBytes(x25519KeyBytes));
    const ee = x25519(ephemeral.privateKey, initial.ephemeralKey);
    if (!ee) {
      this.stats.forged++;
      return undefined;
    }
    const secrets = handshakeSecrets(early, initial.params, ephemeral.publicKey, ee);
    const plainParams = encodeTransportParams(localParams);
    const sealed = new Uint8Array(plainParams.length + aeadTagBytes);
    aeadSeal(secrets.helloKey, 0, secrets.transcript, plainParams, sealed, 0);
    return {
      protector: new PacketProtector(trafficKeys(secrets, sealed, 'server'), this.limits.keyUpdatePackets),
      params: negotiateParams(localParams, peer.value),
      serverHello: hello(ephemeral.publicKey, sealed),
    };
  }

  /** Client side of a ServerHello (R-HS-5): authenticates the server, derives the traffic keys. */
  private onServerHello(session: Session, client: ClientHandshake, message: ServerHelloMessage): void {
    if (message.version !== ferryVersion) {
      this.stats.unexpected++;
      return;
    }
    if (message.mode !== this.mode) {
      this.stats.modeMismatches++; // R-HS-7: an encrypted client never accepts a plaintext answer
      return;
    }
    let paramsBytes: Uint8Array | undefined = message.params;
    let protector: PacketProtector | undefined;
    if (this.mode !== SecurityMode.plaintext) {
      const ee = x25519(client.ephemeral.privateKey, message.ephemeralKey);
      if (!ee || !client.early) {
        this.stats.forged++;
        return;
      }
      const secrets = handshakeSecrets(client.early, client.sealedParams, message.ephemeralKey, ee);
      paramsBytes = aeadOpen(secrets.helloKey, 0, secrets.transcript, message.params);
      if (paramsBytes) {
        protector = new PacketProtector(
          trafficKeys(secrets, message.params, 'client'),
          this.limits.keyUpdatePackets,
        );
      }
    }
    const peer = paramsBytes ? decodeTransportParams(paramsBytes) : undefined;
    if (!peer?.ok) {
      this.stats.forged++;
      return;
    }
    session.protector = protector;
    session.params = negotiateParams({ ...this.options.params, resetToken: new Uint8Array(0) }, peer.value);
    session.state = 'established';
    session.client = undefined;
    this.updateTimed(session);
    this.stats.handshakesCompleted++;
    for (const t of client.queued) {
      const decoded = decodeHeader(t.bytes);
      if (decoded.ok) this.out.push(this.protect(session, t.bytes, decoded.value));
    }
    session.connection.ping(); // confirms the handshake to the server at once (R-HS-5)
    this.events.push({ type: 'established', connection: session.connection, params: session.params });
  }

  private sendInitial(nowMs: number, session: Session): void {
    const client = session.client!;
    const cidBytes = session.connectionId.length;
    const headerBytes = 1 + cidBytes + (client.attempts < 64 ? 1 : 2);
    const message: InitialMessage = {
      kind: HandshakeKind.initial,
      version: ferryVersion,
      mode: this.mode,
      ephemeralKey:
        this.mode === SecurityMode.plaintext ? new Uint8Array(x25519KeyBytes) : client.ephemeral.publicKey,
      cookie: client.cookie,
      params: client.sealedParams,
      paddedBodyBytes: minInitialDatagramBytes - headerBytes,
    };
    this.out.push({
      to: session.remote,
      bytes: encodeHandshakePacket(session.connectionId, client.attempts, message),
    });
    const backoffMs = this.limits.handshakeRetryMs * 2 ** Math.min(client.attempts, 3);
    client.attempts++;
    client.nextSendMs = nowMs + backoffMs;
    this.updateTimed(session);
  }

  private failHandshake(nowMs: number, session: Session, reason: 'timeout' | 'version-mismatch'): void {
    if (session.state === 'failed') return;
    if (session.role === 'server' && !session.confirmed) this.pendingHandshakes--;
    session.state = 'failed';
    session.confirmed = true;
    this.timed.delete(session);
    this.stats.handshakesFailed++;
    session.connection.close(nowMs, { graceful: false }); // its CLOSE is never sent: the session is dead
    this.events.push({ type: 'handshake-failed', connection: session.connection, reason });
  }

  /** A Retry or version negotiation reply: no state, and never more than 3× the trigger (R-HS-3). */
  private sendStateless(to: string, reply: Uint8Array, triggerBytes: number): void {
    if (reply.length > 3 * triggerBytes) {
      this.stats.amplificationBlocked++;
      return;
    }
    this.out.push({ to, bytes: reply });
  }

  /** R-HS-9: a reset for a packet of an unknown connection, smaller than it, rate-limited. */
  private maybeSendReset(nowMs: number, from: string, bytes: Uint8Array, connectionId: Uint8Array): void {
    if (connectionId.length === 0) return;
    const reset = encodeHandshakePacket(connectionId, 0, {
      kind: HandshakeKind.statelessReset,
      token: hmacSha256(this.resetKey, connectionId).slice(0, resetTokenBytes),
    });
    if (reset.length >= bytes.length) return; // never larger than its trigger: no loops, no amplification
    if (!this.resets.take(nowMs)) {
      this.stats.resetsRateLimited++;
      return;
    }
    this.stats.resetsSent++;
    this.out.push({ to: from, bytes: reset });
  }

  // ─── Paths (spec §13.6) ────────────────────────────────────────────────────────────────────────────

  /** After an authenticated packet: confirm a server handshake; probe a new peer address (R-PATH-1). */
  private onAuthenticated(
    nowMs: number,
    session: Session,
    from: string,
    size: number,
    newest: boolean,
  ): void {
    if (!session.confirmed) {
      session.confirmed = true;
      this.pendingHandshakes--;
      this.updateTimed(session);
    }
    if (from === session.remote) return;
    const probe = session.probe;
    if (probe && probe.address === from) {
      probe.receivedBytes += size;
      if (probe.nextSendMs > nowMs && probe.tries > 0 && probe.sentBytes === 0) probe.nextSendMs = nowMs;
      return;
    }
    // Only the newest packet moves the path: a reordered old packet from a previous address does not.
    if (!newest) return;
    session.probe = {
      address: from,
      data: this.randomBytes(pathDataBytes),
      receivedBytes: size,
      sentBytes: 0,
      tries: 0,
      nextSendMs: nowMs,
    };
    this.sendChallenge(nowMs, session);
  }

  private sendChallenge(nowMs: number, session: Session): void {
    const probe = session.probe!;
    const packet = this.controlPacket(session, { type: ControlType.pathChallenge, data: probe.data });
    probe.nextSendMs = nowMs + this.limits.handshakeRetryMs * 2 ** Math.min(probe.tries, 4);
    probe.tries++;
    if (probe.sentBytes + packet.length > 3 * probe.receivedBytes) {
      this.stats.amplificationBlocked++; // R-PATH-2: wait for more bytes from the new address
    } else {
      probe.sentBytes += packet.length;
      this.stats.pathChallengesSent++;
      this.out.push({ to: probe.address, bytes: packet });
    }
    this.updateTimed(session);
  }

  private onControl(
    nowMs: number,
    session: Session,
    from: string,
    bytes: Uint8Array,
    kindOffset: number,
    packetNumber: number,
  ): void {
    if (session.state !== 'established') {
      this.stats.undecryptable++;
      return;
    }
    let payload: Uint8Array = bytes.subarray(kindOffset + 1);
    if (session.protector) {
      const opened = session.protector.openControl(bytes, kindOffset, packetNumber);
      if (!opened.ok) {
        if (opened.reason === 'replayed') this.stats.replayed++;
        else this.stats.forged++;
        return;
      }
      payload = opened.payload;
    }
    const control = decodeControlPayload(payload);
    if (!control.ok) {
      this.stats.malformed++;
      return;
    }
    this.onAuthenticated(nowMs, session, from, bytes.length, false);
    if (control.value.type === ControlType.pathChallenge) {
      // The response goes back where the challenge came from, same size: no amplification.
      this.out.push({
        to: from,
        bytes: this.controlPacket(session, { type: ControlType.pathResponse, data: control.value.data }),
      });
      return;
    }
    const probe = session.probe;
    if (probe && probe.address === from && bytesEqual(probe.data, control.value.data)) {
      session.remote = from;
      session.probe = undefined;
      this.updateTimed(session);
      this.stats.migrations++;
      this.events.push({ type: 'migrated', connection: session.connection, remote: from });
    } else this.stats.unexpected++;
  }

  private controlPacket(session: Session, payload: { type: 1 | 2; data: Uint8Array }): Uint8Array {
    const bytes = encodeControlPayload(payload);
    if (session.protector) return session.protector.sealControl(session.connectionId, bytes);
    return encodeHandshakePacket(session.connectionId, session.plainControlNumber++, {
      kind: HandshakeKind.control,
      sealed: bytes,
    });
  }

  // ─── Bookkeeping ───────────────────────────────────────────────────────────────────────────────────

  private protect(session: Session, bytes: Uint8Array, decoded: DecodedHeader): EndpointTransmit {
    return {
      to: session.remote,
      bytes: session.protector ? session.protector.seal(bytes, decoded) : bytes,
    };
  }

  private newSession(connection: Connection, role: 'client' | 'server', remote: string): Session {
    const session: Session = {
      connection,
      connectionId: connection.connectionId,
      role,
      state: 'handshaking',
      remote,
      protector: undefined,
      params: undefined,
      client: undefined,
      clientEphemeral: undefined,
      serverHello: undefined,
      confirmed: role === 'client',
      confirmDeadlineMs: Number.POSITIVE_INFINITY,
      probe: undefined,
      plainControlNumber: 0,
    };
    this.sessions.set(keyOf(connection.connectionId), session);
    return session;
  }

  private sessionFor(connectionId: Uint8Array): Session | undefined {
    const last = this.lastSession;
    if (last && sameBytes(last.connectionId, connectionId)) return last;
    const session = this.sessions.get(keyOf(connectionId));
    if (session) this.lastSession = session;
    return session;
  }

  private sessionDeadline(session: Session): number | undefined {
    let t: number | undefined;
    const consider = (v: number | undefined): void => {
      if (v !== undefined && Number.isFinite(v) && (t === undefined || v < t)) t = v;
    };
    if (session.state === 'handshaking' && session.client) {
      consider(session.client.nextSendMs);
      consider(session.client.deadlineMs);
    }
    if (!session.confirmed) consider(session.confirmDeadlineMs);
    consider(session.probe?.nextSendMs);
    return t;
  }

  private updateTimed(session: Session): void {
    if (this.sessionDeadline(session) === undefined || session.state === 'failed') this.timed.delete(session);
    else this.timed.add(session);
  }

  private reapClosed(): void {
    if (this.sessions.size === 0) return;
    for (const [key, session] of this.sessions) {
      if (session.connection.state !== 'closed') continue;
      if (session.role === 'server' && !session.confirmed) this.pendingHandshakes--;
      this.sessions.delete(key);
      this.timed.delete(session);
      if (this.lastSession === session) this.lastSession = undefined;
    }
  }

  private shiftOut(): EndpointTransmit {
    const t = this.out[this.outHead++]!;
    if (this.outHead === this.out.length) {
      this.out.length = 0;
      this.outHead = 0;
    }
    return t;
  }

  private randomBytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    this.random.fill(bytes);
    return bytes;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function keyOf(id: Uint8Array): string {
  let key = '';
  for (const b of id) key += b.toString(16).padStart(2, '0');
  return key;
}
