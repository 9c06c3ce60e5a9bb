import type { Connection } from '../protocol/connection.ts';
import type { Endpoint, EndpointTransmit } from '../protocol/endpoint.ts';
import { decodeHeader, PacketType } from '../protocol/wire/index.ts';
import { type FecOptions, FecSession, fecDefaultReserveBytes } from './fec-session.ts';

/** One connection's FEC layer and where its datagrams go. */
interface Entry {
  connection: Connection;
  session: FecSession;
  remote: string | undefined;
}

/** Counters of a {@link FecEndpoint}. */
export interface FecEndpointStats {
  /** REPAIR packets for no known connection, dropped. */
  unroutableRepairs: number;
}

/**
 * An {@link Endpoint} with a FEC layer per connection (spec §11), keyed by connection id, with the endpoint's
 * driver API. The endpoint's connections must use `withFecReserve(config)` so REPAIR packets fit the path.
 * REPAIR packets for unknown connections never open one: they are dropped and counted.
 */
export class FecEndpoint {
  readonly #endpoint: Endpoint;
  readonly #options: FecOptions;
  readonly #entries = new Map<string, Entry>();
  /** Layers that may have an open block or repairs waiting: only these are polled and timed. */
  readonly #pending = new Set<Entry>();
  /** Walks the layers one step per poll, dropping those of closed connections (amortised O(1)). */
  #sweep: Iterator<[string, Entry]> | undefined;
  /** Counters since creation. */
  readonly stats: FecEndpointStats = { unroutableRepairs: 0 };

  /** Wraps `endpoint`. */
  constructor(endpoint: Endpoint, options: FecOptions = {}) {
    this.#endpoint = endpoint;
    this.#options = options;
  }

  /** The FEC layer of `connection`, once it has sent or received anything. */
  session(connection: Connection): FecSession | undefined {
    return this.#entries.get(keyOf(connection.connectionId))?.session;
  }

  /** Routes one datagram: through the connection's FEC layer when it has one. Never throws on peer input. */
  handleDatagram(nowMs: number, from: string, bytes: Uint8Array): void {
    const decoded = decodeHeader(bytes);
    if (!decoded.ok) {
      this.#endpoint.handleDatagram(nowMs, from, bytes);
      return;
    }
    const key = keyOf(decoded.value.header.connectionId);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      // A connection's layer exists once it has sent or received a DATA packet, and repairs only follow those:
      // a REPAIR packet for an unknown id is dropped without searching the endpoint's connections.
      if (decoded.value.header.type === PacketType.fecRepair) {
        this.stats.unroutableRepairs++;
        return;
      }
      const connection = this.#endpoint.handleDatagram(nowMs, from, bytes); // may open the connection
      entry = connection && this.#attach(key, connection);
      if (entry === undefined) return;
      entry.session.onReceive(nowMs, bytes);
      return;
    }
    for (const datagram of entry.session.onReceive(nowMs, bytes)) {
      this.#endpoint.handleDatagram(nowMs, from, datagram);
    }
    entry.session.onConnectionStats(entry.connection.stats);
    entry.session.onRtt(entry.connection.smoothedRttMs);
    // Feedback may have queued extra repair, and data may have opened a repair request (R-FEC-15).
    if (entry.session.nextTimeout() !== undefined) this.#pending.add(entry);
  }

  /** Fires the endpoint's expired timers (FEC deadlines are served by `pollTransmit`). */
  handleTimeout(nowMs: number): void {
    this.#endpoint.handleTimeout(nowMs);
  }

  /** A due REPAIR packet of any connection first, else the endpoint's next datagram (fed to its FEC layer). */
  pollTransmit(nowMs: number): EndpointTransmit | undefined {
    this.#sweepOne();
    for (const entry of this.#pending) {
      if (entry.remote !== undefined && entry.connection.state !== 'closed') {
        const repair = entry.session.pollRepair(nowMs);
        if (repair !== undefined) return { to: entry.remote, bytes: repair };
        if (entry.session.nextTimeout() !== undefined) continue;
      }
      this.#pending.delete(entry);
    }
    const transmit = this.#endpoint.pollTransmit(nowMs);
    if (transmit === undefined) return undefined;
    const decoded = decodeHeader(transmit.bytes);
    if (decoded.ok) {
      const key = keyOf(decoded.value.header.connectionId);
      let entry = this.#entries.get(key);
      if (entry === undefined) {
        const connection = this.#endpoint.connectionFor(decoded.value.header.connectionId);
        entry = connection && this.#attach(key, connection);
      }
      if (entry !== undefined) {
        entry.remote = transmit.to;
        entry.session.onTransmit(nowMs, transmit.bytes);
        this.#pending.add(entry);
        entry.session.onConnectionStats(entry.connection.stats);
      }
    }
    return transmit;
  }

  /** The earliest of the endpoint's deadline and every open block's repair deadline. */
  nextTimeout(): number | undefined {
    let t = this.#endpoint.nextTimeout();
    for (const entry of this.#pending) {
      if (entry.connection.state === 'closed') continue;
      const fec = entry.session.nextTimeout();
      if (fec !== undefined && (t === undefined || fec < t)) t = fec;
    }
    return t;
  }

  #sweepOne(): void {
    this.#sweep ??= this.#entries.entries();
    const next = this.#sweep.next();
    if (next.done) {
      this.#sweep = undefined;
      return;
    }
    const [key, entry] = next.value;
    if (entry.connection.state === 'closed') {
      this.#entries.delete(key);
      this.#pending.delete(entry);
    }
  }

  /** Creates the FEC layer of `connection` (whose id has this key), unless it is closed. */
  #attach(key: string, connection: Connection): Entry | undefined {
    if (connection.state === 'closed') return undefined;
    const pathBytes =
      connection.config.maxDatagramBytes + (this.#options.reserveBytes ?? fecDefaultReserveBytes);
    const entry: Entry = {
      connection,
      session: new FecSession(connection.connectionId, pathBytes, this.#options),
      remote: undefined,
    };
    this.#entries.set(key, entry);
    return entry;
  }
}

function keyOf(id: Uint8Array): string {
  let key = '';
  for (const b of id) key += b.toString(16).padStart(2, '0');
  return key;
}
