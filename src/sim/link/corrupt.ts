import type { SeededRandom } from '../random.ts';
import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/**
 * With probability `p`, replaces the datagram by a copy with k distinct bits flipped, k uniform in
 * [1, maxBitFlips] (capped by the datagram's bit count). Empty datagrams pass unchanged.
 */
export class Corrupt extends BaseNode {
  readonly kind = 'corrupt';
  override readonly usesRandom = true;
  /** Datagrams that were altered. */
  corrupted = 0;

  constructor(
    readonly probability: number,
    readonly maxBitFlips = 1,
    random?: SeededRandom,
  ) {
    super(random);
    checkRange('probability', probability, 0, 1);
    checkRange('maxBitFlips', maxBitFlips, 1, Number.MAX_SAFE_INTEGER);
  }

  process(packet: SimPacket, emit: Emit, _drop: Drop): void {
    this.countIn(packet);
    const bitCount = packet.bytes.length * 8;
    if (bitCount > 0 && this.random.float() < this.probability) {
      const bytes = packet.bytes.slice();
      const flips = this.random.int(1, Math.min(this.maxBitFlips, bitCount));
      const flipped = new Set<number>();
      while (flipped.size < flips) {
        const bit = this.random.int(0, bitCount - 1);
        if (flipped.has(bit)) continue;
        flipped.add(bit);
        bytes[bit >>> 3] = (bytes[bit >>> 3] ?? 0) ^ (1 << (bit & 7));
      }
      packet.bytes = bytes;
      this.corrupted++;
    }
    this.pass(packet, emit);
  }
}

/** Corrupts each datagram with probability `p` by flipping 1..maxBitFlips bits of a copy. */
export function corrupt(p: number, maxBitFlips = 1, random?: SeededRandom): Corrupt {
  return new Corrupt(p, maxBitFlips, random);
}
