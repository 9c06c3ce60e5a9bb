import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/** Parameters of a bottleneck. */
export interface RateLimitParams {
  /** Serialisation rate, bits per second (UDP payload bits). */
  rateBps: number;
  /** Drop-tail queue capacity in bytes, counting the datagram being serialised. */
  queueBytes: number;
}

/**
 * A bottleneck with a drop-tail byte queue, computed on arrival: the link is busy until `busyUntil`, so the
 * backlog a packet finds is (busyUntil − at) × rate. A packet is dropped if backlog + its size would exceed
 * `queueBytes`; otherwise it leaves when its last bit is serialised. Hence no queued byte count ever exceeds
 * `queueBytes` and a packet's sojourn never exceeds queueBytes·8/rateBps s. Packets must reach this node in
 * time order (put it before any reordering node); an early straggler sees a larger backlog, never a smaller.
 */
export class RateLimit extends BaseNode {
  readonly kind = 'rate-limit';
  private readonly bytesPerMs: number;
  private busyUntil = Number.NEGATIVE_INFINITY;
  /** Largest backlog (bytes, including the arriving packet) ever admitted. */
  maxBacklogBytes = 0;

  constructor(readonly params: RateLimitParams) {
    super();
    checkRange('rateBps', params.rateBps, Number.MIN_VALUE, Number.MAX_VALUE);
    checkRange('queueBytes', params.queueBytes, 0, Number.MAX_VALUE);
    this.bytesPerMs = params.rateBps / 8000;
  }

  /** Bytes not yet serialised at time `atMs`. */
  backlogBytes(atMs: number): number {
    return this.busyUntil > atMs ? (this.busyUntil - atMs) * this.bytesPerMs : 0;
  }

  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    const size = packet.bytes.length;
    const backlog = this.backlogBytes(packet.at) + size;
    if (backlog > this.params.queueBytes) {
      this.reject(packet, 'queue', drop);
      return;
    }
    if (backlog > this.maxBacklogBytes) this.maxBacklogBytes = backlog;
    const start = Math.max(this.busyUntil, packet.at);
    this.busyUntil = start + size / this.bytesPerMs;
    packet.at = this.busyUntil;
    this.pass(packet, emit);
  }
}

/** A `rateBps` bottleneck with a drop-tail queue of `queueBytes`. */
export function rateLimit(params: RateLimitParams): RateLimit {
  return new RateLimit(params);
}
