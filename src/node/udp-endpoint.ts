import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram';
import { lookup } from 'node:dns';
import { EventEmitter } from 'node:events';
import { type AddressInfo, isIP } from 'node:net';
import { FecEndpoint } from '../fec/fec-endpoint.ts';
import { type FecOptions, type FecStats, withFecReserve } from '../fec/fec-session.ts';
import type { FecClass } from '../fec/redundancy-controller.ts';
import type { Connection } from '../protocol/connection.ts';
import { type ConnectionConfig, defaultConnectionConfig } from '../protocol/connection-config.ts';
import type { ConnectionEvent } from '../protocol/connection-events.ts';
import { Endpoint, type EndpointTransmit } from '../protocol/endpoint.ts';
import { protectionOverheadBytes } from '../protocol/security/packet-protection.ts';
import { SecureEndpoint, type SecureEndpointEvent } from '../protocol/security/secure-endpoint.ts';
import type {
  SecureEndpointStats,
  SecurityLimits,
  SecuritySettings,
} from '../protocol/security/security-options.ts';
import { formatAddress, parseAddress } from './address.ts';
import { clockMs } from './clock.ts';
import { CryptoRandom } from './crypto-random.ts';

/** Options of a {@link UdpEndpoint}. There is deliberately no `random` option: ids come from the CSPRNG. */
export interface UdpEndpointOptions {
  /**
   * A socket the host already owns (embedding). The endpoint reads and writes it but never binds or closes it;
   * it adds a 'message' and an 'error' listener, removed again by `close()`. Absent: the endpoint creates one.
   */
  socket?: Socket;
  /** Family of the socket the endpoint creates. Default `udp4`. */
  type?: 'udp4' | 'udp6';
  /** Address the created socket binds to. Default: all interfaces. */
  bindAddress?: string;
  /** Port the created socket binds to; 0 (default) picks a free one. */
  port?: number;
  /** Kernel send and receive buffer size of the created socket (bytes); absent keeps the OS default. */
  socketBufferBytes?: number;
  /** Whether datagrams with an unknown connection id open connections (a server). */
  acceptConnections: boolean;
  /** Tunables of every connection. */
  config?: Partial<ConnectionConfig>;
  /** Connection id length in bytes (R-WIRE-7). */
  connectionIdLength?: 4 | 8 | 16;
  /** Most connections at once. */
  maxConnections?: number;
  /** Static key, PSK or plaintext (spec §13.1). */
  security: SecuritySettings;
  /** Handshake limits and timers (spec §13.7). */
  limits?: Partial<SecurityLimits>;
  /**
   * Forward error correction (spec §11) under packet protection: `true` for the defaults, or its settings.
   * Channels pick their class with `setChannelFec`; others take `fecClass` (default `interactive`).
   */
  fec?: boolean | FecOptions;
}

/** Counters of the binding, on top of the secure endpoint's counters (every dropped datagram, R-HS-10). */
export interface UdpEndpointStats extends SecureEndpointStats {
  datagramsReceived: number;
  bytesReceived: number;
  datagramsSent: number;
  bytesSent: number;
  /** `socket.send` failures (counted and emitted as 'socketError', never thrown). */
  sendErrors: number;
  /** Socket 'error' events. */
  socketErrors: number;
  /** Times the endpoint's one timer fired. */
  timerFires: number;
  /** Times the timer was (re-)armed. */
  timerArms: number;
}

/** What the API layer attaches to a connection to receive its events. */
export interface ConnectionSink {
  /** One core event of the connection (`readable`, `delivered`, `writable`, `closed`). */
  onEvent(event: ConnectionEvent): void;
  /** Called after every drive pass: move received messages to whoever is waiting for them. */
  afterDrive(): void;
  /** A handshake, reset or migration event of the connection (spec §13). */
  onSecurityEvent(event: SecureEndpointEvent): void;
}

interface Attached {
  connection: Connection;
  sink: ConnectionSink;
  /** The peer's latest address (the core follows it per connection id). */
  remote: string;
}

/**
 * Drives one sans-IO {@link Endpoint} over a `node:dgram` socket (design.md rules 2, 3, 8). After every datagram,
 * timer expiry and API call it drains `pollTransmit` into `socket.send`, then the endpoint's and connections'
 * events into the attached sinks, then re-arms its single timer only if `nextTimeout()` changed. Datagram
 * Buffers are handed to the core as the Uint8Arrays they are, without a copy. Socket and send errors are
 * counted and emitted as 'socketError' (never 'error', so an unhandled one cannot crash the process).
 *
 * Events: 'connection' (connection: Connection, remote: string) for each connection a client opened (after its
 * handshake); 'socketError' (error: Error).
 */
export class UdpEndpoint extends EventEmitter {
  /** The sans-IO security layer this drives, around a plaintext {@link Endpoint} (spec §13). */
  readonly core: SecureEndpoint;
  /** Binding counters (see {@link UdpEndpointStats}). */
  private readonly counters = {
    datagramsReceived: 0,
    bytesReceived: 0,
    datagramsSent: 0,
    bytesSent: 0,
    sendErrors: 0,
    socketErrors: 0,
    timerFires: 0,
    timerArms: 0,
  };
  private socket: Socket;
  private ownsSocket: boolean;
  /** Attached connections, keyed by the core object itself (no per-datagram id string, issue 7). */
  private readonly attached = new Map<Connection, Attached>();
  /** The FEC layer inside packet protection, when enabled. */
  private readonly fec: FecEndpoint | undefined;
  /** Per connection (id key): FEC class of each channel that chose one (R-FEC-13). */
  private readonly channelFec = new Map<string, Map<number, FecClass>>();
  /** Connections touched since the last drive pass (the core reports them): only these are served. */
  private readonly touched = new Set<Connection>();
  /** The endpoint's one timer: a Timeout, or an Immediate for a deadline less than 1 ms away. */
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private armedDeadlineMs: number | undefined;
  private driving = false;
  private again = false;
  private driveScheduled = false;
  private closed = false;
  /** A client's own socket is connected to its one peer (see `connectToPeer`): Node then skips a lookup per send. */
  private readonly connectsSocket: boolean;
  /** The peer address the socket is connected to, if any; `connecting` while `connect` is under way. */
  private connectedTo: string | undefined;
  private connecting = false;
  private lastTo = '';
  private lastHost = '';
  private lastPort = 0;

  private constructor(options: UdpEndpointOptions, socket: Socket, ownsSocket: boolean) {
    super();
    const random = new CryptoRandom();
    const config = { ...defaultConnectionConfig, ...options.config };
    // Room for the AEAD tag (and a REPAIR counter) inside the path's datagram size (R-CRYPTO-2).
    const overhead = options.security.mode === 'plaintext' ? 0 : protectionOverheadBytes;
    const fecOptions = options.fec === true ? {} : options.fec || undefined;
    const protectedConfig = { ...config, maxDatagramBytes: config.maxDatagramBytes - overhead };
    const inner = new Endpoint({
      random,
      acceptConnections: false,
      connectionIdLength: options.connectionIdLength,
      // With FEC, datagrams leave room for a REPAIR packet's headers too (R-FEC-11).
      config: fecOptions
        ? { ...protectedConfig, ...withFecReserve(protectedConfig, fecOptions) }
        : protectedConfig,
      maxConnections: options.maxConnections,
      onActive: (connection) => this.touched.add(connection),
    });
    this.fec =
      fecOptions &&
      new FecEndpoint(inner, {
        ...fecOptions,
        channelClass: (channelId, connectionId) => this.channelFec.get(idKey(connectionId))?.get(channelId),
      });
    this.core = new SecureEndpoint({
      endpoint: inner,
      driver: this.fec,
      random,
      security: options.security,
      acceptConnections: options.acceptConnections,
      params: {
        maxMessageBytes: config.maxMessageBytes,
        maxChannels: config.maxChannels,
        idleTimeoutMs: config.idleTimeoutMs,
        fec: this.fec !== undefined,
      },
      limits: options.limits,
    });
    this.socket = socket;
    this.ownsSocket = ownsSocket;
    this.connectsSocket = !options.acceptConnections;
    this.listenOn(socket);
  }

  /** Creates an endpoint over `options.socket`, or over a new socket bound as the options say. */
  static async open(options: UdpEndpointOptions): Promise<UdpEndpoint> {
    if (options.socket) return new UdpEndpoint(options, options.socket, false);
    const socket = await bindSocket(options.type ?? 'udp4', options.bindAddress, options.port ?? 0);
    if (options.socketBufferBytes !== undefined) setBufferSizes(socket, options.socketBufferBytes);
    return new UdpEndpoint(options, socket, true);
  }

  /** The local address of the socket. */
  address(): AddressInfo {
    return this.socket.address();
  }

  /** Binding and core counters. */
  stats(): UdpEndpointStats {
    return { ...this.counters, ...this.core.stats };
  }

  /** Opens a client connection to `remote` (`host:port`, `[v6]:port`); attach a sink before the next drive. */
  connect(remote: string): Connection {
    return this.core.connect(clockMs(), remote);
  }

  /** Routes `connection`'s events to `sink` (for connections from `connect` or the 'connection' event). */
  attach(connection: Connection, sink: ConnectionSink, remote: string): void {
    this.attached.set(connection, { connection, sink, remote });
    this.touched.add(connection); // anything it queued before it was attached
  }

  /**
   * Sets the FEC class of one channel of `connection` (R-FEC-13): `bulk` leaves it unprotected. No effect
   * without FEC.
   */
  setChannelFec(connection: Connection, channelId: number, fecClass: FecClass): void {
    const key = idKey(connection.connectionId);
    const classes = this.channelFec.get(key) ?? new Map<number, FecClass>();
    classes.set(channelId, fecClass);
    this.channelFec.set(key, classes);
  }

  /** The FEC layer's counters for `connection`, or undefined without FEC (or before it sent anything). */
  fecStats(connection: Connection): FecStats | undefined {
    return this.fec?.session(connection)?.stats;
  }

  /** Stops routing events of `connection` (after its `closed` event). */
  detach(connection: Connection): void {
    this.channelFec.delete(idKey(connection.connectionId));
    this.attached.delete(connection);
  }

  /** The peer's validated address: where `connection` sends (it follows a migration, spec §13.6). */
  remoteOf(connection: Connection): string | undefined {
    return this.core.remoteOf(connection) ?? this.attached.get(connection)?.remote;
  }

  /** Number of attached connections. */
  get connectionCount(): number {
    return this.attached.size;
  }

  /**
   * Moves the endpoint to another socket (a client changing network, or the host rebinding). The old socket is
   * closed if the endpoint created it; connections continue, as the peer follows the connection id (spec §3).
   */
  replaceSocket(socket: Socket, owned: boolean): void {
    this.connectedTo = undefined;
    this.connecting = false;
    this.unlistenOn(this.socket);
    if (this.ownsSocket) closeQuietly(this.socket);
    this.socket = socket;
    this.ownsSocket = owned;
    this.listenOn(socket);
  }

  /** A fresh socket of the same family as the current one, bound to an ephemeral port on the same address. */
  async freshSocket(): Promise<Socket> {
    const { address, family } = this.socket.address();
    return bindSocket(family === 'IPv6' ? 'udp6' : 'udp4', address, 0);
  }

  /**
   * Asks for a drive pass soon (after an API call on `connection`, whose sink the pass then serves); calls in one
   * tick share one pass, so sends batch.
   */
  requestDrive(connection?: Connection): void {
    if (this.closed) return;
    // The API layer names the connection it acted on: its sink is served in the next pass (e.g. a listener
    // added for messages that arrived before it).
    if (connection) this.touched.add(connection);
    if (this.driving) {
      this.again = true;
      return;
    }
    if (this.driveScheduled) return;
    this.driveScheduled = true;
    queueMicrotask(this.scheduledDrive);
  }

  /** Stops accepting new connections: Initials are dropped and counted. */
  stopAccepting(): void {
    this.core.stopAccepting();
  }

  /**
   * Stops the timer and the socket listeners and closes the socket if the endpoint created it. Connections still
   * attached are abandoned silently: close them first (the API layer does).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.core.stopAccepting();
    this.cancelTimer();
    this.unlistenOn(this.socket);
    if (this.ownsSocket) await new Promise<void>((resolve) => closeQuietly(this.socket, resolve));
  }

  // ─── Driving ────────────────────────────────────────────────────────────────────────────────────────

  private readonly scheduledDrive = (): void => {
    this.driveScheduled = false;
    this.drive();
  };

  private readonly onMessage = (bytes: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    this.counters.datagramsReceived++;
    this.counters.bytesReceived += bytes.length;
    const from = this.addressOf(rinfo);
    // A plain Uint8Array view of the Buffer (no copy): the core's `subarray` calls then take the typed-array
    // builtin rather than Buffer's, and its call sites see one receiver type, as for the datagrams it makes.
    this.core.handleDatagram(clockMs(), from, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    if (from === this.lastTo && this.connectedTo === undefined) this.connectToPeer(from);
    this.driveAfterReads();
  };

  /**
   * Datagrams read in one poll phase (libuv reads up to 32 per readiness event, one 'message' each) share one
   * drive pass, in the check phase right after it: one ACK then covers them all and the timer is re-armed once,
   * instead of a pass, an ACK every second datagram and a re-arm per datagram (issue 7: fewer sends per packet).
   */
  private driveAfterReads(): void {
    if (this.readsPending) return;
    this.readsPending = true;
    setImmediate(this.afterReads);
  }

  private readsPending = false;
  private lastFromHost = '';
  private lastFromPort = 0;
  private lastFrom = '';

  /** The core's address key of a sender; the last one is reused (formatting checks the IP family each time). */
  private addressOf(rinfo: RemoteInfo): string {
    if (rinfo.port !== this.lastFromPort || rinfo.address !== this.lastFromHost) {
      this.lastFromHost = rinfo.address;
      this.lastFromPort = rinfo.port;
      this.lastFrom = formatAddress(rinfo.address, rinfo.port);
    }
    return this.lastFrom;
  }

  private readonly afterReads = (): void => {
    this.readsPending = false;
    this.drive();
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.armedDeadlineMs = undefined;
    if (this.closed) return;
    this.counters.timerFires++;
    this.core.handleTimeout(clockMs());
    this.drive();
  };

  private readonly onSocketError = (error: Error): void => {
    this.counters.socketErrors++;
    this.emit('socketError', error);
  };

  private readonly onSent = (error: Error | null): void => {
    if (!error) return;
    this.counters.sendErrors++;
    this.emit('socketError', error);
  };

  /** One pass of the driver contract (Connection class comment): transmit, events, re-arm. */
  private drive(): void {
    if (this.closed) return;
    if (this.driving) {
      this.again = true;
      return;
    }
    this.driving = true;
    try {
      do {
        this.again = false;
        const nowMs = clockMs();
        for (let t = this.core.pollTransmit(nowMs); t; t = this.core.pollTransmit(nowMs)) this.transmit(t);
        for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
          if (e.type === 'connection') this.emit('connection', e.connection, e.remote);
          else this.attached.get(e.connection)?.sink.onSecurityEvent(e);
        }
        // Only connections touched since the last pass can have events or messages (a datagram, a timer or an
        // API call made them active), so a pass costs nothing per idle connection.
        for (const connection of this.touched) {
          this.touched.delete(connection);
          const entry = this.attached.get(connection);
          if (entry === undefined) continue;
          for (let ev = entry.connection.pollEvent(); ev; ev = entry.connection.pollEvent()) {
            entry.sink.onEvent(ev);
          }
          entry.sink.afterDrive();
        }
      } while (this.again && !this.closed);
    } finally {
      this.driving = false;
      this.rearm();
    }
  }

  /**
   * Re-arms the one timer, only when the core's deadline moved earlier (design.md rule 3). A deadline that moved
   * later keeps the armed timer: it fires early, `handleTimeout` finds nothing due, and the timer is re-armed then.
   * Most deadlines (ACK due, idle, keep-alive) move later on every datagram, so this spares a clearTimeout and a
   * setTimeout per datagram.
   */
  private rearm(): void {
    if (this.closed) return;
    const deadlineMs = this.core.nextTimeout();
    if (deadlineMs === undefined) return; // an armed timer fires once, finds nothing due and is not re-armed
    if (this.timer && this.armedDeadlineMs !== undefined && this.armedDeadlineMs <= deadlineMs) return;
    this.cancelTimer();
    this.armedDeadlineMs = deadlineMs;
    this.counters.timerArms++;
    const delayMs = deadlineMs - clockMs();
    // setTimeout cannot wait less than 1 ms; a pacing deadline a few microseconds away would cap the send rate at
    // one pacer burst per millisecond, so a sub-millisecond deadline runs after this turn's I/O instead.
    this.timer = delayMs < 1 ? setImmediate(this.onTimer) : setTimeout(this.onTimer, Math.ceil(delayMs));
  }

  private cancelTimer(): void {
    const timer = this.timer;
    if (!timer) return;
    if ('hasRef' in timer && 'refresh' in timer) clearTimeout(timer);
    else clearImmediate(timer);
    this.timer = undefined;
  }

  private transmit(t: EndpointTransmit): void {
    if (t.to !== this.lastTo) {
      const { host, port } = parseAddress(t.to);
      this.lastTo = t.to;
      this.lastHost = host;
      this.lastPort = port;
    }
    this.counters.datagramsSent++;
    this.counters.bytesSent += t.bytes.length;
    try {
      if (this.connectedTo === t.to) {
        this.socket.send(t.bytes, this.onSent);
        return;
      }
      if (this.connectedTo !== undefined) {
        this.socket.disconnect(); // the peer moved: back to addressed sends
        this.connectedTo = undefined;
      }
      this.socket.send(t.bytes, this.lastPort, this.lastHost, this.onSent);
    } catch (error) {
      // A closed socket or a bad argument throws synchronously: count it like an asynchronous failure.
      this.onSent(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Connects a client's own socket to `to` (issue 7), once a datagram came back from the very address it sends to
   * (a multi-homed server may answer from another one; then the socket stays unconnected). A connected socket
   * sends without Node's address lookup per datagram (≈ 1.5 µs each on loopback) and receives only from its
   * peer. Sends before the connect completes go addressed; a host's socket (embedding) is never connected.
   */
  private connectToPeer(to: string): void {
    if (!this.connectsSocket || !this.ownsSocket || this.connecting) return;
    const socket = this.socket;
    this.connecting = true;
    socket.connect(this.lastPort, this.lastHost, () => {
      if (this.socket !== socket) return;
      this.connecting = false;
      this.connectedTo = to;
    });
  }

  private listenOn(socket: Socket): void {
    socket.on('message', this.onMessage);
    socket.on('error', this.onSocketError);
  }

  private unlistenOn(socket: Socket): void {
    socket.off('message', this.onMessage);
    socket.off('error', this.onSocketError);
  }
}

/** Creates a socket and binds it; rejects with the bind error. */
export function bindSocket(
  type: 'udp4' | 'udp6',
  address: string | undefined,
  port: number,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({
      type,
      ipv6Only: type === 'udp6' ? false : undefined,
      lookup: literalLookup(),
    });
    const onError = (error: Error): void => {
      closeQuietly(socket);
      reject(error);
    };
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * A socket's address lookup that answers an IP literal at once (issue 7). `send` to an address looks it up every
 * time; `dns.lookup` answers a literal only on the next tick, after a regex test, which costs an unconnected
 * socket (a server's) about half a microsecond per datagram. Ferry's peer addresses are the literals the socket
 * reported, so the last one is remembered; anything else goes to `dns.lookup`.
 */
function literalLookup(): NonNullable<SocketOptions['lookup']> {
  let lastHost = '';
  let lastFamily = 0;
  return (hostname, options, callback) => {
    if (hostname !== lastHost) {
      const family = isIP(hostname);
      if (family === 0) {
        lookup(hostname, options, callback);
        return;
      }
      lastHost = hostname;
      lastFamily = family;
    }
    callback(null, lastHost, lastFamily);
  };
}

function setBufferSizes(socket: Socket, bytes: number): void {
  try {
    socket.setRecvBufferSize(bytes);
    socket.setSendBufferSize(bytes);
  } catch {
    // The OS may cap buffer sizes (net.core.rmem_max); the default still works, just with more drops.
  }
}

function closeQuietly(socket: Socket, done?: () => void): void {
  try {
    socket.close(done);
  } catch {
    done?.(); // already closed
  }
}

function idKey(id: Uint8Array): string {
  let key = '';
  for (const b of id) key += b.toString(16).padStart(2, '0');
  return key;
}
