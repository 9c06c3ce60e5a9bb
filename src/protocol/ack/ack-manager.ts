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
  /** Whether every range the peer does not know yet is in this ACK (R-ACK-4). */
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
  /** Packet numbers the peer has seen reported, in ACKs of ours it acknowledged (R-ACK-4). */
  private readonly known = new RangeSet();
  /** Cached: whether some received range is not yet known to the peer; undefined = recompute. */
  private pendingReport: boolean | undefined = false;
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
    this.pendingReport = undefined;
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

  /** Whether a received range is not fully covered by what the peer already knows. */
  private isUnknown(start: number, end: number): boolean {
    return !this.known.has(start) || this.known.firstGapFrom(start) <= end;
  }

  /** Whether there is anything worth reporting in a piggybacked ACK: a range the peer does not know (R-ACK-4). */
  hasRangesToReport(): boolean {
    if (this.pendingReport === undefined) {
      this.pendingReport = false;
      // Indexed, newest first: this runs after every received packet, so no iterator or range objects.
      const received = this.received;
      for (let k = 0; k < received.size; k++) {
        if (this.isUnknown(received.startFromTop(k), received.endFromTop(k))) {
          this.pendingReport = true;
          break;
        }
      }
    }
    return this.pendingReport;
  }

  /** Whether received packets exist that no ACK has reported yet. */
  hasUnreported(): boolean {
    return this.unreported;
  }

  /**
   * Builds the ACK content: the newest ranges the peer does not know yet, at most `maxRanges` (R-ACK-5), and
   * resets the ACK-due state. Ranges the peer already saw in an acknowledged ACK are left out: its sender has
   * already processed them, so leaving them out can never look like a loss. Returns undefined when nothing
   * needs reporting.
   */
  buildAck(nowMs: number, maxRanges = this.options.maxAckRanges): AckContent | undefined {
    if (!this.hasRangesToReport()) return undefined;
    const ranges: { smallest: number; largest: number }[] = [];
    let complete = true;
    const received = this.received;
    for (let k = 0; k < received.size; k++) {
      const start = received.startFromTop(k);
      const end = received.endFromTop(k);
      if (!this.isUnknown(start, end)) continue;
      if (ranges.length >= maxRanges) {
        complete = false;
        break;
      }
      // Clip a known lower part (the common case: the peer knows everything up to some point).
      const smallest = this.known.has(start) ? this.known.firstGapFrom(start) : start;
      ranges.push({ smallest, largest: end });
    }
    this.ackElicitingSinceAck = 0;
    this.ackDeadlineMs = undefined;
    this.immediate = false;
    this.unreported = false;
    const delayMs = Math.max(0, nowMs - this.largestReceivedAtMs);
    return { ackDelayUs: Math.round(delayMs * 1000), ranges, complete };
  }

  /**
   * The peer acknowledged a packet of ours carrying a complete ACK whose largest was `largestAcked`: it knows
   * every received packet up to there, so those ranges need not be repeated (R-ACK-4).
   */
  onAckOfAck(largestAcked: number): void {
    this.onRangesSeen([{ smallest: 0, largest: largestAcked }]);
  }

  /** The peer acknowledged a packet of ours whose ACK frame reported `ranges`: they are known (R-ACK-4). */
  onRangesSeen(ranges: readonly { smallest: number; largest: number }[]): void {
    for (const r of ranges) this.known.addRange(r.smallest, r.largest);
    this.known.limitRanges(this.options.maxTrackedRanges);
    this.pendingReport = undefined;
  }

  /** Number of ranges currently remembered. */
  get trackedRanges(): number {
    return this.received.size;
  }
}
