import type { OutgoingFragment } from '../channel/outgoing-message.ts';
import type { ConnectionConfig } from '../connection-config.ts';

/** Weight of one packet outcome in the loss-rate estimate. */
const lossEwmaWeight = 1 / 32;
/** Loss rate assumed before any feedback. */
const initialLossEstimate = 0.1;
/** Copies of one fragment are at least this far apart (ms), so one short burst does not take them all. */
const minCopySpacingMs = 2;
/** Most fragments tracked as candidates. */
const maxCandidates = 256;

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
  private candidatesList: OutgoingFragment[] = [];
  private payloadBytes = 0;
  private copyBytes = 0;

  constructor(private readonly config: Readonly<ConnectionConfig>) {}

  /** Extra copies each small fragment gets at the current loss estimate. */
  targetExtraCopies(): number {
    const p = Math.min(Math.max(this.lossEstimate, 0.001), 0.9);
    const total = Math.ceil(Math.log(this.config.redundancyTargetResidualLoss) / Math.log(p));
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
    fragment.lastRealSendMs = fragment.lastSentMs;
    this.track(fragment);
  }

  /** A lost fragment was retransmitted: it earns a fresh set of copies. */
  onRetransmitted(fragment: OutgoingFragment): void {
    fragment.copies = 0;
    fragment.lastRealSendMs = fragment.lastSentMs;
    this.track(fragment);
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
    if (this.candidatesList.length >= maxCandidates) this.candidatesList.shift();
    this.candidatesList.push(fragment);
  }

  /**
   * Fragments worth a copy now, oldest first. A fragment qualifies while unacknowledged, short of its copies,
   * spaced from its last send, and younger than one smoothed RTT (after that, loss detection decides).
   */
  *candidates(nowMs: number, smoothedRttMs: number): Iterable<OutgoingFragment> {
    const extra = this.targetExtraCopies();
    const list = this.candidatesList;
    let keep = 0;
    const yielded: OutgoingFragment[] = [];
    for (let i = 0; i < list.length; i++) {
      const f = list[i]!;
      if (f.acked || f.copies >= extra || nowMs - f.lastRealSendMs > smoothedRttMs) continue;
      list[keep++] = f;
      if (nowMs - f.lastSentMs >= minCopySpacingMs) yielded.push(f);
    }
    list.length = keep;
    for (const f of yielded) {
      if (this.copyBytes > this.config.redundancyBudgetRatio * this.payloadBytes) return;
      yield f;
    }
  }
}
