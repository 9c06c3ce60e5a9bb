/**
 * Why a playout-buffer call was refused (local misuse, design.md rule 4; never the content of a frame,
 * which is dropped and counted instead, spec §12.2 R-PLAY-9):
 * - `invalid-time`: `nowMs` is not a finite number;
 * - `time-backwards`: `nowMs` is earlier than a `nowMs` the buffer was already given;
 * - `invalid-option`: a constructor option is missing or out of range.
 */
export type PlayoutUsageReason = 'invalid-time' | 'time-backwards' | 'invalid-option';

/** Local misuse of a {@link PlayoutBuffer}: a bug in the caller, thrown before any state changes. */
export class PlayoutUsageError extends Error {
  /** Machine-readable cause. */
  readonly reason: PlayoutUsageReason;

  /** Creates the error; `detail` is the human-readable part of the message. */
  constructor(reason: PlayoutUsageReason, detail: string) {
    super(`playout buffer: ${reason}: ${detail}`);
    this.name = 'PlayoutUsageError';
    this.reason = reason;
  }
}
