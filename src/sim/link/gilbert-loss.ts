import type { SeededRandom } from '../random.ts';
import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/** Parameters of the two-state Gilbert burst-loss model. */
export interface GilbertParams {
  /** Long-run fraction of datagrams lost, in [0, 1). */
  meanLoss: number;
  /** Mean number of consecutive datagrams lost in a burst, ≥ 1. */
  meanBurst: number;
}

/**
 * Gilbert-Elliott burst loss in its simple Gilbert form: a Markov chain stepped once per datagram, every
 * datagram lost in the Bad state and none in the Good state. Bad→Good has probability r = 1/meanBurst
 * (bursts are geometric with mean meanBurst); Good→Bad has p = r·meanLoss/(1 − meanLoss), so the stationary
 * loss p/(p + r) equals meanLoss. The initial state is drawn from the stationary distribution.
 */
export class GilbertLoss extends BaseNode {
  readonly kind = 'gilbert-loss';
  override readonly usesRandom = true;
  /** P(Good → Bad) per datagram. */
  readonly enterBadProbability: number;
  /** P(Bad → Good) per datagram. */
  readonly leaveBadProbability: number;
  private bad: boolean | undefined;

  constructor(
    readonly params: GilbertParams,
    random?: SeededRandom,
  ) {
    super(random);
    checkRange('meanLoss', params.meanLoss, 0, 1 - 1e-12);
    checkRange('meanBurst', params.meanBurst, 1, Number.MAX_VALUE);
    this.leaveBadProbability = 1 / params.meanBurst;
    this.enterBadProbability = (this.leaveBadProbability * params.meanLoss) / (1 - params.meanLoss);
    if (this.enterBadProbability > 1) {
      throw new RangeError(
        `meanLoss ${params.meanLoss} needs bursts of at least ${params.meanLoss / (1 - params.meanLoss)} datagrams, got meanBurst ${params.meanBurst}`,
      );
    }
  }

  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    const u = this.random.float();
    if (this.bad === undefined) this.bad = u < this.params.meanLoss;
    else this.bad = this.bad ? u >= this.leaveBadProbability : u < this.enterBadProbability;
    if (this.bad) this.reject(packet, 'loss', drop);
    else this.pass(packet, emit);
  }
}

/** Gilbert-Elliott burst loss with long-run loss `meanLoss` and mean burst length `meanBurst` datagrams. */
export function gilbertLoss(params: GilbertParams, random?: SeededRandom): GilbertLoss {
  return new GilbertLoss(params, random);
}
