import type { RateSample } from '../recovery/delivery-rate.ts';

/**
 * The one congestion-controller interface (design.md rule 6, spec §9). The connection owns bytes-in-flight
 * accounting and calls these hooks; a controller only decides the window and the pacing rate.
 */

/** What a controller learns about one acknowledged or lost packet. */
export interface CcPacket {
  /** Packet number. */
  packetNumber: number;
  /** Bytes counted in flight for this packet. */
  sizeBytes: number;
  /** When it was sent (ms). */
  timeSentMs: number;
  /** Whether the sender was application-limited when it was sent (too little data to fill the window). */
  appLimited: boolean;
}

/** RTT figures a controller may use (from the connection's RttEstimator). */
export interface CcRtt {
  latestRttMs: number;
  smoothedRttMs: number;
  minRttMs: number;
}

/**
 * A congestion controller: the loss-tolerant default (§9.3), NewReno (§9.4) or CUBIC (spec §9). The packets and
 * RTT figures passed to its methods are the connection's live records, not copies: read them during the call,
 * never keep them (they change, and are reused).
 */
export interface CongestionController {
  /** Short name for stats and traces, e.g. `newreno`. */
  readonly name: string;
  /** Bytes the sender may have in flight. */
  readonly congestionWindowBytes: number;
  /** Pacing rate in bytes per second, or undefined to send the window without pacing. */
  pacingRateBytesPerSec(rtt: CcRtt): number | undefined;
  /** A packet counted in flight was sent. */
  onPacketSent(nowMs: number, packet: CcPacket, bytesInFlight: number): void;
  /** Packets newly acknowledged by one ACK frame, with the delivery-rate sample it produced (R-CC-4). */
  onPacketsAcked(
    nowMs: number,
    packets: readonly CcPacket[],
    rtt: CcRtt,
    bytesInFlight: number,
    sample: RateSample | undefined,
  ): void;
  /** Packets newly declared lost. `persistentCongestion` follows RFC 9002 §7.6. */
  onPacketsLost(nowMs: number, packets: readonly CcPacket[], persistentCongestion: boolean): void;
  /** A packet declared lost was acknowledged after all (RFC 8985 §7.2): the reduction may be undone. */
  onSpuriousLoss(nowMs: number, packet: CcPacket): void;
}
