import { FecEndpoint } from '../fec/fec-endpoint.ts';
import { type FecOptions, withFecReserve } from '../fec/fec-session.ts';
import type { Connection, ConnectionStats } from '../protocol/connection.ts';
import type { ConnectionConfig } from '../protocol/connection-config.ts';
import type { ConnectionEvent, ReceivedMessage } from '../protocol/connection-events.ts';
import { Endpoint } from '../protocol/endpoint.ts';
import type { TraceSinks } from '../protocol/trace.ts';
import { type LinkProfile, linkFromProfile } from '../sim/link.ts';
import { Simulation } from '../sim/simulation.ts';
import { AppEndpoint } from './app-endpoint.ts';

/** Which end of a {@link FerryPair}. */
export type Side = 'client' | 'server';

/** Options of a {@link FerryPair}. */
export interface FerryPairOptions {
  /** Simulator seed. */
  seed: number;
  /** Client → server link. */
  forward: LinkProfile;
  /** Server → client link. */
  reverse: LinkProfile;
  /** Connection tunables for both sides. */
  config?: Partial<ConnectionConfig>;
  /** Called for every message an application receives (the pair reads eagerly). */
  onMessage?: (side: Side, nowMs: number, message: ReceivedMessage) => void;
  /** Called for every connection event. */
  onEvent?: (side: Side, nowMs: number, event: ConnectionEvent) => void;
  /** When false, messages are left in the connection (a slow reader); default true. */
  readEagerly?: boolean;
  /** Sees every datagram a side sends (`out`, as handed to the link) or receives (`in`, as the link delivers it). */
  onDatagram?: (side: Side, direction: 'in' | 'out', nowMs: number, bytes: Uint8Array) => void;
  /** Forward error correction on both sides (spec §11): `true` for the defaults, or its settings. */
  fec?: boolean | FecOptions;
  /** Trace sinks of the two endpoints (spec §15), for `ferry bench --trace`; none by default. */
  trace?: TraceSinks;
}

/**
 * A Ferry client and server connected through simulated links: the harness every simulation test and protocol
 * benchmark uses. Deterministic for a given seed and setup.
 */
export class FerryPair {
  readonly sim: Simulation;
  readonly client: Connection;
  /** The server's connection, once the first client datagram has arrived. */
  server: Connection | undefined;
  private readonly serverEndpoint: Endpoint;
  /** The FEC layers of both sides when `options.fec` is set (spec §11). */
  readonly fec: { client: FecEndpoint; server: FecEndpoint } | undefined;

  constructor(private readonly options: FerryPairOptions) {
    this.sim = new Simulation({ seed: options.seed });
    const fecOptions = options.fec === true ? {} : options.fec || undefined;
    const config = fecOptions ? withFecReserve(options.config, fecOptions) : options.config;
    const clientEndpoint = new Endpoint({
      random: this.sim.forkRandom('client ids'),
      acceptConnections: false,
      config,
      trace: options.trace?.client,
    });
    this.serverEndpoint = new Endpoint({
      random: this.sim.forkRandom('server ids'),
      acceptConnections: true,
      config,
      trace: options.trace?.server,
    });
    this.client = clientEndpoint.connect(0, 'server');
    this.fec = fecOptions && {
      client: new FecEndpoint(clientEndpoint, { ...fecOptions, trace: options.trace?.client }),
      server: new FecEndpoint(this.serverEndpoint, { ...fecOptions, trace: options.trace?.server }),
    };
    const clientDriver = this.fec?.client ?? clientEndpoint;
    const serverDriver = this.fec?.server ?? this.serverEndpoint;
    const tap = (side: Side) => {
      const onDatagram = options.onDatagram;
      return (
        onDatagram &&
        ((direction: 'in' | 'out', now: number, bytes: Uint8Array) => onDatagram(side, direction, now, bytes))
      );
    };
    this.sim.addEndpoint(
      'client',
      new AppEndpoint(clientDriver, (now) => this.serviceApp('client', now), tap('client')),
    );
    this.sim.addEndpoint(
      'server',
      new AppEndpoint(serverDriver, (now) => this.serviceApp('server', now), tap('server')),
    );
    this.sim.connect('client', 'server', linkFromProfile(options.forward), linkFromProfile(options.reverse));
  }

  /** The connection of `side`, if it exists yet. */
  connection(side: Side): Connection | undefined {
    return side === 'client' ? this.client : this.server;
  }

  /** Drains events and (when reading eagerly) messages of one side into the callbacks. */
  serviceApp(side: Side, nowMs: number): void {
    if (side === 'server' && !this.server) {
      const event = this.serverEndpoint.pollEvent();
      if (event) this.server = event.connection;
    }
    const connection = this.connection(side);
    if (!connection) return;
    for (let event = connection.pollEvent(); event; event = connection.pollEvent()) {
      this.options.onEvent?.(side, nowMs, event);
    }
    if (this.options.readEagerly === false) return;
    for (let message = connection.receive(); message; message = connection.receive()) {
      this.options.onMessage?.(side, nowMs, message);
    }
  }

  /** A connection counter summed over both sides (the server's counts once its connection exists). */
  totalStat(key: keyof ConnectionStats): number {
    return this.client.stats[key] + (this.server?.stats[key] ?? 0);
  }

  /** Runs application code at virtual time `atMs`, then lets both endpoints transmit. */
  at(atMs: number, hook: (nowMs: number) => void): void {
    this.sim.schedule(atMs, (now) => {
      hook(now);
      this.serviceApp('client', now);
      this.serviceApp('server', now);
    });
  }
}
