import type { SeededRandom } from '../random.ts';
import { DelayNode, type DelayOptions } from './delay-node.ts';
import { checkRange } from './node.ts';

/**
 * Delay drawn from a normal distribution N(meanMs, stdevMs²), truncated at 0 (a negative draw becomes 0 ms,
 * so with stdevMs comparable to meanMs the realised mean is slightly above meanMs).
 */
export class NormalJitter extends DelayNode {
  readonly kind = 'normal-jitter';
  override readonly usesRandom = true;

  constructor(
    readonly meanMs: number,
    readonly stdevMs: number,
    options: DelayOptions = {},
    random?: SeededRandom,
  ) {
    super(options, random);
    checkRange('meanMs', meanMs, 0, Number.MAX_VALUE);
    checkRange('stdevMs', stdevMs, 0, Number.MAX_VALUE);
  }

  protected sampleDelayMs(): number {
    const delayMs = this.random.normal(this.meanMs, this.stdevMs);
    return Math.max(delayMs, 0);
  }
}

/** A normally distributed one-way delay; `fifo: true` forbids overtaking (default: reordering allowed). */
export function normalJitter(
  meanMs: number,
  stdevMs: number,
  options: DelayOptions = {},
  random?: SeededRandom,
): NormalJitter {
  return new NormalJitter(meanMs, stdevMs, options, random);
}
