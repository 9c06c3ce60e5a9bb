import type { CcPacket, CcRtt, CongestionController } from './congestion-controller.ts';

/** Options of {@link Cubic}. */
export interface CubicOptions {
  /** Largest datagram the connection sends (bytes); CUBIC's segment size. */
  maxDatagramBytes: number;
}

/** RFC 9438 §5.1: C = 0.4 (segments / s³). */
export const cubicC = 0.4;
/** RFC 9438 §4.6: multiplicative decrease factor β_cubic = 0.7. */
export const cubicBeta = 0.7;
/** RFC 9438 §4.3: additive increase of the Reno-friendly estimate, α_cubic = 3(1 − β)/(1 + β). */
const cubicAlpha = (3 * (1 - cubicBeta)) / (1 + cubicBeta);

/** What a reduction changed, kept so a spurious loss can undo it (RFC 9438 §4.9). */
interface CubicSnapshot {
  cwnd: number;
  ssthresh: number;
  wMax: number;
  k: number;
  epochStartMs: number | undefined;
  wEst: number;
  cwndPrior: number;
  recoveryStartMs: number;
}

/**
 * CUBIC (RFC 9438; spec §9.6, R-CC-7..10): slow start as NewReno; after a loss the window falls to β = 0.7 of
 * itself and then follows W_cubic(t) = C·(t − K)³ + W_max (concave up to the previous maximum, convex beyond),
 * never below the Reno-friendly estimate W_est; fast convergence lowers W_max when a flow keeps losing below its
 * previous peak; a reduction caused by a spurious loss is undone. Windows are kept in bytes, the cubic function
 * in segments of `maxDatagramBytes`.
 */
export class Cubic implements CongestionController {
  readonly name = 'cubic';
  congestionWindowBytes: number;
  /** Slow-start threshold (bytes). */
  ssthreshBytes = Number.POSITIVE_INFINITY;
  /** Window just before the latest reduction, after fast convergence (bytes); 0 before any loss. */
  wMaxBytes = 0;
  /** Time the cubic function takes to climb back to W_max (s). */
  kSeconds = 0;
  /** Start of the current congestion-avoidance epoch (ms), undefined outside one. */
  epochStartMs: number | undefined;
  /** Reno-friendly window estimate (bytes), RFC 9438 §4.3. */
  wEstBytes = 0;
  private cwndPriorBytes = 0;
  private recoveryStartMs = Number.NEGATIVE_INFINITY;
  private readonly segmentBytes: number;
  private readonly minWindowBytes: number;
  private beforeReduction: CubicSnapshot | undefined;

  constructor(options: CubicOptions) {
    this.segmentBytes = options.maxDatagramBytes;
    // RFC 9002 §7.2 initial and minimum windows, as NewReno.
    this.congestionWindowBytes = Math.min(10 * this.segmentBytes, Math.max(14_720, 2 * this.segmentBytes));
    this.minWindowBytes = 2 * this.segmentBytes;
  }

  /** W_cubic(t) in bytes, `tSeconds` after the epoch start (RFC 9438 §4.2, eq. 1). */
  cubicWindowBytes(tSeconds: number): number {
    const d = tSeconds - this.kSeconds;
    return cubicC * d * d * d * this.segmentBytes + this.wMaxBytes;
  }

  pacingRateBytesPerSec(rtt: CcRtt): number | undefined {
    // RFC 9002 §7.7: pace at 1.25 × cwnd / smoothed RTT (2× in slow start, so pacing never caps the doubling).
    const gain = this.congestionWindowBytes < this.ssthreshBytes ? 2 : 1.25;
    return (gain * this.congestionWindowBytes * 1000) / Math.max(rtt.smoothedRttMs, 1);
  }

  onPacketSent(): void {}

  onPacketsAcked(nowMs: number, packets: readonly CcPacket[], rtt: CcRtt): void {
    for (const packet of packets) {
      if (packet.timeSentMs <= this.recoveryStartMs) continue; // sent before recovery: no growth
      if (packet.appLimited) continue; // RFC 9438 §5.8 / RFC 9002 §7.8: an idle window does not grow
      if (this.congestionWindowBytes < this.ssthreshBytes) {
        this.congestionWindowBytes += packet.sizeBytes; // slow start
      } else {
        this.avoidCongestion(nowMs, packet.sizeBytes, rtt);
      }
    }
  }

  /** One acknowledged packet in congestion avoidance (RFC 9438 §4.2–§4.4). */
  private avoidCongestion(nowMs: number, ackedBytes: number, rtt: CcRtt): void {
    const cwnd = this.congestionWindowBytes;
    if (this.epochStartMs === undefined) {
      this.epochStartMs = nowMs;
      this.wEstBytes = cwnd;
      if (this.wMaxBytes <= cwnd) {
        // Left slow start without a loss, or after an undo above W_max: the plateau is here (§4.2).
        this.wMaxBytes = cwnd;
        this.kSeconds = 0;
      } else {
        this.kSeconds = Math.cbrt((this.wMaxBytes - cwnd) / this.segmentBytes / cubicC);
      }
    }
    // §4.3: Reno-friendly estimate; α becomes 1 once it passes the window of the last reduction.
    const alpha = this.wEstBytes >= this.cwndPriorBytes ? 1 : cubicAlpha;
    this.wEstBytes += (alpha * this.segmentBytes * ackedBytes) / cwnd;
    const tSeconds = (nowMs - this.epochStartMs) / 1000;
    const cubic = this.cubicWindowBytes(tSeconds);
    if (cubic < this.wEstBytes) {
      this.congestionWindowBytes = this.wEstBytes; // Reno-friendly region (§4.3)
      return;
    }
    // §4.4/§4.5: concave or convex region; aim at W_cubic one RTT ahead, at most 1.5 × cwnd.
    const target = Math.min(
      Math.max(this.cubicWindowBytes(tSeconds + rtt.smoothedRttMs / 1000), cwnd),
      1.5 * cwnd,
    );
    this.congestionWindowBytes += ((target - cwnd) * ackedBytes) / cwnd;
  }

  onPacketsLost(nowMs: number, packets: readonly CcPacket[], persistentCongestion: boolean): void {
    const newest = packets.reduce((t, p) => Math.max(t, p.timeSentMs), Number.NEGATIVE_INFINITY);
    if (newest > this.recoveryStartMs) this.reduce(nowMs);
    if (persistentCongestion) {
      // RFC 9002 §7.6.2: collapse to the minimum window and start over from slow start.
      this.congestionWindowBytes = this.minWindowBytes;
      this.epochStartMs = undefined;
      this.beforeReduction = undefined;
    }
  }

  /** One congestion event (RFC 9438 §4.6 and §4.7 fast convergence). */
  private reduce(nowMs: number): void {
    const cwnd = this.congestionWindowBytes;
    this.beforeReduction = {
      cwnd,
      ssthresh: this.ssthreshBytes,
      wMax: this.wMaxBytes,
      k: this.kSeconds,
      epochStartMs: this.epochStartMs,
      wEst: this.wEstBytes,
      cwndPrior: this.cwndPriorBytes,
      recoveryStartMs: this.recoveryStartMs,
    };
    this.recoveryStartMs = nowMs;
    // §4.7: a flow losing below its previous maximum releases bandwidth faster.
    this.wMaxBytes = cwnd < this.wMaxBytes ? (cwnd * (1 + cubicBeta)) / 2 : cwnd;
    this.cwndPriorBytes = cwnd;
    this.ssthreshBytes = Math.max(cwnd * cubicBeta, this.minWindowBytes);
    this.congestionWindowBytes = this.ssthreshBytes;
    this.epochStartMs = undefined; // the next ACK in congestion avoidance starts a new epoch
  }

  onSpuriousLoss(_nowMs: number, packet: CcPacket): void {
    // RFC 9438 §4.9: restore the state before the reduction this packet caused.
    const saved = this.beforeReduction;
    if (!saved || packet.timeSentMs > this.recoveryStartMs) return;
    this.congestionWindowBytes = Math.max(this.congestionWindowBytes, saved.cwnd);
    this.ssthreshBytes = saved.ssthresh;
    this.wMaxBytes = saved.wMax;
    this.kSeconds = saved.k;
    this.epochStartMs = saved.epochStartMs;
    this.wEstBytes = saved.wEst;
    this.cwndPriorBytes = saved.cwndPrior;
    this.recoveryStartMs = saved.recoveryStartMs;
    this.beforeReduction = undefined;
  }
}
