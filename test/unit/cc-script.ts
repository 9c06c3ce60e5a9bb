import type { CcPacket, CcRtt, CongestionController } from '../../src/protocol/cc/congestion-controller.ts';
import type { RateSample } from '../../src/protocol/recovery/delivery-rate.ts';

/** Bytes of every scripted packet. */
export const mssBytes = 1200;

/** Options of one scripted round trip. */
export interface RoundOptions {
  /** Packets acknowledged in the round (default 10). */
  packets?: number;
  /** Packets declared lost in the round, reported before its ACK (default 0). */
  lost?: number;
  /** Whether the round's sample is application-limited (default false). */
  appLimited?: boolean;
  /** RTT figures the ACK reports (default: the script's current ones). */
  rtt?: CcRtt;
  /** Bytes in flight after the ACK (default 0). */
  bytesInFlight?: number;
}

/**
 * Drives a controller alone with scripted feedback (spec §9.3, R-CC-5/6): each `round` call is one ACK whose
 * delivery-rate sample (R-CC-4) starts where the previous one ended, so every call closes exactly one round trip.
 */
export class CcScript {
  nowMs = 0;
  deliveredBytes = 0;
  private pn = 0;
  rtt: CcRtt = { latestRttMs: 50, smoothedRttMs: 50, minRttMs: 50 };

  constructor(readonly cc: CongestionController) {}

  private packets(count: number, appLimited: boolean): CcPacket[] {
    return Array.from({ length: count }, () => ({
      packetNumber: this.pn++,
      sizeBytes: mssBytes,
      timeSentMs: this.nowMs - this.rtt.minRttMs,
      appLimited,
    }));
  }

  /** One round trip: `lost` packets declared lost, then an ACK of `packets` packets sampled at `rateBytesPerSec`. */
  round(rateBytesPerSec: number, options: RoundOptions = {}): void {
    const rtt = options.rtt ?? this.rtt;
    this.rtt = rtt;
    this.nowMs += rtt.minRttMs;
    const appLimited = options.appLimited ?? false;
    if (options.lost) this.cc.onPacketsLost(this.nowMs, this.packets(options.lost, appLimited), false);
    const acked = this.packets(options.packets ?? 10, appLimited);
    const deliveredBytes = acked.length * mssBytes;
    const sample: RateSample = {
      deliveryRateBytesPerSec: rateBytesPerSec,
      deliveredBytes,
      intervalMs: rtt.minRttMs,
      appLimited,
      priorDeliveredBytes: this.deliveredBytes,
    };
    this.deliveredBytes += deliveredBytes;
    this.cc.onPacketsAcked(this.nowMs, acked, rtt, options.bytesInFlight ?? 0, sample);
  }
}
