/**
 * A histogram of delays with exponential forgetting, queried for a quantile (spec §12.2, R-PLAY-2; the
 * relative-delay histogram of WebRTC's NetEQ). Each sample weighs `1 / forgetFactor` times the one before,
 * which is the same as multiplying every older weight by `forgetFactor` but costs O(1); the weights are
 * renormalised before they overflow. A Fenwick tree over the buckets gives the quantile in O(log buckets).
 */
export class DelayHistogram {
  /** Fenwick tree (1-based) of bucket weights; bucket i holds delays in [i·bucketMs, (i+1)·bucketMs). */
  private readonly tree: Float64Array;
  private readonly buckets: number;
  /** Weight of the next sample. */
  private weight = 1;
  private total = 0;

  /**
   * @param bucketMs bucket width
   * @param rangeMs delays at or above `rangeMs` share the last bucket
   * @param forgetFactor weight an old sample keeps per new sample, in (0, 1)
   */
  constructor(
    private readonly bucketMs: number,
    rangeMs: number,
    private readonly forgetFactor: number,
  ) {
    this.buckets = Math.ceil(rangeMs / bucketMs) + 1;
    this.tree = new Float64Array(this.buckets + 1);
  }

  /** Records one delay (negative counts as 0, beyond the range as the last bucket; NaN is ignored). */
  add(delayMs: number): void {
    if (Number.isNaN(delayMs)) return;
    const bucket = Math.min(this.buckets - 1, Math.max(0, Math.floor(delayMs / this.bucketMs)));
    for (let i = bucket + 1; i <= this.buckets; i += i & -i) this.tree[i]! += this.weight;
    this.total += this.weight;
    this.weight /= this.forgetFactor;
    if (this.weight > 1e200) this.rescale(1 / this.weight);
  }

  /**
   * The smallest bucket upper edge below which at least `q` of the (weighted) samples lie, or undefined when
   * empty. A delay in the last bucket reports that bucket's upper edge.
   */
  quantile(q: number): number | undefined {
    if (this.total <= 0) return undefined;
    const wanted = q * this.total;
    // Fenwick descent: the largest prefix whose weight is still below `wanted`.
    let position = 0;
    let below = 0;
    for (let step = 1 << Math.floor(Math.log2(this.buckets)); step > 0; step >>= 1) {
      const next = position + step;
      if (next <= this.buckets && below + this.tree[next]! < wanted) {
        position = next;
        below += this.tree[next]!;
      }
    }
    // `position` buckets lie wholly below the quantile; it falls in bucket `position` (0-based).
    return (Math.min(position, this.buckets - 1) + 1) * this.bucketMs;
  }

  /** Sum of the current (forgotten) weights in units of the newest sample's weight: ≈ 1 / (1 − forgetFactor) when full. */
  get effectiveSamples(): number {
    return this.total / (this.weight * this.forgetFactor);
  }

  private rescale(factor: number): void {
    for (let i = 1; i <= this.buckets; i++) this.tree[i]! *= factor;
    this.total *= factor;
    this.weight *= factor;
  }
}
