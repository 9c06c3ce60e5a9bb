import type { SeededRandom } from '../random.ts';
import { DelayNode, type DelayOptions } from './delay-node.ts';
import { checkRange } from './node.ts';

/** Delay drawn uniformly from [minMs, maxMs) per datagram. */
export class UniformDelay extends DelayNode {
  readonly kind = 'uniform-delay';
  override readonly usesRandom = true;
  private readonly spanMs: number;

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
    options: DelayOptions = {},
    random?: SeededRandom,
  ) {
    super(options, random);
    checkRange('minMs', minMs, 0, Number.MAX_VALUE);
    checkRange('maxMs', maxMs, minMs, Number.MAX_VALUE);
    this.spanMs = maxMs - minMs;
  }

  protected sampleDelayMs(): number {
    return this.minMs + this.spanMs * this.random.float();
  }
}

/** A one-way delay uniform in [minMs, maxMs); `fifo: true` forbids overtaking (default: reordering allowed). */
export function uniformDelay(
  minMs: number,
  maxMs: number,
  options: DelayOptions = {},
  random?: SeededRandom,
): UniformDelay {
  return new UniformDelay(minMs, maxMs, options, random);
}
