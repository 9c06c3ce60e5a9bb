/**
 * Delivery-rate sampling (spec §9.2, R-CC-4), after draft-cheng-iccrg-delivery-rate-estimation: each sent packet
 * snapshots how much had been delivered and when; its acknowledgement turns the difference into a rate sample
 * over the longer of the send and ACK intervals, so ACK compression cannot inflate it.
 */

/** Per-packet snapshot taken at send time. */
export interface DeliverySnapshot {
  /** Bytes delivered (acknowledged) on the connection when the packet was sent. */
  deliveredBytes: number;
  /** When `deliveredBytes` was last updated, as of sending (ms). */
  deliveredTimeMs: number;
  /** Send time of the first packet of the current flight, as of sending (ms). */
  firstSentTimeMs: number;
  /** Whether the sender was application-limited when it was sent. */
  appLimited: boolean;
}

/** One delivery-rate sample. */
export interface RateSample {
  /** Bytes delivered per second over the interval. */
  deliveryRateBytesPerSec: number;
  /** Bytes delivered over the interval. */
  deliveredBytes: number;
  /** Interval length (ms). */
  intervalMs: number;
  /** Whether the sample's packet was sent while application-limited (a lower bound on the path rate). */
  appLimited: boolean;
  /** Total delivered bytes as of the packet's send time (for counting round trips). */
  priorDeliveredBytes: number;
}

/** Connection-wide delivery accounting. */
export class DeliveryRateSampler {
  /** Bytes acknowledged so far. */
  deliveredBytes = 0;
  private deliveredTimeMs = 0;
  private firstSentTimeMs = 0;

  /** Snapshot for a packet about to be sent; `bytesInFlight` is before this packet. */
  onPacketSent(nowMs: number, bytesInFlight: number, appLimited: boolean): DeliverySnapshot {
    if (bytesInFlight === 0) {
      this.firstSentTimeMs = nowMs;
      this.deliveredTimeMs = nowMs;
    }
    return {
      deliveredBytes: this.deliveredBytes,
      deliveredTimeMs: this.deliveredTimeMs,
      firstSentTimeMs: this.firstSentTimeMs,
      appLimited,
    };
  }

  /**
   * Accounts the packets newly acknowledged by one ACK and returns a sample from the most recently sent of them,
   * or undefined if the interval is too short to mean anything.
   */
  onAck(
    nowMs: number,
    acked: readonly { sizeBytes: number; timeSentMs: number; delivery?: DeliverySnapshot | undefined }[],
  ): RateSample | undefined {
    // The most recently sent packet with a snapshot, as its send time and snapshot (no object per packet).
    let newestSentMs = 0;
    let newest: DeliverySnapshot | undefined;
    for (const p of acked) {
      const delivery = p.delivery;
      if (!delivery) continue;
      this.deliveredBytes += p.sizeBytes;
      if (!newest || delivery.deliveredBytes >= newest.deliveredBytes) {
        newestSentMs = p.timeSentMs;
        newest = delivery;
      }
    }
    if (!newest) return undefined;
    this.deliveredTimeMs = nowMs;
    const snap = newest;
    const sendElapsed = newestSentMs - snap.firstSentTimeMs;
    const ackElapsed = nowMs - snap.deliveredTimeMs;
    this.firstSentTimeMs = newestSentMs;
    const intervalMs = Math.max(sendElapsed, ackElapsed);
    const deliveredBytes = this.deliveredBytes - snap.deliveredBytes;
    if (!(intervalMs > 0)) return undefined;
    return {
      deliveryRateBytesPerSec: (deliveredBytes * 1000) / intervalMs,
      deliveredBytes,
      intervalMs,
      appLimited: snap.appLimited,
      priorDeliveredBytes: snap.deliveredBytes,
    };
  }
}
