/** One media frame as given to {@link PlayoutBuffer.push} (spec §12.2). */
export interface PlayoutFrame {
  /** The frame's 32-bit sequence number (an integer in [0, 2^32)); compared with serial arithmetic (R-WIRE-4). */
  readonly sequence: number;
  /** When the frame was captured, in milliseconds of the SENDER's clock (any epoch). */
  readonly captureTimeMs: number;
  /** The frame's bytes; the buffer neither reads nor copies them. */
  readonly payload: Uint8Array;
  /**
   * False when only part of the frame has arrived (default true). An incomplete frame holds its slot and is
   * replaced by a later push of the same sequence; still incomplete at its playout time, it is concealed (R-PLAY-6).
   */
  readonly complete?: boolean;
}

/** Why a slot produced a concealment event instead of a frame (R-PLAY-6). */
export type ConcealReason =
  /** No frame with this sequence arrived in time. */
  | 'missing'
  /** The frame was still incomplete at its playout time. */
  | 'incomplete'
  /** The frame was due, but `pop` was called after its deadline (counted in `lateDrops`). */
  | 'expired';

/** A frame whose playout time has come, returned by {@link PlayoutBuffer.pop}. */
export interface PlayoutFrameEvent {
  /** Discriminant. */
  readonly kind: 'frame';
  /** The frame as pushed. */
  readonly frame: PlayoutFrame;
  /** The frame's playout instant (receiver clock): its scheduled time, or the previous slot's if that was later. */
  readonly playoutAtMs: number;
  /**
   * Playout instant − capture time in the sender's clock, through the clock offset (`clockOffsetMs` when
   * given, otherwise the offset estimate, which leaves out the path's minimum one-way delay).
   */
  readonly playoutDelayMs: number;
}

/** A slot that has no playable frame at its playout time: the application conceals it (R-PLAY-6). */
export interface PlayoutConcealEvent {
  /** Discriminant. */
  readonly kind: 'conceal';
  /** The sequence number of the slot. */
  readonly sequence: number;
  /** Why the slot has no frame. */
  readonly reason: ConcealReason;
}

/** What {@link PlayoutBuffer.pop} returns when something is due. */
export type PlayoutEvent = PlayoutFrameEvent | PlayoutConcealEvent;

/** Counters and estimates of a {@link PlayoutBuffer}. */
export interface PlayoutStats {
  /** Frames given to `push` (valid or not, duplicates included). */
  framesPushed: number;
  /** Frames returned by `pop`. */
  framesPlayed: number;
  /** Frames dropped because they arrived after their playout time or slot, or were popped after their deadline. */
  lateDrops: number;
  /** Frames dropped because the same sequence was already buffered complete or already played. */
  duplicates: number;
  /** Concealment events returned by `pop` (every reason). */
  concealed: number;
  /** Frames dropped, oldest first, because the buffer held `maxBufferedFrames` (R-PLAY-10). */
  overflowDrops: number;
  /** Frames dropped because a field was invalid or the sequence was too far from the stream's (R-PLAY-9). */
  invalidFrames: number;
  /** Incomplete frames replaced by a later push of the same sequence. */
  replaced: number;
  /** Sequence numbers skipped without events because a gap exceeded `maxConcealGapFrames` (R-PLAY-7). */
  skipped: number;
  /** Frames held now. */
  bufferedFrames: number;
  /**
   * The target delay now (ms beyond the fastest transit), after clamping (R-PLAY-2, R-PLAY-3); negative when, with
   * a known clock offset, the path's minimum delay alone exceeds the deadline (then every frame is late).
   */
  currentTargetDelayMs: number;
  /** The clock-offset estimate (minimum transit over the window), or undefined before the first sample. */
  clockOffsetEstimateMs: number | undefined;
  /** RFC 3550 §6.4.1 interarrival jitter of the complete arrivals (ms), whichever estimator sets the target. */
  interarrivalJitterMs: number;
}
