import { Connection } from '../../src/protocol/connection.ts';
import type { ConnectionConfig } from '../../src/protocol/connection-config.ts';
import type { ConnectionEvent, ReceivedMessage } from '../../src/protocol/connection-events.ts';
import {
  decodePacket,
  encodedPacketLength,
  encodePacket,
  type Frame,
  type Packet,
} from '../../src/protocol/wire/index.ts';

/** Which connection of a {@link HandPair}. */
export type Side = 'client' | 'server';

/** One datagram a side handed to the (hand-made) network. */
export interface Datagram {
  from: Side;
  /** Index among the datagrams `from` sent, from 0. */
  index: number;
  sentAtMs: number;
  bytes: Uint8Array;
}

/** Options of a {@link HandPair}. */
export interface HandPairOptions {
  /** Tunables for both sides. */
  config?: Partial<ConnectionConfig>;
  /** One-way delay of every datagram (ms); default 25. */
  delayMs?: number;
  /** Returns true to drop a datagram; default none. */
  drop?: (d: Datagram) => boolean;
  /** When false, received messages stay in the connection (a slow reader); default true. */
  readEagerly?: boolean;
}

/** The frames of a datagram a connection produced (it must decode: the core never sends malformed bytes). */
export function framesOf(bytes: Uint8Array): { packetNumber: number; frames: Frame[] } {
  const decoded = decodePacket(bytes);
  if (!decoded.ok) throw new Error(`undecodable datagram: ${decoded.error.reason}`);
  return { packetNumber: decoded.value.header.packetNumber, frames: decoded.value.frames };
}

/** Encodes a DATA packet with connection id `cid` (for forged peer input). */
export function packetBytes(cid: Uint8Array, packetNumber: number, frames: Frame[]): Uint8Array {
  const packet: Packet = {
    header: { type: 0, connectionId: cid, keyPhase: false, packetNumber },
    frames,
  };
  const buf = new Uint8Array(encodedPacketLength(packet));
  encodePacket(packet, buf, 0);
  return buf;
}

/**
 * Two {@link Connection}s wired by hand through a fixed-delay network with a programmable drop rule: the
 * smallest deterministic driver for spec tests (no simulator, no randomness). Time only moves in `runUntil`.
 */
export class HandPair {
  readonly client: Connection;
  readonly server: Connection;
  readonly cid = Uint8Array.of(1, 2, 3, 4);
  nowMs = 0;
  /** Every datagram sent, in order, dropped or not. */
  readonly sent: Datagram[] = [];
  readonly events: Record<Side, ConnectionEvent[]> = { client: [], server: [] };
  readonly messages: Record<Side, ReceivedMessage[]> = { client: [], server: [] };
  private readonly counts: Record<Side, number> = { client: 0, server: 0 };
  private network: { atMs: number; to: Side; bytes: Uint8Array }[] = [];

  constructor(private readonly options: HandPairOptions = {}) {
    this.client = new Connection(0, { role: 'client', connectionId: this.cid, config: options.config });
    this.server = new Connection(0, { role: 'server', connectionId: this.cid, config: options.config });
  }

  /** The connection of `side`. */
  conn(side: Side): Connection {
    return side === 'client' ? this.client : this.server;
  }

  /** Datagrams sent by `side`. */
  sentBy(side: Side): Datagram[] {
    return this.sent.filter((d) => d.from === side);
  }

  /** Drains both sides' transmits into the network and their events and messages into the logs. */
  flush(): void {
    for (const side of ['client', 'server'] as const) {
      const conn = this.conn(side);
      for (let bytes = conn.pollTransmit(this.nowMs); bytes; bytes = conn.pollTransmit(this.nowMs)) {
        const d: Datagram = { from: side, index: this.counts[side]++, sentAtMs: this.nowMs, bytes };
        this.sent.push(d);
        if (this.options.drop?.(d)) continue;
        const to: Side = side === 'client' ? 'server' : 'client';
        this.network.push({ atMs: this.nowMs + (this.options.delayMs ?? 25), to, bytes });
      }
      this.service(side);
    }
  }

  private service(side: Side): void {
    const conn = this.conn(side);
    for (let e = conn.pollEvent(); e; e = conn.pollEvent()) this.events[side].push(e);
    if (this.options.readEagerly === false) return;
    for (let m = conn.receive(); m; m = conn.receive()) this.messages[side].push(m);
  }

  /** Runs application code now, then flushes. */
  act(hook: (nowMs: number) => void): void {
    hook(this.nowMs);
    this.flush();
  }

  /** Advances time to `untilMs`, delivering datagrams and firing timers in time order (or until `stopWhen`). */
  runUntil(untilMs: number, stopWhen?: () => boolean): void {
    this.flush();
    for (let steps = 0; ; steps++) {
      if (steps > 1_000_000) throw new Error('HandPair: no progress');
      if (stopWhen?.()) return;
      let next = Number.POSITIVE_INFINITY;
      for (const d of this.network) next = Math.min(next, d.atMs);
      for (const side of ['client', 'server'] as const) {
        const t = this.conn(side).nextTimeout();
        if (t !== undefined) next = Math.min(next, t);
      }
      if (next > untilMs) {
        this.nowMs = untilMs;
        return;
      }
      this.nowMs = Math.max(this.nowMs, next);
      const due = this.network.filter((d) => d.atMs <= this.nowMs);
      this.network = this.network.filter((d) => d.atMs > this.nowMs);
      for (const d of due) this.conn(d.to).handleDatagram(this.nowMs, d.bytes);
      for (const side of ['client', 'server'] as const) {
        const conn = this.conn(side);
        const t = conn.nextTimeout();
        if (t !== undefined && t <= this.nowMs) conn.handleTimeout(this.nowMs);
      }
      this.flush();
    }
  }
}
