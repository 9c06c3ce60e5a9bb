import type { OutgoingFragment } from '../channel/outgoing-message.ts';
import type { ConnectionConfig } from '../connection-config.ts';

/** Weight of one packet outcome in the loss-rate estimate. */
const lossEwmaWeight = 1 / 32;
/** Loss rate assumed before any feedback. */
const initialLossEstimate = 0.1;
/** Copies of one fragment are at least this far apart (ms), so one short burst does not take them all. */
const minCopySpacingMs = 2;
/** Small fragments aim at this fraction of the residual-loss target (their copies are cheap), R-LOSS-8. */
const smallResidualFactor = 1 / 2;
/** Most fragments tracked as candidates. */
const maxCandidates = 256;
/** What {@link RedundancyPlanner.overdue} and {@link RedundancyPlanner.candidates} give with nothing tracked. */
const noFragments: readonly OutgoingFragment[] = [];

/** Extra copies wanted by small and by large fragments at the current loss estimate. */
interface ExtraCopies {
  small: number;
  large: number;
}

/**
 * Thin-stream redundancy (spec §6.5, R-LOSS-8): small unacknowledged fragments are copied into later packets
 * that have room, so a loss is repaired by the next packet instead of a round trip later. The number of copies
 * follows the measured loss rate (enough that all copies are lost with probability below a target), copies stop
 * once the fragment is acknowledged or old enough for loss detection to take over, and the copied bytes stay
 * within a budget relative to the payload sent.
 */
export class RedundancyPlanner {
  /** EWMA of the packet loss rate from ACK feedback. */
  lossEstimate = initialLossEstimate;
  /**
   * Tracked fragments, oldest first: the live ones are `[candidatesHead, length)`, so eviction needs no shift
   * (an evicted slot is cleared; the dead prefix is cut once it reaches `maxCandidates`).
   */
  private candidatesList: (OutgoingFragment | undefined)[] = [];
  private candidatesHead = 0;
  /**
   * Each candidate's `lastRealSendMs` when it was tracked, parallel to `candidatesList` (same head). While real sends come in
   * time order these are nondecreasing and no candidate was last really sent before it was tracked, so the
   * deadline scans stop at the first candidate tracked too late to matter.
   */
  private trackedAtMs: number[] = [];
  /** Latest `lastRealSendMs` given so far, and whether they all came in time order (else: full scans). */
  private latestRealSendMs = Number.NEGATIVE_INFINITY;
  private realSendsInOrder = true;
  private payloadBytes = 0;
  private copyBytes = 0;
  /** Memo of `Math.log` of the clamped loss estimate, asked for several times per packet: its input and value. */
  private logLossOf = Number.NaN;
  private logLoss = 0;

  constructor(private readonly config: Readonly<ConnectionConfig>) {}

  /**
   * Extra copies a fragment gets at the current loss estimate (R-LOSS-8): enough that all its transmissions are
   * lost with probability below the residual target — `redundancyTargetResidualLoss` for large fragments, half
   * of it for small ones, whose copies ride in spare room and cost a fraction of a packet.
   */
  targetExtraCopies(small = false): number {
    const p = Math.min(Math.max(this.lossEstimate, 0.001), 0.9);
    const target = this.config.redundancyTargetResidualLoss * (small ? smallResidualFactor : 1);
    if (p !== this.logLossOf) {
      this.logLossOf = p;
      this.logLoss = Math.log(p);
    }
    const total = Math.ceil(Math.log(target) / this.logLoss);
    return Math.max(0, Math.min(total - 1, this.config.redundancyMaxExtraCopies));
  }

  /** A packet was acknowledged: one sample of "not lost". */
  onPacketAcked(): void {
    this.lossEstimate += (0 - this.lossEstimate) * lossEwmaWeight;
  }

  /** A packet was declared lost. */
  onPacketLost(): void {
    this.lossEstimate += (1 - this.lossEstimate) * lossEwmaWeight;
  }

  /** A fragment went out for the first time. */
  onFirstSent(fragment: OutgoingFragment): void {
    this.payloadBytes += fragment.length;
    this.setRealSend(fragment);
    this.track(fragment);
  }

  /** A lost fragment was retransmitted: it earns a fresh set of copies. */
  onRetransmitted(fragment: OutgoingFragment): void {
    fragment.copies = 0;
    this.setRealSend(fragment);
    this.track(fragment);
  }

  private setRealSend(fragment: OutgoingFragment): void {
    const atMs = fragment.lastSentMs;
    fragment.lastRealSendMs = atMs;
    if (!(atMs >= this.latestRealSendMs)) this.realSendsInOrder = false;
    else this.latestRealSendMs = atMs;
  }

  /** A redundant copy of `fragment` was sent. */
  onCopySent(fragment: OutgoingFragment): void {
    fragment.copies++;
    this.copyBytes += fragment.length;
  }

  private track(fragment: OutgoingFragment): void {
    if (
      this.config.redundancyMaxFragmentBytes <= 0 ||
      fragment.length > this.config.redundancyMaxFragmentBytes
    )
      return;
    if (fragment.tracked) return; // a retransmitted fragment is already listed
    const list = this.candidatesList;
    if (list.length - this.candidatesHead >= maxCandidates) {
      const dropped = list[this.candidatesHead];
      list[this.candidatesHead++] = undefined;
      if (dropped) dropped.tracked = false;
      if (this.candidatesHead >= maxCandidates) {
        list.splice(0, this.candidatesHead);
        this.trackedAtMs.splice(0, this.candidatesHead);
        this.candidatesHead = 0;
      }
    }
    fragment.tracked = true;
    this.candidatesList.push(fragment);
    this.trackedAtMs.push(fragment.lastRealSendMs);
  }

  /** The live candidates, oldest first (a copy). */
  private live(): OutgoingFragment[] {
    const list = this.candidatesList;
    const live: OutgoingFragment[] = [];
    for (let i = this.candidatesHead; i < list.length; i++) live.push(list[i]!);
    return live;
  }

  /** Drops fragments that need no more attention (acknowledged). */
  private prune(): void {
    const list = this.candidatesList;
    const trackedAt = this.trackedAtMs;
    let keep = this.candidatesHead;
    for (let i = keep; i < list.length; i++) {
      const f = list[i]!;
      if (f.acked) {
        f.tracked = false;
      } else if (keep++ !== i) {
        // no store while nothing was dropped
        list[keep - 1] = f;
        trackedAt[keep - 1] = trackedAt[i]!;
      }
    }
    if (keep !== list.length) {
      list.length = keep;
      trackedAt.length = keep;
    }
  }

  /** Extra copies wanted now by small and by large fragments. */
  private extraCopies(): ExtraCopies {
    return { small: this.targetExtraCopies(true), large: this.targetExtraCopies() };
  }

  /** Whether copies may be sent at all: redundancy wanted at this loss rate and the byte budget not spent. */
  private copiesAllowed(): boolean {
    return (
      this.targetExtraCopies(true) > 0 &&
      this.copyBytes <= this.config.redundancyBudgetRatio * this.payloadBytes
    );
  }

  /** Whether `f` may get another copy (spacing aside): unacknowledged, short of copies, younger than one RTT. */
  private wantsCopy(f: OutgoingFragment, nowMs: number, smoothedRttMs: number, extra: ExtraCopies): boolean {
    // A large fragment's copy costs a packet of its own: at most `redundancyMaxExtraCopiesLarge` of them.
    const large = f.length > this.config.redundancySmallFragmentBytes;
    const cap = large ? Math.min(extra.large, this.config.redundancyMaxExtraCopiesLarge) : extra.small;
    // Deadline messages (finite expiry) get no proactive copies: media relies on FEC and timely repair (R-PR-3).
    if (f.message.expiresAtMs !== Number.POSITIVE_INFINITY) return false;
    return !f.acked && f.copies < cap && !f.queuedForRetransmit && nowMs - f.lastRealSendMs <= smoothedRttMs;
  }

  /**
   * Fragments worth a copy now, oldest first (R-LOSS-8): those that want one and were last sent at least the
   * copy spacing ago, while the byte budget lasts.
   */
  candidates(nowMs: number, smoothedRttMs: number): Iterable<OutgoingFragment> {
    // Nothing tracked (bulk transfer): no generator per packet.
    if (this.candidatesList.length === this.candidatesHead) return noFragments;
    return this.eligible(nowMs, smoothedRttMs);
  }

  private *eligible(nowMs: number, smoothedRttMs: number): Iterable<OutgoingFragment> {
    this.prune();
    if (!this.copiesAllowed()) return;
    const extra = this.extraCopies();
    const yielded = this.live().filter(
      (f) => this.wantsCopy(f, nowMs, smoothedRttMs, extra) && nowMs - f.lastSentMs >= minCopySpacingMs,
    );
    for (const f of yielded) {
      if (!this.copiesAllowed()) return;
      yield f;
    }
  }

  /**
   * When the first copy of a fresh small fragment is due as a packet of its own (R-LOSS-11): `copyDelayMs` after
   * its transmission, unless a packet going out earlier carried the copy. Undefined when no copy is owed. Uses
   * the same eligibility as {@link candidates}, so a copy packet built at that time always carries a copy.
   */
  copyDueMs(nowMs: number, smoothedRttMs: number, copyDelayMs: number): number | undefined {
    if (!this.copiesAllowed()) return undefined;
    const extra = this.extraCopies();
    let t: number | undefined;
    const list = this.candidatesList;
    for (let i = this.candidatesHead; i < list.length; i++) {
      const f = list[i]!;
      // A small fragment's later copies ride in other packets; only its first copy may need a packet of its own.
      if (!this.wantsCopy(f, nowMs, smoothedRttMs, extra)) continue;
      if (f.copies > 0 && f.length <= this.config.redundancySmallFragmentBytes) continue;
      const at = Math.max(f.lastRealSendMs + copyDelayMs * (f.copies + 1), f.lastSentMs + minCopySpacingMs);
      if (t === undefined || at < t) t = at;
    }
    return t;
  }

  /**
   * The thin-stream retransmission deadline (spec §6.5, R-LOSS-9): the earliest time a small fragment's last real
   * transmission becomes older than `thinRtoMs` without an acknowledgement. Unlike the PTO, which restarts with
   * every packet sent, this runs per fragment, so a steady trickle of new messages cannot postpone recovery.
   */
  nextDeadlineMs(thinRtoMs: number): number | undefined {
    const list = this.candidatesList;
    const trackedAt = this.trackedAtMs;
    const ordered = this.realSendsInOrder;
    // The earliest last real send; adding thinRtoMs afterwards gives the same sum (rounding is monotonic).
    let earliest: number | undefined;
    for (let i = this.candidatesHead; i < list.length; i++) {
      // Every later candidate was tracked, hence last really sent, no earlier than this one was tracked.
      if (ordered && earliest !== undefined && trackedAt[i]! >= earliest) break;
      const f = list[i]!;
      if (f.acked || f.queuedForRetransmit) continue;
      if (earliest === undefined || f.lastRealSendMs < earliest) earliest = f.lastRealSendMs;
    }
    return earliest === undefined ? undefined : earliest + thinRtoMs;
  }

  /** Small fragments overdue at `nowMs` (see {@link nextDeadlineMs}); the caller queues them for retransmission. */
  overdue(nowMs: number, thinRtoMs: number): readonly OutgoingFragment[] {
    if (this.candidatesList.length === this.candidatesHead) return noFragments;
    this.prune();
    const list = this.candidatesList;
    const trackedAt = this.trackedAtMs;
    const ordered = this.realSendsInOrder;
    let due: OutgoingFragment[] | undefined;
    for (let i = this.candidatesHead; i < list.length; i++) {
      // Later candidates were last really sent no earlier than this one was tracked: none of them is due either.
      if (ordered && trackedAt[i]! + thinRtoMs > nowMs) break;
      const f = list[i]!;
      if (!f.queuedForRetransmit && f.lastRealSendMs + thinRtoMs <= nowMs) {
        if (due === undefined) due = [];
        due.push(f);
      }
    }
    return due ?? noFragments;
  }
}
