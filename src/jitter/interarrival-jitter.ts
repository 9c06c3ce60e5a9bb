/**
 * The cheap alternative to the delay histogram (spec §12.2, R-PLAY-11): RFC 3550 §6.4.1 interarrival jitter
 * `J += (|D| − J) / 16`, where D is the difference between consecutive transits, beside an average of the relative
 * delays with the same gain. For normally distributed delays J estimates 2σ/√π, so the q-quantile of the delay is
 * about `mean + z(q) · (√π / 2) · J`, z being the standard normal quantile.
 */
export class InterarrivalJitter {
  private jitter = 0;
  private meanDelayMs: number | undefined;
  private lastTransitMs: number | undefined;
  private readonly multiplier: number;

  /** @param quantile the fraction of arrivals the estimate should cover, in (0, 1) */
  constructor(quantile: number) {
    this.multiplier = (normalQuantile(quantile) * Math.sqrt(Math.PI)) / 2;
  }

  /** Records one arrival: its transit (arrival − capture) and its relative delay (transit − offset estimate). */
  add(transitMs: number, relativeDelayMs: number): void {
    if (this.lastTransitMs !== undefined) {
      this.jitter += (Math.abs(transitMs - this.lastTransitMs) - this.jitter) / 16; // RFC 3550 §6.4.1
    }
    this.lastTransitMs = transitMs;
    this.meanDelayMs =
      this.meanDelayMs === undefined
        ? relativeDelayMs
        : this.meanDelayMs + (relativeDelayMs - this.meanDelayMs) / 16;
  }

  /** The RFC 3550 interarrival jitter J (ms). */
  get jitterMs(): number {
    return this.jitter;
  }

  /** The estimated quantile of the relative delay, or undefined before the first arrival. */
  estimateMs(): number | undefined {
    return this.meanDelayMs === undefined ? undefined : this.meanDelayMs + this.multiplier * this.jitter;
  }
}

/**
 * The standard normal quantile z(p) (Abramowitz & Stegun 26.2.23: absolute error below 4.5·10⁻⁴), p in (0, 1).
 */
export function normalQuantile(p: number): number {
  const tail = p < 0.5 ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(tail));
  const z =
    t -
    (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t ** 3);
  return p < 0.5 ? -z : z;
}
