import { BaseNode, type Drop, type Emit, type SimPacket } from './node.ts';

/**
 * A pass-through node that records how long each datagram has spent in the link so far (`at − sentAt`). Placed
 * right after a bottleneck that is the link's first node, it measures the bottleneck sojourn: queueing plus
 * serialisation. Keeps every sample (one number per datagram) for quantiles.
 */
export class SojournProbe extends BaseNode {
  readonly kind = 'sojourn-probe';
  /** Sojourn of every datagram that passed, in ms, in arrival order. */
  readonly sojournsMs: number[] = [];

  process(packet: SimPacket, emit: Emit, _drop: Drop): void {
    this.countIn(packet);
    this.sojournsMs.push(packet.at - packet.sentAt);
    this.pass(packet, emit);
  }
}

/** A probe recording each datagram's time in the link so far. */
export function sojournProbe(): SojournProbe {
  return new SojournProbe();
}
