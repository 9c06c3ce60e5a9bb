import type { RateSample } from '../recovery/delivery-rate.ts';
import type { CcPacket, CcRtt, CongestionController } from './congestion-controller.ts';
import { WindowedMax } from './windowed-max.ts';

/** Options of {@link LossTolerant}. */
export interface LossTolerantOptions {
  /** Largest datagram the connection sends (bytes). */
  maxDatagramBytes: number;
}

/** Startup gain 2/ln 2, as BBR: doubles the delivery rate each round trip. */
const startupGain = 2.885;
/** Probe-bandwidth pacing gains, one phase per min RTT (BBR's ProbeBW cycle). */
const probeGains = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
/** Window = this × estimated BDP, plus a few packets for ACK aggregation. */
const cwndGain = 2;
/** Bandwidth filter length in round trips. */
const bandwidthWindowRounds = 10;
/** Weight of one round in the background-loss estimate. */
const backgroundLossWeight = 1 / 8;
/** Cap of the background loss the estimate may assume. */
const maxBackgroundLoss = 0.5;
/** Bandwidth multiplier applied when a round shows congestion (queueing together with excess loss). */
const congestionBackoff = 0.85;

/**
 * Ferry's loss-tolerant, model-based congestion controller (spec §9.3, R-CC-5): it estimates the bottleneck
 * bandwidth from delivery-rate samples and the minimum RTT, as BBR does, and paces at the estimate. Random loss is
 * not read as congestion: delivery-rate samples are scaled by the path's background loss rate, which is learnt
 * only in rounds without queueing delay, so a 30% lossy path keeps ≈ (1 − loss) of its capacity. Loss counts as
 * congestion only together with evidence of queueing (RTT above the minimum) and a loss rate above background;
 * the window cap of twice the estimated BDP bounds the queue it can build (no bufferbloat).
 */
export class LossTolerant implements CongestionController {
  readonly name = 'loss-tolerant';
  /** Current phase. */
  mode: 'startup' | 'drain' | 'probe-bw' = 'startup';
  /** Background (non-congestive) loss rate estimate. */
  backgroundLoss = 0;
  private readonly maxDatagramBytes: number;
  private readonly initialWindowBytes: number;
  private readonly minWindowBytes: number;
  private readonly bandwidth = new WindowedMax(bandwidthWindowRounds);
  private round = 0;
  private nextRoundDeliveredBytes = 0;
  private roundAckedBytes = 0;
  private roundLostBytes = 0;
  private roundAppLimited = true;
  private fullBandwidth = 0;
  private fullBandwidthRounds = 0;
  private cycleIndex = 0;
  private cycleStartMs = 0;
  private minRttMs = Number.POSITIVE_INFINITY;
  private latestRttMs = 0;
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

  /** Estimated bottleneck bandwidth (bytes/s), 0 before the first sample. */
  get bottleneckBandwidthBytesPerSec(): number {
    return this.bandwidth.best(this.round);
  }

  private bdpBytes(): number {
    const bw = this.bottleneckBandwidthBytesPerSec;
    if (bw === 0 || !Number.isFinite(this.minRttMs)) return 0;
    return (bw * this.minRttMs) / 1000;
  }

  get congestionWindowBytes(): number {
    const bdp = this.bdpBytes();
    if (bdp === 0) return this.initialWindowBytes;
    const gain = this.mode === 'startup' ? startupGain : cwndGain;
    const window = gain * bdp + 3 * this.maxDatagramBytes;
    // Startup never shrinks below the initial window, so the first round trips are not starved.
    const floor = this.mode === 'startup' ? this.initialWindowBytes : this.minWindowBytes;
    return Math.max(window, floor);
  }

  private pacingGain(): number {
    if (this.mode === 'startup') return startupGain;
    if (this.mode === 'drain') return 1 / startupGain;
    return probeGains[this.cycleIndex]!;
  }

  pacingRateBytesPerSec(rtt: CcRtt): number | undefined {
    const bw = this.bottleneckBandwidthBytesPerSec;
    // Floor: the initial window per RTT, so application-limited (thin) traffic is never paced below its bursts.
    const floor = (this.initialWindowBytes * 1000) / Math.max(rtt.smoothedRttMs, 1);
    return Math.max(this.pacingGain() * bw, floor);
  }

  onPacketSent(_nowMs: number, _packet: CcPacket, bytesInFlight: number): void {
    this.bytesInFlight = bytesInFlight;
  }

  onPacketsAcked(
    nowMs: number,
    packets: readonly CcPacket[],
    rtt: CcRtt,
    bytesInFlight: number,
    sample: RateSample | undefined,
  ): void {
    this.bytesInFlight = bytesInFlight;
    this.minRttMs = rtt.minRttMs;
    this.latestRttMs = rtt.latestRttMs;
    this.smoothedRttMs = rtt.smoothedRttMs;
    for (const p of packets) this.roundAckedBytes += p.sizeBytes;
    if (!sample) return;
    if (!sample.appLimited) this.roundAppLimited = false;
    if (sample.priorDeliveredBytes >= this.nextRoundDeliveredBytes) {
      this.nextRoundDeliveredBytes = sample.priorDeliveredBytes + sample.deliveredBytes;
      this.onRoundEnd();
    }
    // R-CC-5: scale by the background loss so random loss does not shrink the estimate.
    const bw = sample.deliveryRateBytesPerSec / (1 - this.backgroundLoss);
    if (!sample.appLimited || bw >= this.bottleneckBandwidthBytesPerSec)
      this.bandwidth.update(bw, this.round);
    this.advancePhase(nowMs);
  }

  onPacketsLost(_nowMs: number, packets: readonly CcPacket[]): void {
    for (const p of packets) this.roundLostBytes += p.sizeBytes;
  }

  onSpuriousLoss(_nowMs: number, packet: CcPacket): void {
    this.roundLostBytes = Math.max(0, this.roundLostBytes - packet.sizeBytes);
  }

  /** Once per round trip: learn the background loss, detect congestion, check whether startup filled the pipe. */
  private onRoundEnd(): void {
    this.round++;
    const resolved = this.roundAckedBytes + this.roundLostBytes;
    const lossRate = resolved > 0 ? this.roundLostBytes / resolved : 0;
    const queueing =
      this.latestRttMs > this.minRttMs * 1.25 + 2 && this.smoothedRttMs > this.minRttMs * 1.25 + 2;
    if (resolved > 0) {
      if (!queueing) {
        const next = this.backgroundLoss + (lossRate - this.backgroundLoss) * backgroundLossWeight;
        this.backgroundLoss = Math.min(maxBackgroundLoss, Math.max(0, next));
      } else if (lossRate > this.backgroundLoss + 0.02) {
        // R-CC-6: loss above background while the queue grows is congestion: back off the model.
        const reduced = this.bottleneckBandwidthBytesPerSec * congestionBackoff;
        this.bandwidth.reset();
        this.bandwidth.update(reduced, this.round);
        if (this.mode === 'startup') this.mode = 'drain';
      }
    }
    if (this.mode === 'startup' && !this.roundAppLimited) {
      const bw = this.bottleneckBandwidthBytesPerSec;
      if (bw >= this.fullBandwidth * 1.25) {
        this.fullBandwidth = bw;
        this.fullBandwidthRounds = 0;
      } else if (++this.fullBandwidthRounds >= 3) {
        this.mode = 'drain';
      }
    }
    this.roundAckedBytes = 0;
    this.roundLostBytes = 0;
    this.roundAppLimited = true;
  }

  private advancePhase(nowMs: number): void {
    if (this.mode === 'drain' && this.bytesInFlight <= this.bdpBytes()) {
      this.mode = 'probe-bw';
      this.cycleIndex = 2; // start cruising; probing comes round
      this.cycleStartMs = nowMs;
    }
    if (this.mode === 'probe-bw' && nowMs - this.cycleStartMs >= this.minRttMs) {
      this.cycleIndex = (this.cycleIndex + 1) % probeGains.length;
      this.cycleStartMs = nowMs;
    }
  }
}
