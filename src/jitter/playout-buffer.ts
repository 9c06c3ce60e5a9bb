import { seqDiff32 } from '../protocol/wire/seq.ts';
import { DelayHistogram } from './delay-histogram.ts';
import { PlayoutUsageError } from './errors.ts';
import { FrameQueue } from './frame-queue.ts';
import { InterarrivalJitter } from './interarrival-jitter.ts';
import {
  type PlayoutOptions,
  type ResolvedPlayoutOptions,
  resolvePlayoutOptions,
} from './playout-options.ts';
import type { PlayoutEvent, PlayoutFrame, PlayoutStats } from './playout-types.ts';
import { SlidingMin } from './sliding-min.ts';
import { TargetDelay } from './target-delay.ts';

/** What {@link PlayoutBuffer.push} did with a frame. */
export type PushOutcome =
  /** Held until its playout time. */
  | 'buffered'
  /** Replaced the incomplete frame held for the same sequence. */
  | 'replaced'
  /** Dropped: it arrived after its playout time or its slot (counted in `lateDrops`, R-PLAY-5). */
  | 'late'
  /** Dropped: the same sequence is held complete or was played (counted in `duplicates`, R-PLAY-8). */
  | 'duplicate'
  /** Dropped: invalid fields or a sequence too far from the stream's (counted in `invalidFrames`, R-PLAY-9). */
  | 'invalid'
  /** Held, then dropped at once as the oldest of a full buffer (counted in `overflowDrops`, R-PLAY-10). */
  | 'overflow';

/** A buffered frame with its schedule, fixed when it was first pushed (R-PLAY-3). */
interface Slot {
  readonly sequence: number;
  readonly frame: PlayoutFrame;
  readonly complete: boolean;
  /** capture + offset estimate + target delay, in the receiver's clock. */
  readonly playoutAtMs: number;
  /** capture + (known clock offset, else offset estimate) + maxDelayMs: never played later (R-PLAY-4). */
  readonly deadlineAtMs: number;
  /** The offset through which `playoutDelayMs` maps the playout instant back to the sender's clock. */
  readonly senderOffsetMs: number;
}

/** Slots remembered behind the playout point to tell a duplicate of a played frame from a late one. */
const historySlots = 1024;
/** Largest spread of sequence numbers held at once (keeps serial-number order total, R-WIRE-4). */
const maxSequenceSpan = 2 ** 30;
/** Transit samples the offset estimate keeps at most (its window is normally far fewer frames). */
const maxOffsetSamples = 4096;

/**
 * A playout (jitter) buffer for the timestamped frames of one media stream (spec §12.2): frames play at their
 * capture time mapped into the receiver's clock plus an adaptive target delay, strictly in sequence order, each
 * at most once, never before their playout time and never after their deadline; a slot with nothing playable
 * yields a concealment event. Pure and sans-IO: time is the `nowMs` argument (non-decreasing, any epoch).
 *
 * Call order: `push(now, frame)` for every frame that arrives; then, and whenever the instant given by
 * `nextTimeout()` comes, call `pop(now)` until it returns undefined; re-arm the one timer at `nextTimeout()`.
 */
export class PlayoutBuffer {
  private readonly options: ResolvedPlayoutOptions;
  private readonly queue = new FrameQueue<Slot>();
  private readonly offset: SlidingMin;
  /** The quantile estimator of R-PLAY-2 (undefined with `delayEstimator: 'rfc3550'`). */
  private readonly histogram: DelayHistogram | undefined;
  /** RFC 3550 jitter, kept in both modes (a statistic); the estimator of R-PLAY-11 with `rfc3550`. */
  private readonly interarrival: InterarrivalJitter;
  private readonly target: TargetDelay;
  /** history[s mod historySlots] = s when slot s was played, −1 otherwise. */
  private readonly history = new Float64Array(historySlots).fill(-1);
  private lastNowMs = Number.NEGATIVE_INFINITY;
  /** The next slot to play; undefined until the first slot leaves (until then the earliest frame held starts). */
  private nextSequence: number | undefined;
  /** The playout instant of the last slot that left. */
  private lastSlotAtMs = Number.NEGATIVE_INFINITY;
  private readonly counters = {
    framesPushed: 0,
    framesPlayed: 0,
    lateDrops: 0,
    duplicates: 0,
    concealed: 0,
    overflowDrops: 0,
    invalidFrames: 0,
    replaced: 0,
    skipped: 0,
  };

  /** Creates a buffer; throws {@link PlayoutUsageError} (`invalid-option`) on bad options. */
  constructor(options: PlayoutOptions) {
    this.options = resolvePlayoutOptions(options);
    const o = this.options;
    this.offset = new SlidingMin(o.offsetWindowMs, maxOffsetSamples);
    this.histogram =
      o.delayEstimator === 'histogram'
        ? new DelayHistogram(o.bucketMs, o.maxDelayMs, o.forgetFactor)
        : undefined;
    this.interarrival = new InterarrivalJitter(o.quantile);
    this.target = new TargetDelay(this.clampMeasured(o.initialDelayMs), o.decreaseTimeConstantMs);
  }

  /**
   * Offers a frame that arrived at `nowMs` (receiver clock). Never throws on the frame's content: an invalid,
   * duplicate, late or overflowing frame is dropped and counted. Throws {@link PlayoutUsageError} when `nowMs`
   * is not finite or goes backwards.
   */
  push(nowMs: number, frame: PlayoutFrame): PushOutcome {
    this.advanceTime(nowMs);
    this.counters.framesPushed++;
    if (!isValidFrame(frame)) return this.drop('invalidFrames', 'invalid');
    const sequence = frame.sequence;
    const complete = frame.complete !== false;
    if (this.nextSequence !== undefined && seqDiff32(sequence, this.nextSequence) < 0) {
      // The slot has passed (R-PLAY-5, R-PLAY-8).
      if (this.wasPlayed(sequence)) return this.drop('duplicates', 'duplicate');
      if (complete) this.measure(nowMs, frame.captureTimeMs);
      return this.drop('lateDrops', 'late');
    }
    if (!this.fitsSequenceSpan(sequence)) return this.drop('invalidFrames', 'invalid');
    const held = this.queue.get(sequence);
    if (held?.complete) return this.drop('duplicates', 'duplicate');
    // Every complete arrival measures the delay, late ones included (R-PLAY-1, R-PLAY-2).
    if (complete) this.measure(nowMs, frame.captureTimeMs);
    const slot = held === undefined ? this.schedule(nowMs, frame, complete) : { ...held, frame, complete };
    if (nowMs > slot.playoutAtMs) return this.drop('lateDrops', 'late');
    this.queue.set(slot);
    if (held !== undefined) {
      this.counters.replaced++;
      return 'replaced';
    }
    if (this.queue.size > this.options.maxBufferedFrames) {
      const dropped = this.queue.shift()!;
      this.counters.overflowDrops++;
      if (dropped === slot) return 'overflow';
    }
    return 'buffered';
  }

  /**
   * The next slot whose playout instant is at or before `nowMs`: a frame, or a concealment event for a slot
   * with nothing playable; undefined when nothing is due. Call until undefined. Throws
   * {@link PlayoutUsageError} when `nowMs` is not finite or goes backwards.
   */
  pop(nowMs: number): PlayoutEvent | undefined {
    this.advanceTime(nowMs);
    const due = this.peek();
    if (due === undefined || nowMs < due.atMs) return undefined;
    this.lastSlotAtMs = due.atMs;
    if (due.gap) {
      const sequence = this.nextSequence!;
      this.leave(sequence, false);
      this.counters.concealed++;
      return { kind: 'conceal', sequence, reason: 'missing' };
    }
    const slot = this.queue.shift()!;
    if (this.nextSequence !== undefined) {
      // A gap longer than maxConcealGapFrames is skipped without events (R-PLAY-7).
      this.counters.skipped += Math.max(0, seqDiff32(slot.sequence, this.nextSequence));
    }
    const reason = !slot.complete ? 'incomplete' : nowMs > slot.deadlineAtMs ? 'expired' : undefined;
    this.leave(slot.sequence, reason === undefined);
    if (reason !== undefined) {
      if (reason === 'expired') this.counters.lateDrops++;
      this.counters.concealed++;
      return { kind: 'conceal', sequence: slot.sequence, reason };
    }
    this.counters.framesPlayed++;
    return {
      kind: 'frame',
      frame: slot.frame,
      playoutAtMs: due.atMs,
      playoutDelayMs: due.atMs - slot.frame.captureTimeMs - slot.senderOffsetMs,
    };
  }

  /**
   * The playout instant of the next slot (receiver clock), or undefined when nothing is held. It may be in the
   * past: then `pop` has something now. A missing slot's instant is interpolated between the last slot that
   * left and the next frame held (R-PLAY-6).
   */
  nextTimeout(): number | undefined {
    return this.peek()?.atMs;
  }

  /** The target delay now: ms beyond the fastest transit, after clamping (R-PLAY-2, R-PLAY-3). */
  get targetDelayMs(): number {
    return this.clampedTarget(this.offset.min);
  }

  /** A snapshot of the counters and estimates. */
  get stats(): PlayoutStats {
    return {
      ...this.counters,
      bufferedFrames: this.queue.size,
      currentTargetDelayMs: this.targetDelayMs,
      clockOffsetEstimateMs: this.offset.min,
      interarrivalJitterMs: this.interarrival.jitterMs,
    };
  }

  /** Fixes a new frame's playout time and deadline (R-PLAY-3, R-PLAY-4). */
  private schedule(nowMs: number, frame: PlayoutFrame, complete: boolean): Slot {
    // An incomplete first frame has no sample yet: its own transit stands in for the estimate.
    const offsetMs = this.offset.min ?? nowMs - frame.captureTimeMs;
    const senderOffsetMs = this.options.clockOffsetMs ?? offsetMs;
    return {
      sequence: frame.sequence,
      frame,
      complete,
      playoutAtMs: frame.captureTimeMs + offsetMs + this.clampedTarget(offsetMs),
      deadlineAtMs: frame.captureTimeMs + senderOffsetMs + this.options.maxDelayMs,
      senderOffsetMs,
    };
  }

  /** Records one transit sample: offset estimate, delay quantile, target (R-PLAY-1..3, R-PLAY-11). */
  private measure(nowMs: number, captureTimeMs: number): void {
    const transitMs = nowMs - captureTimeMs;
    const offsetMs = this.offset.add(nowMs, transitMs);
    this.interarrival.add(transitMs, transitMs - offsetMs);
    let quantileMs: number;
    if (this.histogram === undefined) {
      quantileMs = this.interarrival.estimateMs()!;
    } else {
      this.histogram.add(transitMs - offsetMs);
      quantileMs = this.histogram.quantile(this.options.quantile)!;
    }
    this.target.update(nowMs, this.clampMeasured(quantileMs));
  }

  private clampMeasured(delayMs: number): number {
    return Math.min(Math.max(delayMs, this.options.minDelayMs), this.options.maxDelayMs);
  }

  /**
   * The target within its bounds. With a known clock offset the offset estimate minus it is the path's minimum
   * one-way delay, which the deadline must also cover (R-PLAY-4); the deadline wins over `minDelayMs`.
   */
  private clampedTarget(offsetMs: number | undefined): number {
    const { clockOffsetMs, maxDelayMs, minDelayMs } = this.options;
    const pathDelayMs =
      clockOffsetMs === undefined || offsetMs === undefined ? 0 : Math.max(0, offsetMs - clockOffsetMs);
    return Math.min(Math.max(this.target.ms, minDelayMs), maxDelayMs - pathDelayMs);
  }

  /** The next slot to leave and its playout instant, without changing anything. */
  private peek(): { atMs: number; gap: boolean } | undefined {
    const head = this.queue.first;
    if (head === undefined) return undefined;
    const headAtMs = Math.max(head.playoutAtMs, this.lastSlotAtMs);
    if (this.nextSequence !== undefined) {
      const gap = seqDiff32(head.sequence, this.nextSequence);
      if (gap > 0 && gap <= this.options.maxConcealGapFrames) {
        // Missing slots are spread evenly between the last slot that left and the head (R-PLAY-6).
        return { atMs: this.lastSlotAtMs + (headAtMs - this.lastSlotAtMs) / (gap + 1), gap: true };
      }
    }
    return { atMs: headAtMs, gap: false };
  }

  /** Moves the playout point past `sequence`. */
  private leave(sequence: number, played: boolean): void {
    this.history[sequence % historySlots] = played ? sequence : -1;
    this.nextSequence = (sequence + 1) >>> 0;
  }

  private wasPlayed(sequence: number): boolean {
    if (this.nextSequence === undefined || seqDiff32(this.nextSequence, sequence) > historySlots)
      return false;
    return this.history[sequence % historySlots] === sequence;
  }

  /** Whether holding `sequence` keeps every held sequence (and the playout point) within {@link maxSequenceSpan}. */
  private fitsSequenceSpan(sequence: number): boolean {
    const low = this.nextSequence ?? this.queue.first?.sequence;
    if (low === undefined) return true;
    const high = this.queue.last?.sequence ?? low;
    const from = seqDiff32(sequence, low) < 0 ? sequence : low;
    const to = seqDiff32(sequence, high) > 0 ? sequence : high;
    const span = seqDiff32(to, from);
    return span >= 0 && span <= maxSequenceSpan;
  }

  private drop(counter: 'invalidFrames' | 'duplicates' | 'lateDrops', outcome: PushOutcome): PushOutcome {
    this.counters[counter]++;
    return outcome;
  }

  private advanceTime(nowMs: number): void {
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
      throw new PlayoutUsageError('invalid-time', `nowMs must be a finite number (got ${String(nowMs)})`);
    }
    if (nowMs < this.lastNowMs) {
      throw new PlayoutUsageError('time-backwards', `nowMs ${nowMs} is before ${this.lastNowMs}`);
    }
    this.lastNowMs = nowMs;
  }
}

/** Whether a pushed value has the shape of a {@link PlayoutFrame} (R-PLAY-9). */
function isValidFrame(frame: unknown): frame is PlayoutFrame {
  if (typeof frame !== 'object' || frame === null) return false;
  const f = frame as Partial<Record<keyof PlayoutFrame, unknown>>;
  return (
    typeof f.sequence === 'number' &&
    Number.isInteger(f.sequence) &&
    f.sequence >= 0 &&
    f.sequence <= 0xffff_ffff &&
    typeof f.captureTimeMs === 'number' &&
    Number.isFinite(f.captureTimeMs) &&
    f.payload instanceof Uint8Array &&
    (f.complete === undefined || typeof f.complete === 'boolean')
  );
}
