import { Connection } from './connection.ts';
import type { ConnectionConfig } from './connection-config.ts';
import { EventQueue, type QueueItem } from './event-queue.ts';
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
  /**
   * Called when a connection becomes active — a datagram, a timer or an application call touched it — so a
   * driver can serve (events, received messages) only the connections that may have something new.
   */
  onActive?: (connection: Connection) => void;
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
  /** The connection id datagrams for it carry (owned copy). */
  id: Uint8Array;
  remote: string;
  key: string;
  /** The deadline last queued for it (undefined: none queued); older queue items for it are stale. */
  deadlineMs: number | undefined;
}

/** A connection's deadline in the endpoint's timer queue. */
interface TimerItem extends QueueItem {
  entry: Entry;
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
  /** The entry the last datagram went to: consecutive datagrams of one connection skip the id key and map lookup. */
  private lastRouted: Entry | undefined;
  /**
   * Connections touched since they last had nothing to send: a datagram, a timer or an application call
   * (`onWake`). Only these are polled, so the cost per datagram does not grow with idle connections.
   */
  private readonly active = new Set<Entry>();
  /** Each idle connection's deadline (lazily invalidated: an item whose time is not its entry's is stale). */
  private timers = new EventQueue<TimerItem>();
  private readonly events: EndpointEvent[] = [];
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
    return this.add(nowMs, 'client', id, remote).connection;
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
    const { connection } = this.add(nowMs, 'server', connectionId.slice(), remote);
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

  /** The connection with this connection id, if the endpoint holds it. */
  connectionFor(connectionId: Uint8Array): Connection | undefined {
    return this.entries.get(keyOf(connectionId))?.connection;
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
    let entry = this.lastRouted;
    if (entry === undefined || !sameBytes(entry.id, id)) {
      entry = this.entries.get(keyOf(id));
    }
    if (!entry) {
      if (!this.options.acceptConnections || this.entries.size >= this.maxConnections || id.length === 0) {
        this.stats.unroutable++;
        return undefined;
      }
      entry = this.add(nowMs, 'server', id.slice(), from);
      this.events.push({ type: 'connection', connection: entry.connection, remote: from });
    }
    this.lastRouted = entry;
    entry.remote = from; // follow the peer's latest address (path validation arrives with spec §13)
    entry.connection.handleDatagram(nowMs, bytes, decoded.value);
    this.activate(entry);
    return entry.connection;
  }

  /**
   * Next datagram from the connections touched since they were last drained, round-robin so one busy connection
   * cannot starve the rest. A connection with nothing to send leaves the active set, its deadline goes into the
   * timer queue, and a closed one is dropped.
   */
  pollTransmit(nowMs: number): EndpointTransmit | undefined {
    for (const entry of this.active) {
      const bytes = entry.connection.pollTransmit(nowMs);
      if (bytes) {
        // To the back of the round; alone, it already is (spares two hash-set updates per datagram).
        if (this.active.size > 1) {
          this.active.delete(entry);
          this.active.add(entry);
        }
        return { to: entry.remote, bytes };
      }
      this.active.delete(entry);
      this.settle(entry);
    }
    return undefined;
  }

  /** Earliest deadline over all connections: the timer queue's head, and any connection not yet drained. */
  nextTimeout(): number | undefined {
    let t: number | undefined;
    for (const entry of this.active) {
      const c = entry.connection.nextTimeout();
      if (c !== undefined && (t === undefined || c < t)) t = c;
    }
    const head = this.liveHead();
    if (head !== undefined && (t === undefined || head.at < t)) t = head.at;
    return t;
  }

  /** Fires the expired timers of the connections whose deadline has come; they become active. */
  handleTimeout(nowMs: number): void {
    for (const entry of this.active) {
      const t = entry.connection.nextTimeout();
      if (t !== undefined && t <= nowMs) entry.connection.handleTimeout(nowMs);
    }
    for (let head = this.liveHead(); head !== undefined && head.at <= nowMs; head = this.liveHead()) {
      this.timers.pop();
      const entry = head.entry;
      entry.deadlineMs = undefined;
      if (this.active.has(entry)) continue; // served above
      const t = entry.connection.nextTimeout();
      if (t !== undefined && t <= nowMs) entry.connection.handleTimeout(nowMs);
      this.activate(entry);
    }
  }

  private add(nowMs: number, role: 'client' | 'server', connectionId: Uint8Array, remote: string): Entry {
    const key = keyOf(connectionId);
    const entry: Entry = {
      connection: undefined as unknown as Connection,
      id: connectionId,
      remote,
      key,
      deadlineMs: undefined,
    };
    entry.connection = new Connection(nowMs, {
      role,
      connectionId,
      config: this.options.config,
      trace: this.options.trace,
      onWake: () => {
        if (this.entries.get(key) === entry) this.activate(entry);
      },
    });
    this.entries.set(key, entry);
    this.activate(entry);
    return entry;
  }

  private activate(entry: Entry): void {
    if (this.active.has(entry)) return;
    this.active.add(entry);
    this.options.onActive?.(entry.connection);
  }

  /** A drained connection: dropped if closed, else its deadline queued (if it changed). */
  private settle(entry: Entry): void {
    if (entry.connection.state === 'closed') {
      this.entries.delete(entry.key);
      if (this.lastRouted === entry) this.lastRouted = undefined;
      entry.deadlineMs = undefined;
      return;
    }
    const t = entry.connection.nextTimeout();
    if (t === entry.deadlineMs) return;
    entry.deadlineMs = t;
    if (t === undefined) return;
    this.timers.push({ at: t, seq: 0, entry });
    // Stale items leave only when they reach the head; rebuild before they outnumber the connections.
    if (this.timers.size > 2 * this.entries.size + 64) this.rebuildTimers();
  }

  private rebuildTimers(): void {
    this.timers = new EventQueue<TimerItem>();
    for (const entry of this.entries.values()) {
      if (entry.deadlineMs !== undefined) this.timers.push({ at: entry.deadlineMs, seq: 0, entry });
    }
  }

  /** The timer queue's earliest item that is still its connection's deadline, dropping stale ones. */
  private liveHead(): TimerItem | undefined {
    for (let head = this.timers.peek(); head !== undefined; head = this.timers.peek()) {
      if (head.entry.deadlineMs === head.at && this.entries.get(head.entry.key) === head.entry) return head;
      this.timers.pop();
    }
    return undefined;
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
