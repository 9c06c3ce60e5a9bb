import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/**
 * Caps how many datagrams can be inside the link at once, like KCP's simulator (`test.h`: a send is
 * refused when the delay line already holds `nmax` packets). Put it last: it sees each packet's delivery
 * time, and a packet counts as in flight from its send time until then. Drops are counted as `queue`.
 */
export class InFlightLimit extends BaseNode {
  readonly kind = 'in-flight-limit';
  /** Min-heap of the delivery times of the admitted packets still in flight. */
  private readonly heap: number[] = [];

  constructor(readonly maxPackets: number) {
    super();
    checkRange('maxPackets', maxPackets, 0, Number.MAX_SAFE_INTEGER);
  }

  /** Packets in flight at `nowMs` (send times must be non-decreasing across calls). */
  inFlight(nowMs: number): number {
    const heap = this.heap;
    while (heap.length > 0 && (heap[0] ?? 0) <= nowMs) this.popMin();
    return heap.length;
  }

  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    if (this.inFlight(packet.sentAt) >= this.maxPackets) {
      this.reject(packet, 'queue', drop);
      return;
    }
    this.pushTime(packet.at);
    this.pass(packet, emit);
  }

  private pushTime(at: number): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(at);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const up = heap[parent] ?? 0;
      if (up <= at) break;
      heap[i] = up;
      i = parent;
    }
    heap[i] = at;
  }

  private popMin(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    const n = heap.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (heap[right] ?? 0) < (heap[child] ?? 0)) child = right;
      const smallest = heap[child] ?? 0;
      if (last <= smallest) break;
      heap[i] = smallest;
      i = child;
    }
    heap[i] = last;
  }
}

/** Drops a datagram when `maxPackets` earlier ones are still in the link (KCP's delay-line cap). */
export function inFlightLimit(maxPackets: number): InFlightLimit {
  return new InFlightLimit(maxPackets);
}
