/** A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. Time is an argument (sans-IO). */
export class TokenBucket {
  private tokens: number;
  private lastMs: number | undefined;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    if (this.lastMs !== undefined && nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.ratePerSecond) / 1000);
    }
    this.lastMs = this.lastMs === undefined ? nowMs : Math.max(this.lastMs, nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * One {@link TokenBucket} per source host (the address without its port), for handshakes that cost key
 * agreement (R-HS-8). At most `maxSources` buckets are kept; the oldest is forgotten first, so memory is bounded
 * whatever the number of sources.
 */
export class PerSourceLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxSources = 4096,
  ) {}

  /** Takes one token from the bucket of `address`'s host. */
  take(nowMs: number, address: string): boolean {
    const host = hostOf(address);
    let bucket = this.buckets.get(host);
    if (!bucket) {
      if (this.buckets.size >= this.maxSources) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      bucket = new TokenBucket(this.ratePerSecond, this.burst);
      this.buckets.set(host, bucket);
    }
    return bucket.take(nowMs);
  }
}

/** `host` of `host:port` or `[v6]:port`. */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}
