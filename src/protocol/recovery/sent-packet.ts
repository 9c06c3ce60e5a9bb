import type { DeliverySnapshot } from './delivery-rate.ts';

/** One packet the connection sent, as loss recovery tracks it (spec §6). `F` is the connection's frame record. */
export interface SentPacket<F> {
  /** Packet number (never reused, R-LOSS-1). */
  packetNumber: number;
  /** When it was sent (ms). */
  timeSentMs: number;
  /** UDP payload bytes. */
  sizeBytes: number;
  /** Carries a frame other than ACK and PADDING: the peer will acknowledge it. */
  ackEliciting: boolean;
  /** Counted in bytes in flight (ack-eliciting or padded probe). */
  inFlight: boolean;
  /** The sender had less data than the window allowed when it sent this packet. */
  appLimited: boolean;
  /** The largest packet number acknowledged by an ACK frame in this packet, if it carried one (ack-of-ack). */
  largestAckedInPacket: number | undefined;
  /**
   * Declared lost while below every range of the ACK frame that triggered it: the peer may simply not have
   * reported it (a truncated ACK), so a later acknowledgement is no evidence of reordering (R-LOSS-4).
   */
  lostBelowAckFrame?: boolean;
  /** The ranges of the ACK frame this packet carried, if any: known to the peer once this packet is acked. */
  ackRangesInPacket?: readonly { smallest: number; largest: number }[];
  /** Retransmittable content: given back to the connection when the packet is acknowledged or lost. */
  frames: F[];
  /** Set when declared lost; the record is kept a while to detect a spurious loss (R-LOSS-7). */
  declaredLost: boolean;
  /** Largest acknowledged packet number when this one was declared lost by packet threshold (reordering degree). */
  lostByReorderDistance: number;
  /** Delivery-rate snapshot at send time (R-CC-4); absent for packets not counted in flight. */
  delivery?: DeliverySnapshot;
}
