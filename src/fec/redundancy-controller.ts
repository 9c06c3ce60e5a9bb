import { type FecLossReport, fecLossReportScale, fecMaxBlockShards } from './fec-header.ts';

/**
 * Reliability class of the traffic a FEC layer protects (spec §11.6, R-FEC-9): sets the residual loss aimed for
 * and the overhead allowed. `bulk` sends no repair: retransmission is cheaper where a round trip costs little.
 */
export type FecClass = 'interactive' | 'media' | 'bulk';

/** Target and cap of one class. */
export interface FecClassPolicy {
  /** Probability a source packet is still missing after FEC that the parity count aims for. */
  targetResidualLoss: number;
  /** Most repair packets per source packet of a block (m ≤ ⌈ratio × k⌉); 0 turns repair off. */
  maxRepairRatio: number;
}

/** Defaults per class (spec §11.6). */
export const fecClassPolicies: Readonly<Record<FecClass, Readonly<FecClassPolicy>>> = {
  interactive: { targetResidualLoss: 0.01, maxRepairRatio: 3 },
  media: { targetResidualLoss: 0.005, maxRepairRatio: 1 },
  bulk: { targetResidualLoss: 1, maxRepairRatio: 0 },
};

/** Options of a {@link RedundancyController}. */
export interface RedundancyControllerOptions {
  /** Traffic class; default `interactive`. */
  fecClass?: FecClass;
  /** Overrides of the class policy. */
  policy?: Partial<FecClassPolicy>;
  /** Loss rate assumed before any feedback (R-LOSS-8 uses the same start). Default 0.1. */
  initialLossRate?: number;
  /** A peer report older than this is ignored in favour of local ACK feedback, ms. Default 5000. */
  reportTimeoutMs?: number;
}

/**
 * Chooses the number of repair packets per block (spec §11.6, R-FEC-9, R-FEC-10): the smallest m whose residual
 * loss — under a two-state (Gilbert) loss model with the estimated loss rate and mean burst length — is at most
 * the class target, capped at ⌈`maxRepairRatio` × k⌉. The estimate comes from the peer's loss reports carried in
 * its REPAIR packets (the raw loss of this path, seen before recovery) or, without recent reports, from ACK
 * feedback (lost / sent packets of the connection, which FEC recovery makes an underestimate).
 */
export class RedundancyController {
  readonly #policy: FecClassPolicy;
  readonly #reportTimeoutMs: number;
  #reportedLoss = 0;
  #reportedBurst = 1;
  #reportAtMs = Number.NEGATIVE_INFINITY;
  #localLoss: number;
  readonly #cache = new Map<string, number>();
  #cacheKey = '';

  /** Creates a controller for one direction of one connection. */
  constructor(options: RedundancyControllerOptions = {}) {
    this.#policy = { ...fecClassPolicies[options.fecClass ?? 'interactive'], ...options.policy };
    this.#reportTimeoutMs = options.reportTimeoutMs ?? 5000;
    this.#localLoss = clamp(options.initialLossRate ?? 0.3, 0, 0.9);
  }

  /** The peer's report of the loss it sees on this path (R-FEC-7). */
  onPeerReport(nowMs: number, report: FecLossReport): void {
    this.#reportedLoss = report.lossPermyriad / fecLossReportScale;
    this.#reportedBurst = report.meanBurstTenths / 10;
    this.#reportAtMs = nowMs;
  }

  /** ACK feedback since the last call: packets newly acknowledged or lost, and how many of them were lost. */
  onAckFeedback(packetsDecided: number, packetsLost: number): void {
    if (!(packetsDecided > 0)) return;
    const lost = clamp(packetsLost, 0, packetsDecided);
    // EWMA with weight 1/32 per packet (R-LOSS-8's weight), applied in one step for the batch.
    const keep = (31 / 32) ** packetsDecided;
    this.#localLoss = this.#localLoss * keep + (1 - keep) * (lost / packetsDecided);
  }

  /** The loss rate and mean burst length in use at `nowMs`. */
  estimate(nowMs: number): { lossRate: number; meanBurst: number } {
    if (nowMs - this.#reportAtMs <= this.#reportTimeoutMs) {
      return { lossRate: this.#reportedLoss, meanBurst: this.#reportedBurst };
    }
    return { lossRate: this.#localLoss, meanBurst: 1 };
  }

  /** The policy of the controller's own class (with the application's overrides). */
  get policy(): Readonly<FecClassPolicy> {
    return this.#policy;
  }

  /**
   * Repair packets for a block of `sourceCount` sources closing at `nowMs` (0 = none), under `policy` (default:
   * the controller's class; a per-channel class passes its own, R-FEC-12).
   */
  parityFor(nowMs: number, sourceCount: number, policy: Readonly<FecClassPolicy> = this.#policy): number {
    const { maxRepairRatio, targetResidualLoss } = policy;
    const k = Math.max(1, Math.floor(sourceCount));
    const maxM = Math.min(Math.ceil(maxRepairRatio * k), fecMaxBlockShards - k);
    if (maxM <= 0) return 0;
    const { lossRate, meanBurst } = this.estimate(nowMs);
    const p = clamp(lossRate, 0, 0.9);
    if (p <= 0) return 0;
    const b = Math.max(1, meanBurst);
    const key = `${Math.round(p * 1000)}:${Math.round(b * 10)}`;
    if (key !== this.#cacheKey) {
      this.#cache.clear();
      this.#cacheKey = key;
    }
    const cacheKey = `${k}:${targetResidualLoss}:${maxM}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) return cached;
    let m = 0;
    while (m < maxM && residualLoss(k, m, p, b) > targetResidualLoss) m++;
    this.#cache.set(cacheKey, m);
    return m;
  }

  /**
   * Shards of an extra-repair burst for a block that lost `lost` sources (R-FEC-14): the smallest n ≥ `lost`
   * whose chance of delivering fewer than `lost` of them is at most `targetFailure`, at most `maxShards`.
   */
  extraParityFor(nowMs: number, lost: number, targetFailure: number, maxShards: number): number {
    const need = Math.max(0, Math.floor(lost));
    if (need === 0) return 0;
    const { lossRate, meanBurst } = this.estimate(nowMs);
    const p = clamp(lossRate, 0, 0.9);
    const b = Math.max(1, meanBurst);
    let n = need;
    while (n < maxShards && burstFailure(n, need, p, b) > targetFailure) n++;
    return Math.min(n, maxShards);
  }
}

/**
 * Expected fraction of a block's k sources still missing after decoding k + m shards sent back to back over a
 * Gilbert channel with stationary loss `p` and mean burst `b` (b = 1 with any p: independent losses). A block of
 * L lost shards is decodable when L ≤ m; otherwise each source is lost with probability L / (k + m).
 */
export function residualLoss(k: number, m: number, p: number, b: number): number {
  const n = k + m;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lost = lostCountDistribution(n, p, b);
  let residual = 0;
  for (let l = m + 1; l <= n; l++) residual += lost[l]! * (l / n);
  return residual;
}

/**
 * Probability that fewer than `needed` of `n` shards sent back to back arrive over the Gilbert channel of
 * {@link residualLoss}: the chance an extra-repair burst of n shards fails a block short of `needed` (R-FEC-14).
 */
export function burstFailure(n: number, needed: number, p: number, b: number): number {
  if (needed <= 0) return 0;
  if (n < needed || p >= 1) return 1;
  if (p <= 0) return 0;
  const lost = lostCountDistribution(n, p, b);
  let failure = 0;
  for (let l = n - needed + 1; l <= n; l++) failure += lost[l]!;
  return failure;
}

/** Probability of each count 0..n of lost shards among n sent back to back (stationary loss p, mean burst b). */
function lostCountDistribution(n: number, p: number, b: number): Float64Array {
  // Two states: good (0) and bad (1, the shard is lost). r = P(bad → good), q = P(good → bad), π_bad = p.
  const r = b <= 1 ? 1 - p : Math.min(1, 1 / b);
  const q = Math.min(1, (p * r) / (1 - p));
  // dist[s][l]: probability of being in state s after the shards so far with l of them lost.
  let good = new Float64Array(n + 1);
  let bad = new Float64Array(n + 1);
  good[0] = 1 - p;
  bad[1] = p;
  for (let i = 1; i < n; i++) {
    const nextGood = new Float64Array(n + 1);
    const nextBad = new Float64Array(n + 1);
    for (let l = 0; l <= i; l++) {
      const g = good[l]!;
      const d = bad[l]!;
      if (g === 0 && d === 0) continue;
      nextGood[l] = nextGood[l]! + g * (1 - q) + d * r;
      nextBad[l + 1] = nextBad[l + 1]! + g * q + d * (1 - r);
    }
    good = nextGood;
    bad = nextBad;
  }
  const lost = new Float64Array(n + 1);
  for (let l = 0; l <= n; l++) lost[l] = good[l]! + bad[l]!;
  return lost;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, Number.isFinite(value) ? value : low));
}
