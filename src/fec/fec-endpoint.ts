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
      this.#endpoint.handleDatagram(nowMs, from, bytes); // may open the connection
      entry = this.#attach(key);
      if (entry === undefined) return;
      entry.session.onReceive(nowMs, bytes);
      return;
    }
    for (const datagram of entry.session.onReceive(nowMs, bytes)) {
      this.#endpoint.handleDatagram(nowMs, from, datagram);
    }
    entry.session.onConnectionStats(entry.connection.stats);
  }

  /** Fires the endpoint's expired timers (FEC deadlines are served by `pollTransmit`). */
  handleTimeout(nowMs: number): void {
    this.#endpoint.handleTimeout(nowMs);
  }

  /** A due REPAIR packet of any connection first, else the endpoint's next datagram (fed to its FEC layer). */
  pollTransmit(nowMs: number): EndpointTransmit | undefined {
    for (const [key, entry] of this.#entries) {
      if (entry.connection.state === 'closed') {
        this.#entries.delete(key);
        continue;
      }
      if (entry.remote === undefined) continue;
      const repair = entry.session.pollRepair(nowMs);
      if (repair !== undefined) return { to: entry.remote, bytes: repair };
    }
    const transmit = this.#endpoint.pollTransmit(nowMs);
    if (transmit === undefined) return undefined;
    const decoded = decodeHeader(transmit.bytes);
    if (decoded.ok) {
      const key = keyOf(decoded.value.header.connectionId);
      const entry = this.#entries.get(key) ?? this.#attach(key);
      if (entry !== undefined) {
        entry.remote = transmit.to;
        entry.session.onTransmit(nowMs, transmit.bytes);
        entry.session.onConnectionStats(entry.connection.stats);
      }
    }
    return transmit;
  }

  /** The earliest of the endpoint's deadline and every open block's repair deadline. */
  nextTimeout(): number | undefined {
    let t = this.#endpoint.nextTimeout();
    for (const entry of this.#entries.values()) {
      if (entry.connection.state === 'closed') continue;
      const fec = entry.session.nextTimeout();
      if (fec !== undefined && (t === undefined || fec < t)) t = fec;
    }
    return t;
  }

  /** Creates the FEC layer of the endpoint's connection with this id key, if there is one. */
  #attach(key: string): Entry | undefined {
    const connection = this.#endpoint.connections.find((c) => keyOf(c.connectionId) === key);
    if (connection === undefined || connection.state === 'closed') return undefined;
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
