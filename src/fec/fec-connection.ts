import type { Connection } from '../protocol/connection.ts';
import { type FecOptions, FecSession, fecDefaultReserveBytes } from './fec-session.ts';

/**
 * A {@link Connection} with a FEC layer between it and the network (spec §11): the same driver API, with REPAIR
 * packets added to what it sends and rebuilt datagrams added to what it receives. Create the connection with
 * `withFecReserve(config)` so REPAIR packets fit the path. The application API (`send`, `receive`, `pollEvent`,
 * `close`, `stats`…) stays on `connection`.
 *
 * Call order, as for the connection: `handleDatagram(now, bytes)` per datagram; `handleTimeout(now)` when
 * `now >= nextTimeout()`; then drain `pollTransmit(now)`; re-arm at `nextTimeout()`.
 */
export class FecConnection {
  /** The wrapped connection. */
  readonly connection: Connection;
  /** Its FEC layer. */
  readonly fec: FecSession;

  /** Wraps `connection`; `options.reserveBytes` is how much its datagrams were shrunk (see `withFecReserve`). */
  constructor(connection: Connection, options: FecOptions = {}) {
    this.connection = connection;
    const pathBytes = connection.config.maxDatagramBytes + (options.reserveBytes ?? fecDefaultReserveBytes);
    this.fec = new FecSession(connection.connectionId, pathBytes, options);
  }

  /** Processes one datagram: REPAIR packets go to the FEC layer, everything else (and rebuilt datagrams) on. */
  handleDatagram(nowMs: number, bytes: Uint8Array): void {
    for (const datagram of this.fec.onReceive(nowMs, bytes)) this.connection.handleDatagram(nowMs, datagram);
    this.fec.onConnectionStats(this.connection.stats);
  }

  /** Handles expired timers (the connection's; the FEC deadline is served by `pollTransmit`). */
  handleTimeout(nowMs: number): void {
    const due = this.connection.nextTimeout();
    if (due !== undefined && due <= nowMs) this.connection.handleTimeout(nowMs);
  }

  /** The next datagram to send: a due REPAIR packet first, else the connection's next packet. */
  pollTransmit(nowMs: number): Uint8Array | undefined {
    const repair = this.fec.pollRepair(nowMs);
    if (repair !== undefined) return repair;
    const bytes = this.connection.pollTransmit(nowMs);
    if (bytes === undefined) return undefined;
    this.fec.onTransmit(nowMs, bytes);
    this.fec.onConnectionStats(this.connection.stats);
    return bytes;
  }

  /** The earlier of the connection's deadline and the open block's repair deadline. */
  nextTimeout(): number | undefined {
    const connection = this.connection.nextTimeout();
    if (this.connection.state === 'closed') return connection;
    const fec = this.fec.nextTimeout();
    if (fec === undefined) return connection;
    return connection === undefined ? fec : Math.min(connection, fec);
  }
}
