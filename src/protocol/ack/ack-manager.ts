import { RangeSet } from './range-set.ts';

/** Tunables of {@link AckManager} (spec §5). */
export interface AckManagerOptions {
  /** Longest an ACK for an ack-eliciting packet may be delayed (ms), R-ACK-2. */
  maxAckDelayMs: number;
  /** Acknowledge at the latest after this many ack-eliciting packets, R-ACK-2. */
  ackElicitingThreshold: number;
  /** Most ranges one ACK frame reports, R-ACK-5. */
  maxAckRanges: number;
  /** Most ranges remembered for duplicate detection; older packet numbers below them count as duplicates. */
  maxTrackedRanges: number;
}

/** An ACK frame's content: ranges descending and the delay since the largest was received. */
export interface AckContent {
  ackDelayUs: number;
  ranges: { smallest: number; largest: number }[];
  /** Whether the ranges reach down to the reported floor: only a complete ACK may retire ranges (R-ACK-4). */
  complete: boolean;
}

/**
 * The receiving half of selective acknowledgement (spec §5): which packet numbers arrived, when an ACK is due,
 * and which ranges to report. Ranges are repeated in every ACK until the peer acknowledges a packet that
 * carried an ACK covering them (R-ACK-4), so a lossy reverse path never stalls the sender.
 */
export class AckManager {
  /** Received packet numbers (for duplicate detection and reporting). */
  private readonly received = new RangeSet();
  /** Packet numbers at or below this were reported in an ACK the peer has acknowledged (R-ACK-4). */
  private reportedFloor = -1;
  /** Packet numbers below this are treated as duplicates (their ranges were forgotten). */
  private duplicateFloor = 0;
  private largestReceived = -1;
  private largestReceivedAtMs = 0;
  private ackElicitingSinceAck = 0;
  private ackDeadlineMs: number | undefined;
  private immediate = false;
  /** Something arrived that no ACK has reported yet. */
  private unreported = false;

  constructor(private readonly options: AckManagerOptions) {}

  /** Whether `packetNumber` was already received (or is too old to tell): the packet must be dropped (R-ACK-3). */
  isDuplicate(packetNumber: number): boolean {
    return packetNumber < this.duplicateFloor || this.received.has(packetNumber);
  }

  /**
   * Records a received (authenticated, decoded) packet. An out-of-order or gap-creating arrival makes the ACK
   * immediate (R-ACK-1); otherwise it is due after `ackElicitingThreshold` ack-eliciting packets or
   * `maxAckDelayMs` (R-ACK-2).
   */
  onPacketReceived(nowMs: number, packetNumber: number, ackEliciting: boolean): void {
    const outOfOrder = packetNumber < this.largestReceived || packetNumber > this.largestReceived + 1;
    this.received.add(packetNumber);
    const dropped = this.received.limitRanges(this.options.maxTrackedRanges);
    if (dropped > 0) this.duplicateFloor = Math.max(this.duplicateFloor, this.received.min() ?? 0);
    if (packetNumber > this.largestReceived) {
      this.largestReceived = packetNumber;
      this.largestReceivedAtMs = nowMs;
    }
    this.unreported = true;
    if (!ackEliciting) return;
    this.ackElicitingSinceAck++;
    if (
      (outOfOrder && this.largestReceived > 0) ||
      this.ackElicitingSinceAck >= this.options.ackElicitingThreshold
    ) {
      this.immediate = true;
    } else if (this.ackDeadlineMs === undefined) {
      this.ackDeadlineMs = nowMs + this.options.maxAckDelayMs;
    }
  }

  /** When an ACK must be sent: `-Infinity` for now, a time for a delayed ACK, undefined if none is owed. */
  ackDueMs(): number | undefined {
    if (!this.hasRangesToReport()) {
      this.immediate = false;
      this.ackDeadlineMs = undefined;
      return undefined;
    }
    if (this.immediate) return Number.NEGATIVE_INFINITY;
    return this.ackDeadlineMs;
  }

  /** Whether there is anything worth reporting in a piggybacked ACK (R-ACK-4). */
  hasRangesToReport(): boolean {
    return this.largestReceived > this.reportedFloor;
  }

  /** Whether received packets exist that no ACK has reported yet. */
  hasUnreported(): boolean {
    return this.unreported;
  }

  /**
   * Builds the ACK content: the newest ranges above the reported floor, at most `maxRanges` (R-ACK-5), and
   * resets the ACK-due state. Returns undefined when nothing needs reporting.
   */
  buildAck(nowMs: number, maxRanges = this.options.maxAckRanges): AckContent | undefined {
    if (!this.hasRangesToReport()) return undefined;
    const ranges: { smallest: number; largest: number }[] = [];
    let complete = true;
    for (const r of this.received.rangesDescending()) {
      if (r.end <= this.reportedFloor) break;
      if (ranges.length >= maxRanges) {
        complete = false;
        break;
      }
      ranges.push({ smallest: Math.max(r.start, this.reportedFloor + 1), largest: r.end });
    }
    this.ackElicitingSinceAck = 0;
    this.ackDeadlineMs = undefined;
    this.immediate = false;
    this.unreported = false;
    const delayMs = Math.max(0, nowMs - this.largestReceivedAtMs);
    return { ackDelayUs: Math.round(delayMs * 1000), ranges, complete };
  }

  /**
   * The peer acknowledged a packet of ours that carried an ACK whose largest was `largestAcked`: it knows
   * everything up to there, so those ranges need not be repeated (R-ACK-4).
   */
  onAckOfAck(largestAcked: number): void {
    if (largestAcked > this.reportedFloor) this.reportedFloor = largestAcked;
  }

  /** Number of ranges currently remembered. */
  get trackedRanges(): number {
    return this.received.size;
  }
}
