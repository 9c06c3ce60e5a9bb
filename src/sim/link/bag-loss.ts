import type { SeededRandom } from '../random.ts';
import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

const bagSize = 100;

/**
 * KCP's test loss model (`test.h`, class `Random(100)`): each datagram draws, without replacement, a ticket
 * from a bag holding 0..99, refilled when empty; tickets below L mean "drop". So every aligned run of 100
 * consecutive datagrams loses exactly L, at uniformly chosen positions.
 */
export class BagLoss extends BaseNode {
  readonly kind = 'bag-loss';
  override readonly usesRandom = true;
  private readonly tickets = new Uint8Array(bagSize);
  private remaining = 0;

  constructor(
    readonly lossPerHundred: number,
    random?: SeededRandom,
  ) {
    super(random);
    checkRange('lossPerHundred', lossPerHundred, 0, bagSize);
    if (!Number.isInteger(lossPerHundred))
      throw new RangeError(`lossPerHundred must be an integer, got ${lossPerHundred}`);
  }

  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    if (this.remaining === 0) {
      for (let i = 0; i < bagSize; i++) this.tickets[i] = i;
      this.remaining = bagSize;
    }
    const i = this.random.int(0, this.remaining - 1);
    const ticket = this.tickets[i] ?? 0;
    this.remaining--;
    this.tickets[i] = this.tickets[this.remaining] ?? 0;
    if (ticket < this.lossPerHundred) this.reject(packet, 'loss', drop);
    else this.pass(packet, emit);
  }
}

/** KCP's bag loss: exactly `lossPerHundred` (an integer 0–100) of every 100 datagrams dropped. */
export function bagLoss(lossPerHundred: number, random?: SeededRandom): BagLoss {
  return new BagLoss(lossPerHundred, random);
}
