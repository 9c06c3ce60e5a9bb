import type { SeededRandom } from '../random.ts';
import { BaseNode, type Drop, type Emit, type SimPacket } from './node.ts';

/** Ordering option of the random-delay nodes. */
export interface DelayOptions {
  /** True: a datagram never overtakes an earlier one (it waits for it, like a single queue). Default false. */
  fifo?: boolean;
}

/**
 * Base of the delay nodes: adds `sampleDelayMs()` to each packet's time. In FIFO mode a packet leaves no
 * earlier than the packet before it (KCP's simulator delivers its delay line head-first the same way).
 */
export abstract class DelayNode extends BaseNode {
  /** Whether packets keep their order through this node. */
  readonly fifo: boolean;
  private lastDepartureAt = Number.NEGATIVE_INFINITY;

  constructor(options: DelayOptions = {}, random?: SeededRandom) {
    super(random);
    this.fifo = options.fifo ?? false;
  }

  /** The delay of the next packet, in ms, ≥ 0. */
  protected abstract sampleDelayMs(): number;

  process(packet: SimPacket, emit: Emit, _drop: Drop): void {
    this.countIn(packet);
    let at = packet.at + this.sampleDelayMs();
    if (this.fifo) {
      if (at < this.lastDepartureAt) at = this.lastDepartureAt;
      this.lastDepartureAt = at;
    }
    packet.at = at;
    this.pass(packet, emit);
  }
}
