/**
 * The loss detection as it was before the packet-number ring (commit 687ed2d): a plain array walked in full on
 * every ACK and every loss check. Kept only as the reference model the ring implementation is compared to.
 */
import type { CcRtt } from '../../src/protocol/cc/congestion-controller.ts';
import type { AckOutcome, LossDetectionOptions } from '../../src/protocol/recovery/loss-detection.ts';
import { RttEstimator } from '../../src/protocol/recovery/rtt-estimator.ts';
import type { SentPacket } from '../../src/protocol/recovery/sent-packet.ts';

/**
 * Sent-packet tracking, RTT, loss detection by packet and time threshold (RFC 9002 §6.1, RACK RFC 8985) and the
 * probe timeout with capped exponential backoff (RFC 9002 §6.2). Pure: every entry point takes `nowMs`.
 */
export class ReferenceLossDetection<F> {
  readonly rtt: RttEstimator;
  /** Packets not yet acknowledged, plus recently lost ones, ascending packet number. */
  private outstanding: SentPacket<F>[] = [];
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
    this.outstanding.push(packet);
    if (packet.inFlight) this.bytesInFlight += packet.sizeBytes;
    if (packet.ackEliciting) {
      this.ackElicitingInFlight++;
      this.lastAckElicitingSentMs = packet.timeSentMs;
    }
  }

  /** Number of packets tracked (outstanding and recently lost). */
  get trackedPackets(): number {
    return this.outstanding.length;
  }

  /** Iterates outstanding packets that are neither acknowledged nor declared lost, oldest first. */
  *unacked(): Iterable<SentPacket<F>> {
    for (const p of this.outstanding) if (!p.declaredLost) yield p;
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
    const list = this.outstanding;
    let keep = 0;
    let rangeIndex = rangesDescending.length - 1;
    let largestNewlyAcked: SentPacket<F> | undefined;
    let anyAckEliciting = false;
    // Walk outstanding ascending and ranges ascending together: O(outstanding + ranges).
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      let range = rangesDescending[rangeIndex];
      while (range && range.largest < p.packetNumber) range = rangesDescending[--rangeIndex];
      if (range && range.smallest <= p.packetNumber) {
        outcome.acked.push(p);
        if (p.declaredLost) {
          outcome.spurious.push(p);
        } else {
          this.removeFromFlight(p);
          if (p.ackEliciting) anyAckEliciting = true;
        }
        if (!largestNewlyAcked || p.packetNumber > largestNewlyAcked.packetNumber) largestNewlyAcked = p;
        continue;
      }
      list[keep++] = p;
    }
    list.length = keep;
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
    this.reorderPersist = 16;
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
    const forgetBefore = nowMs - 4 * lossDelay - this.options.peerMaxAckDelayMs;
    const list = this.outstanding;
    let keep = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (p.declaredLost) {
        if (p.timeSentMs >= forgetBefore) list[keep++] = p;
        continue;
      }
      if (p.packetNumber < this.largestAcked) {
        const byCount = this.largestAcked - p.packetNumber >= this.packetThreshold;
        // One expression for both the test and the timer, so float rounding cannot re-arm a past deadline.
        const lossAt = p.timeSentMs + lossDelay;
        if (byCount || lossAt <= nowMs) {
          p.declaredLost = true;
          if (this.reorderPersist > 0 && --this.reorderPersist === 0) {
            this.reorderWindowMultiplier = 1;
            this.packetThreshold = this.options.packetThreshold;
          }
          p.lostByReorderDistance = byCount ? this.largestAcked - p.packetNumber : 0;
          this.removeFromFlight(p);
          lost.push(p);
          this.stats.lostPackets++;
          list[keep++] = p;
          continue;
        }
        if (this.lossTimeMs === undefined || lossAt < this.lossTimeMs) this.lossTimeMs = lossAt;
      }
      list[keep++] = p;
    }
    list.length = keep;
    return lost;
  }

  /** Persistent congestion (R-LOSS-10, RFC 9002 §7.6.2): lost ack-eliciting packets spanning 3 PTOs, after an RTT sample. */
  isPersistentCongestion(lost: readonly SentPacket<F>[]): boolean {
    if (!this.rtt.hasSample || lost.length < 2) return false;
    const duration = this.rtt.ptoMs(this.options.peerMaxAckDelayMs, this.options.granularityMs) * 3;
    // The period restarts at any acknowledged packet between two lost ones (acknowledged = no longer outstanding).
    const held = new Set(this.outstanding.map((p) => p.packetNumber));
    let start: SentPacket<F> | undefined;
    let previous: SentPacket<F> | undefined;
    for (const p of lost) {
      if (!p.ackEliciting) continue;
      let unbroken = start !== undefined && previous !== undefined;
      for (let pn = (previous?.packetNumber ?? 0) + 1; unbroken && pn < p.packetNumber; pn++)
        unbroken = held.has(pn);
      if (!unbroken || start === undefined) start = p;
      previous = p;
      if (p.timeSentMs - start.timeSentMs >= duration) return true;
    }
    return false;
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
    const rest = this.outstanding.filter((p) => !p.declaredLost);
    this.outstanding = [];
    this.bytesInFlight = 0;
    this.ackElicitingInFlight = 0;
    this.lossTimeMs = undefined;
    return rest;
  }
}
