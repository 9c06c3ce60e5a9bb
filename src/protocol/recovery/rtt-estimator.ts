/**
 * Round-trip time estimation (spec §6.1, RFC 9002 §5): latest, smoothed, variance and minimum RTT.
 */
export class RttEstimator {
  /** Most recent sample (ms). */
  latestRttMs: number;
  /** Exponentially weighted moving average (ms); the initial RTT until the first sample. */
  smoothedRttMs: number;
  /** Mean deviation (ms). */
  rttVarMs: number;
  /** Minimum RTT seen over the connection (ms); Infinity until the first sample. */
  minRttMs = Number.POSITIVE_INFINITY;
  /** Whether at least one sample has been taken. */
  hasSample = false;

  /** @param initialRttMs the RTT assumed before any sample (RFC 9002 §6.2.2 uses 333 ms). */
  constructor(initialRttMs: number) {
    this.latestRttMs = initialRttMs;
    this.smoothedRttMs = initialRttMs;
    this.rttVarMs = initialRttMs / 2;
  }

  /**
   * Takes one sample (R-RTT-1). `ackDelayMs` is the peer's reported delay, already capped at its max ack delay;
   * it is subtracted only when that does not take the sample below the minimum RTT (R-RTT-2).
   */
  update(sampleMs: number, ackDelayMs: number): void {
    const latest = Math.max(sampleMs, 0);
    this.latestRttMs = latest;
    if (!this.hasSample) {
      this.hasSample = true;
      this.minRttMs = latest;
      this.smoothedRttMs = latest;
      this.rttVarMs = latest / 2;
      return;
    }
    if (latest < this.minRttMs) this.minRttMs = latest;
    const adjusted = latest >= this.minRttMs + ackDelayMs ? latest - ackDelayMs : latest;
    this.rttVarMs = 0.75 * this.rttVarMs + 0.25 * Math.abs(this.smoothedRttMs - adjusted);
    this.smoothedRttMs = 0.875 * this.smoothedRttMs + 0.125 * adjusted;
  }

  /** Probe timeout base without backoff (R-LOSS-5, RFC 9002 §6.2.1). */
  ptoMs(maxAckDelayMs: number, granularityMs: number): number {
    return this.smoothedRttMs + Math.max(4 * this.rttVarMs, granularityMs) + maxAckDelayMs;
  }
}
