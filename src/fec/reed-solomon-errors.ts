/**
 * Why a Reed-Solomon call was refused before it reached the codec (local misuse, design.md rule 4):
 * - `not-an-array`: the shard list is not an array;
 * - `not-a-shard`: an entry is not a `Uint8Array` (or, where shards may be missing, not `undefined`);
 * - `data-count`: the number of data shards is not an integer in 1..255;
 * - `parity-count`: the number of parity shards is not an integer in 1..255;
 * - `total-count`: data + parity shards exceed 256, the GF(2^8) limit;
 * - `shard-size`: a shard is empty or longer than the codec's `maxShardBytes`;
 * - `size-mismatch`: shards of one group differ in length;
 * - `option`: a constructor option is out of range.
 */
export type FecArgumentReason =
  | 'not-an-array'
  | 'not-a-shard'
  | 'data-count'
  | 'parity-count'
  | 'total-count'
  | 'shard-size'
  | 'size-mismatch'
  | 'option';

/** A Reed-Solomon call with invalid arguments: thrown before anything reaches the wasm codec. */
export class FecArgumentError extends Error {
  /** Machine-readable cause. */
  readonly reason: FecArgumentReason;

  /** Creates the error; `detail` is the human-readable part of the message. */
  constructor(reason: FecArgumentReason, detail: string) {
    super(`reed-solomon: ${reason}: ${detail}`);
    this.name = 'FecArgumentError';
    this.reason = reason;
  }
}

/**
 * Why the wasm codec itself failed on arguments that passed validation (never expected):
 * - `trap`: the wasm code trapped (a Rust panic or an out-of-bounds access);
 * - `status`: it returned a non-zero error code;
 * - `memory`: its memory could not grow to hold the shards.
 * The instance is discarded, so the next call runs on a fresh one.
 */
export type FecCodecFailure = 'trap' | 'status' | 'memory';

/** An internal failure of the wasm codec; the codec has already replaced the faulty instance. */
export class FecCodecError extends Error {
  /** Machine-readable cause. */
  readonly failure: FecCodecFailure;

  /** Creates the error, keeping the original exception (if any) as `cause`. */
  constructor(failure: FecCodecFailure, detail: string, cause?: unknown) {
    super(`reed-solomon codec ${failure}: ${detail}`, cause === undefined ? undefined : { cause });
    this.name = 'FecCodecError';
    this.failure = failure;
  }
}
