import type { SeededRandom } from '../random.ts';
import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/** Drops each datagram independently with probability `lossProbability`. */
export class BernoulliLoss extends BaseNode {
  readonly kind = 'bernoulli-loss';
  override readonly usesRandom = true;

  constructor(
    readonly lossProbability: number,
    random?: SeededRandom,
  ) {
    super(random);
    checkRange('lossProbability', lossProbability, 0, 1);
  }

  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    if (this.random.float() < this.lossProbability) this.reject(packet, 'loss', drop);
    else this.pass(packet, emit);
  }
}

/** Independent (Bernoulli) loss with probability `p` in [0, 1]. */
export function bernoulliLoss(p: number, random?: SeededRandom): BernoulliLoss {
  return new BernoulliLoss(p, random);
}
