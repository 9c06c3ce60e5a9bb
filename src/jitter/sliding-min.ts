/**
 * The minimum of values observed over a sliding window of time (a monotonic deque: amortised O(1) per sample).
 * The playout buffer feeds it each frame's transit (arrival − capture) to estimate the sender→receiver clock
 * offset (spec §12.2, R-PLAY-1): forgetting old samples is what tracks clock drift.
 */
export class SlidingMin {
  /** Sample times, oldest first, from `head` on; values strictly increase along with them. */
  private readonly times: number[] = [];
  private readonly values: number[] = [];
  private head = 0;

  /**
   * @param windowMs samples older than `nowMs − windowMs` are forgotten (the newest one never is)
   * @param maxSamples bound on the samples kept; past it the oldest is forgotten early
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxSamples: number,
  ) {}

  /** Adds a sample taken at `nowMs` (non-decreasing across calls) and returns the window's minimum. */
  add(nowMs: number, value: number): number {
    while (this.values.length > this.head && this.values[this.values.length - 1]! >= value) {
      this.values.pop();
      this.times.pop();
    }
    this.values.push(value);
    this.times.push(nowMs);
    const horizonMs = nowMs - this.windowMs;
    while (this.times[this.head]! < horizonMs || this.values.length - this.head > this.maxSamples)
      this.head++;
    if (this.head > 64 && this.head * 2 > this.values.length) {
      this.values.splice(0, this.head);
      this.times.splice(0, this.head);
      this.head = 0;
    }
    return this.values[this.head]!;
  }

  /** The current minimum, or undefined before the first sample. */
  get min(): number | undefined {
    return this.values.length > this.head ? this.values[this.head] : undefined;
  }

  /** Samples currently kept (for tests of the memory bound). */
  get size(): number {
    return this.values.length - this.head;
  }
}
