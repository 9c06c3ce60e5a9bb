import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/**
 * A bottleneck like `RateLimit` (drop-tail byte queue, departure computed on arrival) whose rate can change
 * mid-run: `setRateBps(now, rate)` re-times the bytes still queued at `now` at the new rate. For adaptation
 * tests (a bottleneck halving and doubling); schedule the change from a simulation hook.
 */
export class AdjustableRateLimit extends BaseNode {
  readonly kind = 'adjustable-rate-limit';
  private bytesPerMs: number;
  private busyUntil = Number.NEGATIVE_INFINITY;

  constructor(
    rateBps: number,
    /** Drop-tail queue capacity in bytes, counting the datagram being serialised. */
    readonly queueBytes: number,
  ) {
    super();
    checkRange('rateBps', rateBps, Number.MIN_VALUE, Number.MAX_VALUE);
    checkRange('queueBytes', queueBytes, 0, Number.MAX_VALUE);
    this.bytesPerMs = rateBps / 8000;
  }

  /** Current rate, bits per second. */
  get rateBps(): number {
    return this.bytesPerMs * 8000;
  }

  /** Bytes not yet serialised at time `atMs`. */
  backlogBytes(atMs: number): number {
    return this.busyUntil > atMs ? (this.busyUntil - atMs) * this.bytesPerMs : 0;
  }

  /** Changes the rate from `nowMs` on; bytes already queued drain at the new rate. */
  setRateBps(nowMs: number, rateBps: number): void {
    checkRange('rateBps', rateBps, Number.MIN_VALUE, Number.MAX_VALUE);
    const backlog = this.backlogBytes(nowMs);
    this.bytesPerMs = rateBps / 8000;
    if (backlog > 0) this.busyUntil = nowMs + backlog / this.bytesPerMs;
  }

  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    const size = packet.bytes.length;
    if (this.backlogBytes(packet.at) + size > this.queueBytes) {
      this.reject(packet, 'queue', drop);
      return;
    }
    this.busyUntil = Math.max(this.busyUntil, packet.at) + size / this.bytesPerMs;
    packet.at = this.busyUntil;
    this.pass(packet, emit);
  }
}

/**
 * A one-way delay that can change mid-run (`setDelayMs`), as when a route changes. Packets already inside keep
 * their delay; after a decrease, later packets may overtake earlier ones, as on a real route change.
 */
export class AdjustableDelay extends BaseNode {
  readonly kind = 'adjustable-delay';

  constructor(
    /** Current one-way delay (ms). */
    public delayMs: number,
  ) {
    super();
    checkRange('delayMs', delayMs, 0, Number.MAX_VALUE);
  }

  /** Changes the delay of every packet entering from now on. */
  setDelayMs(delayMs: number): void {
    checkRange('delayMs', delayMs, 0, Number.MAX_VALUE);
    this.delayMs = delayMs;
  }

  process(packet: SimPacket, emit: Emit, _drop: Drop): void {
    this.countIn(packet);
    packet.at += this.delayMs;
    this.pass(packet, emit);
  }
}
