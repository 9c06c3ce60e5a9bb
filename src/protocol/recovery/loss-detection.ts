import type { CcRtt } from '../cc/congestion-controller.ts';
import { RttEstimator } from './rtt-estimator.ts';
import type { SentPacket } from './sent-packet.ts';
import { SentPacketRing } from './sent-packet-ring.ts';

/** Losses without a spurious one after which the reordering adaptation is undone (RFC 8985 reo_wnd_persist). */
const reorderPersistLosses = 16;

/** Tunables of {@link LossDetection} (spec §6). */
export interface LossDetectionOptions {
  /** RTT assumed before the first sample (ms). */
  initialRttMs: number;
  /** Timer granularity (ms), RFC 9002 kGranularity. */
  granularityMs: number;
  /** The peer's maximum ACK delay (ms), added to the PTO. */
  peerMaxAckDelayMs: number;
  /** Initial packet reordering threshold (RFC 9002 kPacketThreshold = 3). */
  packetThreshold: number;
  /** Largest the adaptive packet threshold may grow to. */
  maxPacketThreshold: number;
  /** Cap on the PTO exponential backoff exponent. */
  maxPtoBackoff: number;
  /** Upper bound of one PTO interval (ms), after backoff. */
  maxPtoMs: number;
  /** An ACK frame with at least this many ranges may be truncated (the peer's piggyback cap, R-ACK-5). */
  truncatedAckRanges?: number;
}

/** What one ACK frame did to the sent packets. */
export interface AckOutcome<F> {
  /** Packets acknowledged for the first time, ascending packet number (includes spurious ones). */
  acked: SentPacket<F>[];
  /** Packets newly declared lost because of this ACK. */
  lost: SentPacket<F>[];
  /** Acknowledged packets that had been declared lost: spurious losses (R-LOSS-7). */
  spurious: SentPacket<F>[];
  /** Whether the largest acknowledged packet was new and gave an RTT sample. */
  rttSampled: boolean;
}

/**
 * Sent-packet tracking, RTT, loss detection by packet and time threshold (RFC 9002 §6.1, RACK RFC 8985) and the
 * probe timeout with capped exponential backoff (RFC 9002 §6.2). Pure: every entry point takes `nowMs`.
 *
 * Cost: packets live in a ring indexed by packet number, so an ACK touches only the slots its ranges cover and
 * loss detection only the packets it declares lost plus one (the oldest survivor sets the loss timer), instead
 * of every outstanding packet. That relies on send times that do not decrease with the packet number (any
 * monotonic clock); were one earlier than its predecessor's, every entry point falls back to full scans, with
 * the same results.
 */
export class LossDetection<F> {
  readonly rtt: RttEstimator;
  /** Packets not yet acknowledged, plus recently lost ones, by packet number. */
  private readonly tracked = new SentPacketRing<SentPacket<F>>();
  /** Lost packets still tracked, in the order declared (ascending packet number and send time when ordered). */
  private lostRecords: SentPacket<F>[] = [];
  private lostHead = 0;
  /** No packet below this number is unacknowledged and not lost: where loss detection starts. */
  private scanFromPn = 0;
  /** Whether every packet so far was sent no earlier than the one before it (see the class comment). */
  private sendTimesOrdered = true;
  private lastSentMs = Number.NEGATIVE_INFINITY;
  /** Largest packet number the peer acknowledged, -1 before any. */
  largestAcked = -1;
  /** Bytes of in-flight packets neither acknowledged nor declared lost. */
  bytesInFlight = 0;
  /** Ack-eliciting packets neither acknowledged nor lost. */
  ackElicitingInFlight = 0;
  /** Consecutive PTO expirations without an acknowledgement. */
  ptoCount = 0;
  /** Current adaptive reordering threshold in packets (RFC 8985 §6.2 style adaptation). */
  packetThreshold: number;
  /** Multiplier of the reordering time window, grown on spurious losses (RFC 8985 §7.2). */
  private reorderWindowMultiplier = 1;
  /** Losses left before the widened window falls back (RFC 8985 §7.2 `RACK.reo_wnd_persist`). */
  private reorderPersist = 0;
  /** Whether the path has been seen to reorder packets (RFC 8985 §6.2 `RACK.reord`). */
  reorderingSeen = false;
  private lastAckElicitingSentMs = Number.NEGATIVE_INFINITY;
  private lossTimeMs: number | undefined;
  /** Stats. */
  stats = { spuriousLosses: 0, lostPackets: 0, ptoCount: 0 };

  constructor(private readonly options: LossDetectionOptions) {
    this.rtt = new RttEstimator(options.initialRttMs);
    this.packetThreshold = options.packetThreshold;
  }

  /** RTT figures for the congestion controller. */
  ccRtt(): CcRtt {
    const r = this.rtt;
    return { latestRttMs: r.latestRttMs, smoothedRttMs: r.smoothedRttMs, minRttMs: r.minRttMs };
  }

  /** Records a sent packet (packet numbers must increase). */
  onPacketSent(packet: SentPacket<F>): void {
    if (packet.timeSentMs < this.lastSentMs) this.sendTimesOrdered = false;
    this.lastSentMs = packet.timeSentMs;
    this.tracked.push(packet);
    if (packet.inFlight) this.bytesInFlight += packet.sizeBytes;
    if (packet.ackEliciting) {
      this.ackElicitingInFlight++;
      this.lastAckElicitingSentMs = packet.timeSentMs;
    }
  }

  /** Number of packets tracked (outstanding and recently lost). */
  get trackedPackets(): number {
    return this.tracked.size;
  }

  /** Iterates outstanding packets that are neither acknowledged nor declared lost, oldest first. */
  *unacked(): Iterable<SentPacket<F>> {
    const ring = this.tracked;
    for (let pn = ring.oldestPacketNumber; pn < ring.endPacketNumber; pn++) {
      const p = ring.get(pn);
      if (p && !p.declaredLost) yield p;
    }
  }

  private removeFromFlight(p: SentPacket<F>): void {
    if (p.inFlight) this.bytesInFlight -= p.sizeBytes;
    if (p.ackEliciting) this.ackElicitingInFlight--;
  }

  /**
   * Processes one ACK frame (R-ACK-*, R-LOSS-*). `rangesDescending` are inclusive packet-number ranges,
   * largest first; `ackDelayMs` is the peer's reported delay, capped here at its max ack delay (R-RTT-2).
   */
  onAckReceived(
    nowMs: number,
    rangesDescending: readonly { smallest: number; largest: number }[],
    ackDelayMs: number,
  ): AckOutcome<F> {
    const outcome: AckOutcome<F> = { acked: [], lost: [], spurious: [], rttSampled: false };
    const first = rangesDescending[0];
    if (!first) return outcome;
    const ring = this.tracked;
    let largestNewlyAcked: SentPacket<F> | undefined;
    let anyAckEliciting = false;
    // Ranges ascending, each clipped to the tracked packet numbers: O(ranges + slots covered), ascending output.
    for (let r = rangesDescending.length - 1; r >= 0; r--) {
      const range = rangesDescending[r]!;
      const to = Math.min(range.largest, ring.endPacketNumber - 1);
      for (let pn = Math.max(range.smallest, ring.oldestPacketNumber); pn <= to; pn++) {
        const p = ring.get(pn);
        if (!p) continue;
        ring.remove(pn);
        outcome.acked.push(p);
        if (p.declaredLost) {
          outcome.spurious.push(p);
        } else {
          this.removeFromFlight(p);
          if (p.ackEliciting) anyAckEliciting = true;
        }
        largestNewlyAcked = p;
      }
    }
    // RFC 8985 §6.2: a packet newly acknowledged below the previous largest acknowledged arrived out of order.
    const firstAcked = outcome.acked[0];
    if (firstAcked && firstAcked.packetNumber < this.largestAcked && !firstAcked.declaredLost) {
      this.reorderingSeen = true;
    }
    if (first.largest > this.largestAcked) this.largestAcked = first.largest;
    // RTT sample: the largest acknowledged is newly acknowledged and something ack-eliciting was (RFC 9002 §5.1).
    if (largestNewlyAcked && largestNewlyAcked.packetNumber === first.largest && anyAckEliciting) {
      const ackDelay = Math.min(Math.max(ackDelayMs, 0), this.options.peerMaxAckDelayMs);
      this.rtt.update(nowMs - largestNewlyAcked.timeSentMs, ackDelay);
      outcome.rttSampled = true;
    }
    for (const p of outcome.spurious) this.onSpurious(p);
    if (outcome.acked.length > 0) this.ptoCount = 0; // RFC 9002 §6.2.1 (no handshake: always reset)
    outcome.lost = this.detectLosses(nowMs);
    // An ACK with as many ranges as the peer's piggyback cap may have been truncated (R-ACK-5).
    if (rangesDescending.length >= (this.options.truncatedAckRanges ?? Number.POSITIVE_INFINITY)) {
      const lowest = rangesDescending[rangesDescending.length - 1]!.smallest;
      for (const p of outcome.lost) p.lostBelowAckFrame = p.packetNumber < lowest;
    }
    return outcome;
  }

  private onSpurious(p: SentPacket<F>): void {
    this.stats.spuriousLosses++;
    // A packet below every range of its ACK may just not have been reported (truncated ACK): not reordering.
    if (p.lostBelowAckFrame) return;
    this.reorderingSeen = true;
    // R-LOSS-4, RFC 8985 §7.2: widen the reordering window; adapt the packet threshold to the reordering degree seen.
    this.reorderWindowMultiplier = Math.min(this.reorderWindowMultiplier + 1, 8);
    this.reorderPersist = reorderPersistLosses;
    if (p.lostByReorderDistance > 0) {
      this.packetThreshold = Math.min(
        Math.max(this.packetThreshold, p.lostByReorderDistance + 1),
        this.options.maxPacketThreshold,
      );
    }
  }

  /**
   * The time threshold (R-LOSS-3, RFC 8985 §6.2): the latest RTT plus a reordering window. The window is zero
   * until the path has been seen to reorder (then a packet sent before an acknowledged one is lost at once), and
   * min RTT / 4 × a multiplier grown by spurious losses afterwards, capped at the smoothed RTT.
   */
  private lossDelayMs(): number {
    const r = this.rtt;
    const reorder = this.reorderingSeen
      ? Math.min((r.minRttMs / 4) * this.reorderWindowMultiplier, r.smoothedRttMs)
      : 0;
    return Math.max(r.latestRttMs + reorder, this.options.granularityMs);
  }

  /**
   * Declares lost every unacknowledged packet sent before the largest acknowledged one that is either
   * `packetThreshold` packets older (R-LOSS-2) or older than the time threshold (R-LOSS-3). Also arms the
   * loss timer for the rest. Records of lost packets are kept for spurious-loss detection and pruned later.
   */
  detectLosses(nowMs: number): SentPacket<F>[] {
    const lost: SentPacket<F>[] = [];
    this.lossTimeMs = undefined;
    if (this.largestAcked < 0) return lost;
    const lossDelay = this.lossDelayMs();
    // Keep lost records for about 2 loss delays, for spurious-loss detection, then drop them.
    this.forgetLostSentBefore(nowMs - 4 * lossDelay - this.options.peerMaxAckDelayMs);
    const ring = this.tracked;
    const end = Math.min(this.largestAcked, ring.endPacketNumber);
    let pn = Math.max(this.scanFromPn, ring.oldestPacketNumber);
    // Nothing below the first unacknowledged, unlost packet needs looking at again.
    for (let p = ring.get(pn); pn < end && (!p || p.declaredLost); p = ring.get(++pn));
    this.scanFromPn = pn;
    for (; pn < end; pn++) {
      const p = ring.get(pn);
      if (!p || p.declaredLost) continue;
      const byCount = this.largestAcked - pn >= this.packetThreshold;
      // One expression for both the test and the timer, so float rounding cannot re-arm a past deadline.
      const lossAt = p.timeSentMs + lossDelay;
      if (byCount || lossAt <= nowMs) {
        p.declaredLost = true;
        // RFC 8985 §7.2: after enough losses with no spurious one among them the window and the packet threshold
        // fall back, so a burst of late acknowledgements (e.g. of packets FEC rebuilt) does not slow detection forever.
        if (this.reorderPersist > 0 && --this.reorderPersist === 0) {
          this.reorderWindowMultiplier = 1;
          this.packetThreshold = this.options.packetThreshold;
        }
        p.lostByReorderDistance = byCount ? this.largestAcked - pn : 0;
        this.removeFromFlight(p);
        lost.push(p);
        this.lostRecords.push(p);
        this.stats.lostPackets++;
        continue;
      }
      if (this.lossTimeMs === undefined || lossAt < this.lossTimeMs) this.lossTimeMs = lossAt;
      // Ordered send times: every later packet is younger and fewer packets behind, so none is lost yet, and
      // this one's deadline is the earliest.
      if (this.sendTimesOrdered) break;
    }
    return lost;
  }

  /** Stops tracking lost packets sent before `forgetBeforeMs` (and drops records of those since acknowledged). */
  private forgetLostSentBefore(forgetBeforeMs: number): void {
    const records = this.lostRecords;
    if (!this.sendTimesOrdered) {
      this.lostRecords = records.slice(this.lostHead).filter((p) => {
        if (this.tracked.get(p.packetNumber) !== p) return false;
        if (p.timeSentMs >= forgetBeforeMs) return true;
        this.tracked.remove(p.packetNumber);
        return false;
      });
      this.lostHead = 0;
      return;
    }
    // Ordered: lost records are declared oldest first, so the ones to forget are a prefix.
    let head = this.lostHead;
    while (head < records.length) {
      const p = records[head]!;
      const current = this.tracked.get(p.packetNumber) === p;
      if (current && p.timeSentMs >= forgetBeforeMs) break;
      if (current) this.tracked.remove(p.packetNumber);
      head++;
    }
    if (head === records.length) {
      // Usually already empty: setting `length` is a runtime call even then.
      if (records.length !== 0) records.length = 0;
      head = 0;
    } else if (head > 64 && head * 2 > records.length) {
      records.splice(0, head);
      head = 0;
    }
    this.lostHead = head;
  }

  /** Persistent congestion (R-LOSS-10, RFC 9002 §7.6.2): lost ack-eliciting packets spanning 3 PTOs, after an RTT sample. */
  isPersistentCongestion(lost: readonly SentPacket<F>[]): boolean {
    if (!this.rtt.hasSample || lost.length < 2) return false;
    const duration = this.rtt.ptoMs(this.options.peerMaxAckDelayMs, this.options.granularityMs) * 3;
    // RFC 9002 §7.6.2: the period counts only while no packet sent inside it was acknowledged — acknowledged
    // packets leave the ring, so a packet number between two lost ones with no record restarts the period.
    // Without this, one ACK after a quiet spell could declare two losses far apart "persistent" under random loss.
    let start: SentPacket<F> | undefined;
    let previous: SentPacket<F> | undefined;
    for (const p of lost) {
      if (!p.ackEliciting) continue;
      if (start === undefined || previous === undefined || !this.noneAckedBetween(previous, p)) start = p;
      previous = p;
      if (p.timeSentMs - start.timeSentMs >= duration) return true;
    }
    return false;
  }

  /** Whether every packet number strictly between `a` and `b` still has a record (none was acknowledged). */
  private noneAckedBetween(a: SentPacket<F>, b: SentPacket<F>): boolean {
    for (let pn = a.packetNumber + 1; pn < b.packetNumber; pn++) {
      if (this.tracked.get(pn) === undefined) return false;
    }
    return true;
  }

  /** Current PTO interval with capped exponential backoff (R-LOSS-5). */
  ptoIntervalMs(): number {
    const base = this.rtt.ptoMs(this.options.peerMaxAckDelayMs, this.options.granularityMs);
    const backoff = 2 ** Math.min(this.ptoCount, this.options.maxPtoBackoff);
    return Math.min(base * backoff, Math.max(this.options.maxPtoMs, base));
  }

  /** The loss-detection deadline: the time-threshold timer if armed, else the PTO; undefined when idle. */
  timerDeadlineMs(): number | undefined {
    if (this.lossTimeMs !== undefined) return this.lossTimeMs;
    if (this.ackElicitingInFlight === 0) return undefined;
    return this.lastAckElicitingSentMs + this.ptoIntervalMs();
  }

  /** Whether the deadline that fired was the loss timer (true) or the PTO (false). */
  isLossTimerArmed(): boolean {
    return this.lossTimeMs !== undefined;
  }

  /** A PTO fired: back off and let the connection send probes (R-LOSS-6). */
  onPtoFired(): void {
    this.ptoCount++;
    this.stats.ptoCount++;
  }

  /** Forgets everything outstanding (connection closed); returns the unacknowledged packets. */
  drain(): SentPacket<F>[] {
    const rest = [...this.unacked()];
    this.tracked.clear();
    this.lostRecords = [];
    this.lostHead = 0;
    this.bytesInFlight = 0;
    this.ackElicitingInFlight = 0;
    this.lossTimeMs = undefined;
    return rest;
  }
}
