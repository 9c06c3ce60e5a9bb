import type { CcPacket, CcRtt, CongestionController } from './congestion-controller.ts';

/** Options of {@link NewReno}. */
export interface NewRenoOptions {
  /** Largest datagram the connection sends (bytes). */
  maxDatagramBytes: number;
}

/**
 * NewReno as in RFC 9002 §7 and Appendix B: slow start, congestion avoidance, one reduction per recovery
 * period, persistent congestion, and undo of a reduction caused by a spurious loss (spec §9.4, R-CC-2).
 */
export class NewReno implements CongestionController {
  readonly name = 'newreno';
  congestionWindowBytes: number;
  /** Slow-start threshold (bytes). */
  ssthreshBytes = Number.POSITIVE_INFINITY;
  private recoveryStartMs = Number.NEGATIVE_INFINITY;
  private bytesAckedInCa = 0;
  private readonly maxDatagramBytes: number;
  private readonly minWindowBytes: number;
  /** Window and threshold before the last reduction, for undo. */
  private beforeReduction: { cwnd: number; ssthresh: number; recoveryStartMs: number } | undefined;

  constructor(options: NewRenoOptions) {
    this.maxDatagramBytes = options.maxDatagramBytes;
    // RFC 9002 §7.2: initial window min(10 * mds, max(14720, 2 * mds)), minimum window 2 * mds.
    this.congestionWindowBytes = Math.min(
      10 * this.maxDatagramBytes,
      Math.max(14_720, 2 * this.maxDatagramBytes),
    );
    this.minWindowBytes = 2 * this.maxDatagramBytes;
  }

  pacingRateBytesPerSec(rtt: CcRtt): number | undefined {
    // RFC 9002 §7.7: pace at 1.25 × cwnd / smoothed RTT.
    return (1.25 * this.congestionWindowBytes * 1000) / Math.max(rtt.smoothedRttMs, 1);
  }

  onPacketSent(): void {}

  onPacketsAcked(_nowMs: number, packets: readonly CcPacket[]): void {
    for (const packet of packets) {
      if (packet.timeSentMs <= this.recoveryStartMs) continue; // sent before recovery: no growth (§7.3.2)
      if (packet.appLimited) continue; // RFC 9002 §7.8: under-utilised window does not grow
      if (this.congestionWindowBytes < this.ssthreshBytes) {
        this.congestionWindowBytes += packet.sizeBytes;
      } else {
        this.bytesAckedInCa += packet.sizeBytes;
        if (this.bytesAckedInCa >= this.congestionWindowBytes) {
          this.bytesAckedInCa -= this.congestionWindowBytes;
          this.congestionWindowBytes += this.maxDatagramBytes;
        }
      }
    }
  }

  onPacketsLost(nowMs: number, packets: readonly CcPacket[], persistentCongestion: boolean): void {
    const newest = packets.reduce((t, p) => Math.max(t, p.timeSentMs), Number.NEGATIVE_INFINITY);
    if (newest > this.recoveryStartMs) {
      this.beforeReduction = {
        cwnd: this.congestionWindowBytes,
        ssthresh: this.ssthreshBytes,
        recoveryStartMs: this.recoveryStartMs,
      };
      this.recoveryStartMs = nowMs;
      this.ssthreshBytes = Math.max(this.congestionWindowBytes / 2, this.minWindowBytes);
      this.congestionWindowBytes = this.ssthreshBytes;
      this.bytesAckedInCa = 0;
    }
    if (persistentCongestion) {
      this.congestionWindowBytes = this.minWindowBytes;
      this.beforeReduction = undefined;
    }
  }

  onSpuriousLoss(_nowMs: number, packet: CcPacket): void {
    // Undo only the reduction this packet could have caused: it was sent before the current recovery period.
    const saved = this.beforeReduction;
    if (!saved || packet.timeSentMs > this.recoveryStartMs) return;
    this.congestionWindowBytes = Math.max(this.congestionWindowBytes, saved.cwnd);
    this.ssthreshBytes = saved.ssthresh;
    this.recoveryStartMs = saved.recoveryStartMs;
    this.beforeReduction = undefined;
  }
}
