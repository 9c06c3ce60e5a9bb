import { Connection } from './connection.ts';
import type { ConnectionConfig } from './connection-config.ts';
import type { RandomSource } from './random.ts';
import type { TraceSink } from './trace.ts';
import { decodeHeader } from './wire/header.ts';

/** Options of an {@link Endpoint}. */
export interface EndpointOptions {
  /** Randomness for connection ids: the simulator's seeded PRNG, or the CSPRNG in the Node binding. */
  random: RandomSource;
  /** Whether datagrams for unknown connection ids open new connections (a server). */
  acceptConnections: boolean;
  /** Connection id length in bytes (R-WIRE-7): 4, 8 or 16. */
  connectionIdLength?: 4 | 8 | 16;
  /** Tunables for every connection of this endpoint. */
  config?: Partial<ConnectionConfig>;
  /** Most connections at once; datagrams that would open more are dropped and counted. */
  maxConnections?: number;
  /** Trace sink (spec §15) given to every connection of this endpoint; none by default. */
  trace?: TraceSink;
}

/** Something the endpoint tells the application. */
export type EndpointEvent = { type: 'connection'; connection: Connection; remote: string };

/** A datagram to send. */
export interface EndpointTransmit {
  to: string;
  bytes: Uint8Array;
}

/** Counters of datagrams the endpoint could not route. */
export interface EndpointStats {
  /** Undecodable headers. */
  malformed: number;
  /** Unknown connection id on an endpoint that does not accept, or at the connection limit. */
  unroutable: number;
}

interface Entry {
  connection: Connection;
  remote: string;
}

/**
 * Demultiplexes datagrams to connections by connection id, not by address (spec §3), so a
 * connection survives an address change. Sans-IO, with the same driver contract as {@link Connection}:
 * `handleDatagram` / `handleTimeout`, then drain `pollTransmit`, then re-arm at `nextTimeout()`.
 *
 * Spec v0 has no handshake yet (spec §13 replaces this): a client picks a random connection id that both
 * directions use, and a server endpoint opens a connection for the first datagram with an unknown id.
 */
export class Endpoint {
  private readonly entries = new Map<string, Entry>();
  private list: Entry[] | undefined;
  private readonly events: EndpointEvent[] = [];
  private pollCursor = 0;
  readonly stats: EndpointStats = { malformed: 0, unroutable: 0 };
  private readonly connectionIdLength: 4 | 8 | 16;
  private readonly maxConnections: number;

  constructor(private readonly options: EndpointOptions) {
    this.connectionIdLength = options.connectionIdLength ?? 4;
    this.maxConnections = options.maxConnections ?? 10_000;
  }

  /** Opens a connection to `remote` with a fresh random connection id. */
  connect(nowMs: number, remote: string): Connection {
    let id: Uint8Array;
    do {
      id = new Uint8Array(this.connectionIdLength);
      this.options.random.fill(id);
    } while (this.entries.has(keyOf(id)));
    const connection = new Connection(nowMs, {
      role: 'client',
      connectionId: id,
      config: this.options.config,
      trace: this.options.trace,
    });
    this.entries.set(keyOf(id), { connection, remote });
    return connection;
  }

  /**
   * Opens a server connection for `connectionId` on behalf of a handshake layer (spec §13: the secure endpoint
   * accepts only after the handshake), and reports it as a 'connection' event. Undefined at `maxConnections` or
   * when the id is in use.
   */
  accept(nowMs: number, connectionId: Uint8Array, remote: string): Connection | undefined {
    const key = keyOf(connectionId);
    if (this.entries.has(key) || this.entries.size >= this.maxConnections || connectionId.length === 0) {
      return undefined;
    }
    const connection = new Connection(nowMs, {
      role: 'server',
      connectionId: connectionId.slice(),
      config: this.options.config,
      trace: this.options.trace,
    });
    this.entries.set(key, { connection, remote });
    this.events.push({ type: 'connection', connection, remote });
    return connection;
  }

  /** Number of connections held, closed ones not yet reaped included. */
  get connectionCount(): number {
    return this.entries.size;
  }

  /** The next endpoint event (new incoming connections). */
  pollEvent(): EndpointEvent | undefined {
    return this.events.shift();
  }

  /** Live connections. */
  get connections(): Connection[] {
    return [...this.entries.values()].map((e) => e.connection);
  }

  /** Routes one datagram from `from`; returns the connection it went to. Never throws on peer input. */
  handleDatagram(nowMs: number, from: string, bytes: Uint8Array): Connection | undefined {
    const decoded = decodeHeader(bytes);
    if (!decoded.ok) {
      this.stats.malformed++;
      return undefined;
    }
    const id = decoded.value.header.connectionId;
    const key = keyOf(id);
    let entry = this.entries.get(key);
    if (!entry) {
      if (!this.options.acceptConnections || this.entries.size >= this.maxConnections || id.length === 0) {
        this.stats.unroutable++;
        return undefined;
      }
      const connection = new Connection(nowMs, {
        role: 'server',
        connectionId: id.slice(),
        config: this.options.config,
        trace: this.options.trace,
      });
      entry = { connection, remote: from };
      this.entries.set(key, entry);
      this.events.push({ type: 'connection', connection, remote: from });
    }
    entry.remote = from; // follow the peer's latest address (path validation arrives with spec §13)
    entry.connection.handleDatagram(nowMs, bytes);
    return entry.connection;
  }

  /** Next datagram from any connection, round-robin so one busy connection cannot starve the rest. */
  pollTransmit(nowMs: number): EndpointTransmit | undefined {
    const list = this.entryList();
    for (let i = 0; i < list.length; i++) {
      const entry = list[(this.pollCursor + i) % list.length]!;
      const bytes = entry.connection.pollTransmit(nowMs);
      if (bytes) {
        this.pollCursor = (this.pollCursor + i + 1) % list.length;
        return { to: entry.remote, bytes };
      }
    }
    this.reapClosed();
    return undefined;
  }

  /** Earliest deadline over all connections. */
  nextTimeout(): number | undefined {
    let t: number | undefined;
    for (const { connection } of this.entries.values()) {
      const c = connection.nextTimeout();
      if (c !== undefined && (t === undefined || c < t)) t = c;
    }
    return t;
  }

  /** Fires the expired timers of every connection. */
  handleTimeout(nowMs: number): void {
    for (const { connection } of this.entries.values()) {
      const t = connection.nextTimeout();
      if (t !== undefined && t <= nowMs) connection.handleTimeout(nowMs);
    }
  }

  private reapClosed(): void {
    for (const [key, entry] of this.entries) {
      if (entry.connection.state === 'closed') {
        this.entries.delete(key);
        this.list = undefined;
      }
    }
  }

  /** The entries as an array, rebuilt only when connections come or go (pollTransmit runs per datagram). */
  private entryList(): Entry[] {
    if (!this.list || this.list.length !== this.entries.size) this.list = [...this.entries.values()];
    return this.list;
  }
}

function keyOf(id: Uint8Array): string {
  let key = '';
  for (const b of id) key += b.toString(16).padStart(2, '0');
  return key;
}
