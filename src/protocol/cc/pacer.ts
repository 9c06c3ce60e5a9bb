/**
 * Pacing hook (spec §9.5, R-CC-3): a leaky bucket that spreads packets at the controller's rate, allowing a small
 * burst. The connection asks `delayMs` before each packet and calls `onSend` after it.
 */
export class Pacer {
  private tokensBytes: number;
  private lastRefillMs = Number.NEGATIVE_INFINITY;

  /** @param burstBytes how many bytes may leave back to back (e.g. 10 full datagrams). */
  constructor(private readonly burstBytes: number) {
    this.tokensBytes = burstBytes;
  }

  private refill(nowMs: number, rateBytesPerSec: number): void {
    if (nowMs > this.lastRefillMs) {
      const elapsed = Number.isFinite(this.lastRefillMs)
        ? nowMs - this.lastRefillMs
        : Number.POSITIVE_INFINITY;
      this.tokensBytes = Math.min(this.burstBytes, this.tokensBytes + (elapsed * rateBytesPerSec) / 1000);
      this.lastRefillMs = nowMs;
    }
  }

  /** Time (ms) when a packet of `sizeBytes` may leave; `nowMs` if it may leave now. No rate: always now. */
  nextSendTimeMs(nowMs: number, sizeBytes: number, rateBytesPerSec: number | undefined): number {
    if (rateBytesPerSec === undefined || !(rateBytesPerSec > 0)) return nowMs;
    this.refill(nowMs, rateBytesPerSec);
    if (this.tokensBytes >= sizeBytes) return nowMs;
    return nowMs + ((sizeBytes - this.tokensBytes) * 1000) / rateBytesPerSec;
  }

  /** Spends the tokens of a packet that was sent. */
  onSend(nowMs: number, sizeBytes: number, rateBytesPerSec: number | undefined): void {
    if (rateBytesPerSec === undefined || !(rateBytesPerSec > 0)) return;
    this.refill(nowMs, rateBytesPerSec);
    // The debt is capped at one burst: packets that leave regardless of the pacer (probes, copies) or a rate
    // that just fell must not hold paced data back for longer than one burst takes at the rate (R-CC-3).
    this.tokensBytes = Math.max(this.tokensBytes - sizeBytes, -this.burstBytes);
  }
}
