import type { SeededRandom } from '../random.ts';

/** A datagram travelling through a link. Nodes own it: they may update `at` and emit it, or drop it. */
export interface SimPacket {
  /** UDP payload. */
  bytes: Uint8Array;
  /** Virtual time (ms) the sender handed it to the link. */
  sentAt: number;
  /** Virtual time (ms) it reaches the current node; after the last node, its delivery time. */
  at: number;
}

/** Why a node dropped a datagram. */
export type DropCause = 'loss' | 'queue' | 'mtu';

/** Passes a packet to the next node (or to the receiver after the last node). */
export type Emit = (packet: SimPacket) => void;

/** Reports a dropped packet. */
export type Drop = (packet: SimPacket, cause: DropCause) => void;

/** Per-node accounting. `delivered` can exceed `received` on a duplicating node. */
export class NodeCounters {
  /** Datagrams that reached the node. */
  received = 0;
  /** Datagrams the node emitted. */
  delivered = 0;
  /** Payload bytes that reached the node. */
  bytesIn = 0;
  /** Payload bytes the node emitted. */
  bytesOut = 0;
  /** Datagrams dropped, by cause. */
  dropped: Partial<Record<DropCause, number>> = {};

  /** Total datagrams dropped, all causes. */
  get droppedTotal(): number {
    let total = 0;
    for (const n of Object.values(this.dropped)) total += n ?? 0;
    return total;
  }
}

/**
 * One stage of a one-way link (neqo's simulator nodes). `process` is called once per packet, in the order
 * the link receives them, and computes departure times on arrival, so a datagram costs no extra events.
 */
export interface LinkNode {
  /** Short kind name, e.g. `bernoulli-loss`; also seeds the node's random stream inside a link. */
  readonly kind: string;
  /** Per-node counters. */
  readonly counters: NodeCounters;
  /** True if the node draws randomness and so needs `bindRandom` (done by `Link`) or a random at construction. */
  readonly usesRandom: boolean;
  /** Gives the node its random stream, unless it already has one. */
  bindRandom(random: SeededRandom): void;
  /** Handles one packet: call `emit` zero or more times (never with an earlier `at`), or `drop`. */
  process(packet: SimPacket, emit: Emit, drop: Drop): void;
}

/** Shared bookkeeping for nodes: counters and the optional random stream. */
export abstract class BaseNode implements LinkNode {
  abstract readonly kind: string;
  readonly counters = new NodeCounters();
  readonly usesRandom: boolean = false;
  protected randomSource: SeededRandom | undefined;

  constructor(random?: SeededRandom) {
    this.randomSource = random;
  }

  bindRandom(random: SeededRandom): void {
    this.randomSource ??= random;
  }

  /** The node's random stream; throws if the node was never bound (a wiring bug, not bad input). */
  protected get random(): SeededRandom {
    const random = this.randomSource;
    if (!random) throw new Error(`${this.kind}: no random stream bound (put the node in a Link or pass one)`);
    return random;
  }

  abstract process(packet: SimPacket, emit: Emit, drop: Drop): void;

  /** Counts an arriving packet. */
  protected countIn(packet: SimPacket): void {
    this.counters.received++;
    this.counters.bytesIn += packet.bytes.length;
  }

  /** Counts and emits a packet. */
  protected pass(packet: SimPacket, emit: Emit): void {
    this.counters.delivered++;
    this.counters.bytesOut += packet.bytes.length;
    emit(packet);
  }

  /** Counts and reports a dropped packet. */
  protected reject(packet: SimPacket, cause: DropCause, drop: Drop): void {
    const dropped = this.counters.dropped;
    dropped[cause] = (dropped[cause] ?? 0) + 1;
    drop(packet, cause);
  }
}

/** Throws a RangeError unless `value` is a finite number in [min, max]. */
export function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
  }
}
