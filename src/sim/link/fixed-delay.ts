import { DelayNode } from './delay-node.ts';
import { checkRange } from './node.ts';

/** Adds the same one-way delay to every datagram (order is preserved by construction). */
export class FixedDelay extends DelayNode {
  readonly kind = 'fixed-delay';

  constructor(readonly delayMs: number) {
    super({ fifo: false });
    checkRange('delayMs', delayMs, 0, Number.MAX_VALUE);
  }

  protected sampleDelayMs(): number {
    return this.delayMs;
  }
}

/** A constant one-way delay of `ms` milliseconds. */
export function fixedDelay(ms: number): FixedDelay {
  return new FixedDelay(ms);
}
