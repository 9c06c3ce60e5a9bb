/**
 * The target delay's asymmetric smoothing (spec §12.2, R-PLAY-3): a higher measured quantile is adopted at
 * once, a lower one is approached exponentially with time constant `decreaseTimeConstantMs`. Rising fast
 * keeps frames on time when jitter grows; falling slowly keeps playout times in capture order (each frame's
 * slot moves earlier by less than the time between frames) and does not chase one quiet second.
 */
export class TargetDelay {
  private valueMs: number;
  private lastUpdateMs: number | undefined;

  /**
   * @param initialMs the target before the first measurement
   * @param decreaseTimeConstantMs the time constant of a decrease
   */
  constructor(
    initialMs: number,
    private readonly decreaseTimeConstantMs: number,
  ) {
    this.valueMs = initialMs;
  }

  /** Moves the target towards `measuredMs` as of `nowMs` (non-decreasing) and returns it. */
  update(nowMs: number, measuredMs: number): number {
    const elapsedMs = this.lastUpdateMs === undefined ? 0 : nowMs - this.lastUpdateMs;
    this.lastUpdateMs = nowMs;
    if (measuredMs >= this.valueMs) {
      this.valueMs = measuredMs;
    } else {
      const keep = Math.exp(-elapsedMs / this.decreaseTimeConstantMs);
      this.valueMs = measuredMs + (this.valueMs - measuredMs) * keep;
    }
    return this.valueMs;
  }

  /** The current (unclamped) target. */
  get ms(): number {
    return this.valueMs;
  }
}
