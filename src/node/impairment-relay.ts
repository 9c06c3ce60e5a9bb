import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { DropCause, SimPacket } from '../sim/link/node.ts';
import { type Link, type LinkProfile, linkFromProfile } from '../sim/link.ts';
import { SeededRandom } from '../sim/random.ts';
import type { UdpAddress } from './address.ts';
import { clockMs } from './clock.ts';
import { bindSocket } from './udp-endpoint.ts';

/** Options of an {@link ImpairmentRelay}. */
export interface ImpairmentRelayOptions {
  /** The server datagrams are forwarded to. */
  target: UdpAddress;
  /** Address the relay listens on for clients. Default `127.0.0.1`. */
  host?: string;
  /** Port the relay listens on; 0 (default) picks a free one (see `address()`). */
  port?: number;
  /** Impairments client → server (the simulator's link profile, in real milliseconds). */
  upstream?: LinkProfile;
  /** Impairments server → client. */
  downstream?: LinkProfile;
  /** Seed of the impairments' random streams (the loss pattern, not the real-time schedule, is reproducible). */
  seed?: number;
  /** Most datagrams waiting for their delivery time, per direction and client; beyond it they are dropped. */
  maxQueuedPackets?: number;
  /** Most clients at once (each gets its own upstream socket, like a NAT mapping). Default 64. */
  maxClients?: number;
}

/** Counters of one direction (all clients together). */
export interface RelayDirectionStats {
  /** Datagrams that entered the link. */
  received: number;
  /** Datagrams sent on after their delay. */
  forwarded: number;
  /** Dropped by the link model, by cause. */
  dropped: Partial<Record<DropCause, number>>;
  /** Dropped because the delivery queue was full. */
  overflow: number;
  /** `socket.send` failures. */
  sendErrors: number;
}

/** Counters of the relay. */
export interface ImpairmentRelayStats {
  upstream: RelayDirectionStats;
  downstream: RelayDirectionStats;
  /** Datagrams from new clients refused at `maxClients`. */
  refusedClients: number;
}

interface Session {
  client: UdpAddress;
  upstreamSocket: Socket;
  up: Link;
  down: Link;
  queuedUp: number;
  queuedDown: number;
}

function directionStats(): RelayDirectionStats {
  return { received: 0, forwarded: 0, dropped: {}, overflow: 0, sendErrors: 0 };
}

/**
 * A UDP forwarder that applies the simulator's link models in real time, so real-socket tests and users can try
 * 30% loss without root. Each client address gets its own upstream socket (a NAT mapping) and its own pair of
 * `Link`s built by `linkFromProfile`; every datagram goes through its link with `sentAt`/`at` in real monotonic
 * milliseconds and is sent on by a timer at the computed delivery time. Queues are bounded.
 */
export class ImpairmentRelay {
  private readonly sessions = new Map<string, Session>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: SeededRandom;
  private readonly maxQueued: number;
  private readonly maxClients: number;
  private readonly counters: ImpairmentRelayStats = {
    upstream: directionStats(),
    downstream: directionStats(),
    refusedClients: 0,
  };
  private sessionCount = 0;
  private closed = false;

  private constructor(
    private readonly options: ImpairmentRelayOptions,
    private readonly front: Socket,
  ) {
    this.random = new SeededRandom(options.seed ?? 1);
    this.maxQueued = options.maxQueuedPackets ?? 4096;
    this.maxClients = options.maxClients ?? 64;
    front.on('message', (bytes: Buffer, rinfo: RemoteInfo) => this.fromClient(bytes, rinfo));
    front.on('error', () => this.counters.upstream.sendErrors++);
  }

  /** Binds the relay's client-facing socket and starts forwarding. */
  static async open(options: ImpairmentRelayOptions): Promise<ImpairmentRelay> {
    const host = options.host ?? '127.0.0.1';
    const front = await bindSocket(host.includes(':') ? 'udp6' : 'udp4', host, options.port ?? 0);
    return new ImpairmentRelay(options, front);
  }

  /** The address clients send to. */
  address(): AddressInfo {
    return this.front.address();
  }

  /** Counters, with the link models' drop causes. */
  stats(): ImpairmentRelayStats {
    return structuredClone(this.counters);
  }

  /**
   * Moves every client's upstream mapping to a new source port, as a NAT rebinding does: the server sees the same
   * connections arrive from new addresses. Datagrams already scheduled leave from the new socket.
   */
  async rebindUpstream(): Promise<void> {
    for (const session of this.sessions.values()) {
      const socket = await this.upstreamSocket(session);
      const old = session.upstreamSocket;
      session.upstreamSocket = socket;
      old.close();
    }
  }

  /** Stops forwarding, drops everything queued and closes the relay's sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const sockets = [this.front, ...[...this.sessions.values()].map((s) => s.upstreamSocket)];
    this.sessions.clear();
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  private fromClient(bytes: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    const session =
      this.sessions.get(key) ?? this.openSession(key, { host: rinfo.address, port: rinfo.port });
    if (!session) return;
    this.counters.upstream.received++;
    session.up.send(bytes, clockMs());
  }

  private openSession(key: string, client: UdpAddress): Session | undefined {
    if (this.sessions.size >= this.maxClients) {
      this.counters.refusedClients++;
      return undefined;
    }
    const index = this.sessionCount++;
    const up = linkFromProfile(this.options.upstream ?? {}, this.random.fork(2 * index));
    const down = linkFromProfile(this.options.downstream ?? {}, this.random.fork(2 * index + 1));
    // The upstream socket is bound asynchronously; until then `send` binds it implicitly to a free port.
    const session: Session = {
      client,
      upstreamSocket: undefined as never,
      up,
      down,
      queuedUp: 0,
      queuedDown: 0,
    };
    session.upstreamSocket = this.unboundUpstream(session);
    const target = this.options.target;
    up.attach({
      deliver: (packet) => this.schedule(session, 'up', packet, () => session.upstreamSocket, target),
      drop: (_packet, cause) => this.countDrop(this.counters.upstream, cause),
    });
    down.attach({
      deliver: (packet) => this.schedule(session, 'down', packet, () => this.front, session.client),
      drop: (_packet, cause) => this.countDrop(this.counters.downstream, cause),
    });
    this.sessions.set(key, session);
    return session;
  }

  private unboundUpstream(session: Session): Socket {
    const family = this.options.target.host.includes(':') ? 'udp6' : 'udp4';
    // node:dgram binds an unbound socket to a free port on its first send; the server's answers come back to it.
    const socket = createSocket(family);
    this.listenUpstream(session, socket);
    return socket;
  }

  private async upstreamSocket(session: Session): Promise<Socket> {
    const family = this.options.target.host.includes(':') ? 'udp6' : 'udp4';
    const socket = await bindSocket(family, undefined, 0);
    this.listenUpstream(session, socket);
    return socket;
  }

  private listenUpstream(session: Session, socket: Socket): void {
    socket.on('message', (bytes: Buffer) => {
      if (this.closed || socket !== session.upstreamSocket) return;
      this.counters.downstream.received++;
      session.down.send(bytes, clockMs());
    });
    socket.on('error', () => this.counters.downstream.sendErrors++);
  }

  private schedule(
    session: Session,
    direction: 'up' | 'down',
    packet: SimPacket,
    socket: () => Socket,
    to: UdpAddress,
  ): void {
    const stats = direction === 'up' ? this.counters.upstream : this.counters.downstream;
    const queued = direction === 'up' ? session.queuedUp : session.queuedDown;
    if (queued >= this.maxQueued) {
      stats.overflow++;
      return;
    }
    const send = (): void => {
      if (this.closed) return;
      stats.forwarded++;
      socket().send(packet.bytes, to.port, to.host, (error) => {
        if (error) stats.sendErrors++;
      });
    };
    const delayMs = packet.at - clockMs();
    if (delayMs <= 0) {
      send();
      return;
    }
    this.adjustQueued(session, direction, 1);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.adjustQueued(session, direction, -1);
      send();
    }, Math.ceil(delayMs));
    this.timers.add(timer);
  }

  private adjustQueued(session: Session, direction: 'up' | 'down', delta: number): void {
    if (direction === 'up') session.queuedUp += delta;
    else session.queuedDown += delta;
  }

  private countDrop(stats: RelayDirectionStats, cause: DropCause): void {
    stats.dropped[cause] = (stats.dropped[cause] ?? 0) + 1;
  }
}
