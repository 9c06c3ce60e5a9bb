import type { SeededRandom } from '../random.ts';
import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/** With probability `p`, emits a second copy of the datagram (its own byte buffer) right after the original. */
export class Duplicate extends BaseNode {
  readonly kind = 'duplicate';
  override readonly usesRandom = true;

  constructor(
    readonly probability: number,
    random?: SeededRandom,
  ) {
    super(random);
    checkRange('probability', probability, 0, 1);
  }

  process(packet: SimPacket, emit: Emit, _drop: Drop): void {
    this.countIn(packet);
    const twice = this.random.float() < this.probability;
    // Copy the bytes: a receiver may decrypt in place, which must not touch the twin.
    const twin = twice ? { bytes: packet.bytes.slice(), sentAt: packet.sentAt, at: packet.at } : undefined;
    this.pass(packet, emit);
    if (twin) this.pass(twin, emit);
  }
}

/** Duplicates each datagram with probability `p`. */
export function duplicate(p: number, random?: SeededRandom): Duplicate {
  return new Duplicate(p, random);
}
