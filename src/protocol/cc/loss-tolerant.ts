import type { RateSample } from '../recovery/delivery-rate.ts';
import type { CcPacket, CcRtt, CongestionController } from './congestion-controller.ts';
import { WindowedMax } from './windowed-max.ts';

/** Options of {@link LossTolerant}. */
export interface LossTolerantOptions {
  /** Largest datagram the connection sends (bytes). */
  maxDatagramBytes: number;
}

/** Startup gain: doubles the delivery rate each round trip (BBR's 2/ln 2 overshoots a one-BDP buffer). */
const startupGain = 2.885;
/** Window = this × the cruising rate × min RTT, plus a few packets for ACK aggregation. */
const cwndGain = 2;
/**
 * Shortest RTT the window is sized for (ms), RFC 9002's timer granularity: below it the RTT is host scheduling
 * (ACKs come once per event-loop turn), and a window of a 0.1 ms loopback BDP (≈ 11 packets) starves the sender
 * between turns (issue 7). Paths of 1 ms and more are unaffected.
 */
const minWindowRttMs = 1;
/** RTT samples in a row above the queueing threshold that end STARTUP (R-CC-5). */
const startupQueuedSamples = 8;
/** A round with fewer RTT samples than this is sparse: all of them may be delayed ACKs (R-CC-5). */
const minQueueSamples = 4;
/** ACK delay a sparse round's samples may carry (ms): Ferry's default maxAckDelayMs (R-ACK-2). */
const sparseRoundAckDelayMs = 20;
/** RTT samples whose minimum gives the current queueing delay (R-CC-7). */
const recentSamples = 8;
/** Cruise starts at this share of the bandwidth estimate, a max filter that noisy samples bias upwards. */
const cruiseEntryGain = 0.9;
/** An application-limited sender in cruise is paced at least at this gain × bw (STARTUP's), so its bursts are
 * not held back by a rate it never uses (R-CC-7). */
const appLimitedPacingGain = 2.885;
/** Bandwidth filter length in round trips. */
const bandwidthWindowRounds = 10;
/** Weight of one round in the background-loss estimate (STARTUP learns faster: its samples depend on it). */
const backgroundLossWeight = 1 / 8;
const startupBackgroundLossWeight = 1 / 2;
/** Cap of the background loss the estimate may assume. */
const maxBackgroundLoss = 0.5;
/** Rate multiplier applied when a round shows congestion (queueing together with excess loss), R-CC-6. */
const congestionBackoff = 0.85;
/** Bytes of its own each flow aims to keep in the bottleneck queue, in datagrams (R-CC-7). */
const queueTargetDatagrams = 8;
/** Share of the queue error corrected per round (R-CC-7); below 1/4 the loop settles without oscillating. */
const queueGain = 0.15;
/** Share of the queue's growth over the last round taken back per round (R-CC-7), damping the loop. */
const queueTrendGain = 0.5;
/** Cruising-rate growth per round while the path shows no queue (R-CC-7). */
const freeGrowth = 1.125;
/** Cap of that growth per round, in multiples of α (R-CC-7). */
const freeGrowthMaxTargets = 4;
/** Rounds in a row whose smallest RTT is far above the minimum before the minimum is re-learnt (R-CC-8). */
const pathChangeRounds = 3;

/**
 * Ferry's loss-tolerant, model-based congestion controller (spec §9.3, R-CC-5..8). It estimates the bottleneck
 * bandwidth from delivery-rate samples and the minimum RTT, as BBR does, and paces at a cruising rate. Random
 * loss is not read as congestion: samples are scaled by the path's background loss rate, learnt only in rounds
 * without a queue, so a 30% lossy path keeps ≈ (1 − loss) of its capacity. In cruise the rate is steered to keep
 * a few datagrams of its own in the bottleneck queue (as TCP Vegas): flows sharing a queue see the same queueing
 * delay, so they converge to equal rates, and the standing queue stays a few packets per flow (no bufferbloat).
 * Loss counts as congestion only with a queue and a loss rate above background; a large queue halves the rate;
 * a lasting jump of the RTT is taken for a path change and the min RTT re-learnt.
 */
export class LossTolerant implements CongestionController {
  readonly name = 'loss-tolerant';
  /** Current phase. */
  mode: 'startup' | 'drain' | 'cruise' = 'startup';
  /** Background (non-congestive) loss rate estimate. */
  backgroundLoss = 0;
  /** Cruising pacing rate (bytes/s), 0 before cruise. */
  cruiseRateBytesPerSec = 0;
  /** The model's minimum RTT (ms): the smallest sample, re-measured periodically and after a path change (R-CC-8). */
  minRttMs = Number.POSITIVE_INFINITY;
  private readonly maxDatagramBytes: number;
  private readonly initialWindowBytes: number;
  private readonly minWindowBytes: number;
  private readonly bandwidth = new WindowedMax(bandwidthWindowRounds);
  private round = 0;
  private nextRoundDeliveredBytes = 0;
  private roundAckedBytes = 0;
  private roundLostBytes = 0;
  private roundAppLimited = true;
  private roundMinRttMs = Number.POSITIVE_INFINITY;
  private roundRateSum = 0;
  private roundRateCount = 0;
  private roundSampleCount = 0;
  /** Whether the last cruise round was mostly not application-limited (R-CC-7). */
  private lastRoundBusy = true;
  private elevatedRounds = 0;
  private freeRounds = 0;
  private queuedSamples = 0;
  private lastOwnQueueBytes = Number.POSITIVE_INFINITY;
  private fullBandwidth = 0;
  private fullBandwidthRounds = 0;
  /** The last few RTT samples (ring), whose minimum is the fresh view of the queue (R-CC-7). */
  private readonly recentRttsMs = new Array<number>(recentSamples).fill(Number.POSITIVE_INFINITY);
  private recentIndex = 0;
  private lastSampleMs = 0;
  private roundSamples = 0;
  private smoothedRttMs = 0;
  private bytesInFlight = 0;

  constructor(options: LossTolerantOptions) {
    this.maxDatagramBytes = options.maxDatagramBytes;
    this.initialWindowBytes = Math.min(
      10 * this.maxDatagramBytes,
      Math.max(14_720, 2 * this.maxDatagramBytes),
    );
    this.minWindowBytes = 4 * this.maxDatagramBytes;
  }

  /** α of R-CC-7: bytes of its own the flow keeps in the bottleneck queue. */
  private queueTargetBytes(): number {
    return queueTargetDatagrams * this.maxDatagramBytes;
  }

  /** Estimated bottleneck bandwidth (bytes/s), 0 before the first sample. */
  get bottleneckBandwidthBytesPerSec(): number {
    return this.bandwidth.best(this.round);
  }

  /** The rate the model works with: the cruising rate in cruise, the bandwidth estimate before. */
  private modelRate(): number {
    return this.mode === 'cruise' ? this.cruiseRateBytesPerSec : this.bottleneckBandwidthBytesPerSec;
  }

  private bdpBytes(rate: number, rttMs = this.minRttMs): number {
    if (rate === 0 || !Number.isFinite(this.minRttMs)) return 0;
    return (rate * rttMs) / 1000;
  }

  get congestionWindowBytes(): number {
    const bdp = this.bdpBytes(this.modelRate(), Math.max(this.minRttMs, minWindowRttMs));
    if (bdp === 0) return this.initialWindowBytes;
    const gain = this.mode === 'startup' ? startupGain : cwndGain;
    const window = gain * bdp + 3 * this.maxDatagramBytes;
    // Startup never shrinks below the initial window, so the first round trips are not starved.
    const floor = this.mode === 'startup' ? this.initialWindowBytes : this.minWindowBytes;
    return Math.max(window, floor);
  }

  pacingRateBytesPerSec(rtt: CcRtt): number | undefined {
    const bw = this.bottleneckBandwidthBytesPerSec;
    const rate =
      this.mode === 'startup'
        ? startupGain * bw
        : this.mode === 'drain'
          ? bw / startupGain
          : this.lastRoundBusy
            ? this.cruiseRateBytesPerSec
            : Math.max(this.cruiseRateBytesPerSec, appLimitedPacingGain * bw); // bursts of a sparse sender
    // Floor: the initial window per RTT, so application-limited (thin) traffic is never paced below its bursts.
    const floor = (this.initialWindowBytes * 1000) / Math.max(rtt.smoothedRttMs, 1);
    return Math.max(rate, floor);
  }

  onPacketSent(_nowMs: number, _packet: CcPacket, bytesInFlight: number): void {
    this.bytesInFlight = bytesInFlight;
  }

  onPacketsAcked(
    _nowMs: number,
    packets: readonly CcPacket[],
    rtt: CcRtt,
    bytesInFlight: number,
    sample: RateSample | undefined,
  ): void {
    this.bytesInFlight = bytesInFlight;
    this.smoothedRttMs = rtt.smoothedRttMs;
    this.onRttSample(rtt.latestRttMs);
    for (const p of packets) this.roundAckedBytes += p.sizeBytes;
    if (!sample) return;
    // R-CC-5: scale by the background loss so random loss does not shrink the estimate.
    const bw = sample.deliveryRateBytesPerSec / (1 - this.backgroundLoss);
    this.roundSampleCount++;
    if (!sample.appLimited) {
      this.roundAppLimited = false;
      this.roundRateSum += bw;
      this.roundRateCount++;
    }
    if (sample.priorDeliveredBytes >= this.nextRoundDeliveredBytes) {
      this.nextRoundDeliveredBytes = sample.priorDeliveredBytes + sample.deliveredBytes;
      this.onRoundEnd();
    }
    if (!sample.appLimited || bw >= this.bottleneckBandwidthBytesPerSec)
      this.bandwidth.update(bw, this.round);
    if (this.mode === 'drain' && this.bytesInFlight <= this.bdpBytes(this.bottleneckBandwidthBytesPerSec)) {
      this.mode = 'cruise';
      this.cruiseRateBytesPerSec = cruiseEntryGain * this.bottleneckBandwidthBytesPerSec;
    }
  }

  /** R-CC-8: the min RTT is the smallest sample (lowered at once; raised only by a path change). */
  private onRttSample(sampleMs: number): void {
    if (!(sampleMs > 0)) return;
    if (sampleMs < this.minRttMs) this.minRttMs = sampleMs;
    if (sampleMs < this.roundMinRttMs) this.roundMinRttMs = sampleMs;
    // The connection reports the latest RTT with every ACK, also when the ACK brought no new sample: count each
    // value once, so one late ACK repeated does not look like a lasting queue.
    if (sampleMs === this.lastSampleMs) return;
    this.lastSampleMs = sampleMs;
    this.roundSamples++;
    this.recentRttsMs[this.recentIndex] = sampleMs;
    this.recentIndex = (this.recentIndex + 1) % recentSamples;
    // STARTUP leaves as soon as 8 samples in a row show a queue (one delayed ACK cannot), before it fills it.
    this.queuedSamples = sampleMs > this.minRttMs + this.queueThresholdMs() ? this.queuedSamples + 1 : 0;
    if (this.mode === 'startup' && this.queuedSamples >= startupQueuedSamples) this.mode = 'drain';
  }

  /**
   * Queueing delay that counts as a queue (R-CC-6): a quarter of the min RTT, at most 20 ms, plus 2 ms. The cap
   * keeps a long path's buffer visible: 25% of a 500 ms RTT is more than most bottleneck queues can hold.
   */
  private queueThresholdMs(): number {
    return 2 + Math.min(0.25 * this.minRttMs, 20);
  }

  /** After a path change (R-CC-8): cruise at the bandwidth the model knows, or start over without one. */
  private restartOnNewPath(): void {
    this.queuedSamples = 0;
    this.freeRounds = 0;
    this.lastOwnQueueBytes = Number.POSITIVE_INFINITY;
    const bw = this.bottleneckBandwidthBytesPerSec;
    if (bw > 0) {
      this.mode = 'cruise';
      this.cruiseRateBytesPerSec = bw;
      return;
    }
    this.mode = 'startup';
    this.fullBandwidth = 0;
    this.fullBandwidthRounds = 0;
  }

  onPacketsLost(_nowMs: number, packets: readonly CcPacket[]): void {
    for (const p of packets) this.roundLostBytes += p.sizeBytes;
  }

  onSpuriousLoss(_nowMs: number, packet: CcPacket): void {
    this.roundLostBytes = Math.max(0, this.roundLostBytes - packet.sizeBytes);
  }

  /** Once per round trip: learn the background loss, detect congestion and path changes, steer the rate. */
  private onRoundEnd(): void {
    this.round++;
    const resolved = this.roundAckedBytes + this.roundLostBytes;
    const lossRate = resolved > 0 ? this.roundLostBytes / resolved : 0;
    // A queue that lasted the whole round: even its smallest RTT sample was well above the minimum. A sparse
    // round (under 4 samples) may have only delayed ACKs, so its threshold allows a maximum ACK delay more.
    const sparse = this.roundSamples < minQueueSamples ? sparseRoundAckDelayMs : 0;
    const queueing =
      Number.isFinite(this.roundMinRttMs) &&
      this.roundMinRttMs > this.minRttMs + this.queueThresholdMs() + sparse;
    let congested = false;
    if (resolved > 0) {
      if (!queueing) {
        const weight = this.mode === 'startup' ? startupBackgroundLossWeight : backgroundLossWeight;
        const next = this.backgroundLoss + (lossRate - this.backgroundLoss) * weight;
        this.backgroundLoss = Math.min(maxBackgroundLoss, Math.max(0, next));
      } else if (lossRate > this.backgroundLoss + 0.02) {
        congested = true; // R-CC-6: loss above background while the queue grows
      }
    }
    // The smallest of the last few samples is a fresh view of the queue that one late ACK cannot inflate.
    const queueDelayMs = Math.max(0, Math.min(...this.recentRttsMs) - this.minRttMs);
    if (!this.detectPathChange()) {
      if (this.mode === 'startup') this.steerStartup(congested || queueing);
      else if (this.mode === 'cruise') this.steerCruise(congested, queueDelayMs);
    }
    this.roundAckedBytes = 0;
    this.roundLostBytes = 0;
    this.roundAppLimited = true;
    this.roundMinRttMs = Number.POSITIVE_INFINITY;
    this.roundSamples = 0;
    this.roundRateSum = 0;
    this.roundRateCount = 0;
    this.roundSampleCount = 0;
  }

  /** R-CC-8: a round minimum above 2 × min RTT + 5 ms for 3 rounds is a longer path: re-learn, carry on. */
  private detectPathChange(): boolean {
    if (!Number.isFinite(this.roundMinRttMs) || !(this.roundMinRttMs > 2 * this.minRttMs + 5)) {
      this.elevatedRounds = 0;
      return false;
    }
    if (++this.elevatedRounds < pathChangeRounds) return false;
    this.minRttMs = this.roundMinRttMs; // the latest round's: earlier ones may straddle the change
    this.elevatedRounds = 0;
    this.restartOnNewPath();
    return true;
  }

  /** STARTUP ends on congestion, on a queue (delay-based exit) or when the bandwidth stops growing 25% a round. */
  private steerStartup(queueOrCongestion: boolean): void {
    if (queueOrCongestion) {
      this.mode = 'drain';
      return;
    }
    if (this.roundAppLimited) return;
    const bw = this.bottleneckBandwidthBytesPerSec;
    if (bw >= this.fullBandwidth * 1.25) {
      this.fullBandwidth = bw;
      this.fullBandwidthRounds = 0;
    } else if (++this.fullBandwidthRounds >= 3) {
      this.mode = 'drain';
    }
  }

  /**
   * R-CC-7: cruise. Congestion multiplies the rate by 0.85 (R-CC-6). Otherwise, after a round that was not
   * application-limited, the rate becomes the round's mean delivery rate D plus g × (α − q) / min RTT, where
   * q = rate × queueing delay estimates this flow's bytes in the bottleneck queue and α is its target (a PD step
   * towards q = α: flows sharing a queue see one queueing delay, so they settle at equal rates). A queue above
   * twice the queueing threshold cuts the rate to max(½, 1 − delay / min RTT) of what was delivered; two rounds
   * without any queue grow it by 12.5% (at most 4 α) a round, to find capacity that appeared.
   */
  private steerCruise(congested: boolean, queueDelayMs: number): void {
    const rate = this.cruiseRateBytesPerSec;
    const floor = (this.minWindowBytes * 1000) / this.minRttMs;
    if (congested) {
      this.cruiseRateBytesPerSec = Math.max(floor, rate * congestionBackoff);
      return;
    }
    // Only a round that was mostly busy says something about the path: a burst of an application-limited
    // sender is paced, not steered.
    this.lastRoundBusy = 2 * this.roundRateCount >= this.roundSampleCount;
    if (!this.lastRoundBusy || !Number.isFinite(queueDelayMs)) return;
    const delivered = this.roundRateSum / this.roundRateCount;
    if (queueDelayMs > 2 * this.queueThresholdMs()) {
      // A large queue (a newcomer's startup, a slower bottleneck): halve, so the queue empties and every flow
      // sharing it sees the true min RTT.
      const cut = Math.max(0.5, 1 - queueDelayMs / this.minRttMs);
      this.cruiseRateBytesPerSec = Math.max(floor, Math.min(rate, delivered) * cut);
      this.freeRounds = 0;
      this.lastOwnQueueBytes = Number.POSITIVE_INFINITY;
      return;
    }
    const targetBytes = this.queueTargetBytes();
    const ownQueueBytes = (rate * Math.max(0, queueDelayMs)) / 1000;
    let next: number;
    const free = queueDelayMs <= 1 && this.roundMinRttMs <= this.minRttMs + 1 && ownQueueBytes < targetBytes;
    this.freeRounds = free ? this.freeRounds + 1 : 0;
    if (this.freeRounds >= 2) {
      // No queue for two rounds: capacity to take. Growth is from what was delivered, by 12.5% but at most 4 α a
      // round, so one round's overshoot stays small even where the buffer is a small part of the BDP.
      next = Math.max(
        rate,
        Math.min(
          delivered * freeGrowth,
          delivered + (freeGrowthMaxTargets * targetBytes * 1000) / this.minRttMs,
        ),
      );
    } else {
      // Proportional-derivative step towards α of own bytes queued: the derivative term damps the loop.
      const trendBytes = Number.isFinite(this.lastOwnQueueBytes) ? ownQueueBytes - this.lastOwnQueueBytes : 0;
      next =
        rate +
        ((queueGain * (targetBytes - ownQueueBytes) - queueTrendGain * trendBytes) * 1000) / this.minRttMs;
      next = Math.max(next, rate / 2); // at most halve per round outside congestion
    }
    this.lastOwnQueueBytes = ownQueueBytes;
    this.cruiseRateBytesPerSec = Math.max(floor, next);
  }
}
