/**
 * Why a received packet is malformed (spec §3–§4). Each reason names the first rule the bytes break.
 * - `truncated`: a field runs past the end of the packet (R-WIRE-5).
 * - `non-minimal-varint`: a varint not in its shortest form (R-WIRE-2).
 * - `value-too-large`: a varint above 2^53−1 (R-WIRE-3).
 * - `reserved-bits`: a reserved header bit is set (R-WIRE-8).
 * - `unsupported-packet-type`: the packet type has no frame body this version can read (R-WIRE-11).
 * - `empty-packet`: a DATA packet without frames (R-WIRE-12).
 * - `unknown-frame`: an unknown or reserved frame type (R-FRAME-1, R-FRAME-2).
 * - `invalid-ack`: an ACK frame that goes below packet 0 or has too many ranges (R-FRAME-7, R-FRAME-8).
 * - `invalid-message`: a MESSAGE frame outside its message or with a redundant offset (R-FRAME-15, R-FRAME-16).
 * - `invalid-utf8`: a CLOSE reason that is not UTF-8 (R-FRAME-10).
 */
export type WireErrorReason =
  | 'truncated'
  | 'non-minimal-varint'
  | 'value-too-large'
  | 'reserved-bits'
  | 'unsupported-packet-type'
  | 'empty-packet'
  | 'unknown-frame'
  | 'invalid-ack'
  | 'invalid-message'
  | 'invalid-utf8';

/**
 * A peer's protocol violation found while decoding untrusted bytes. It is returned, never thrown, and does not
 * extend `Error`: a flood of garbage datagrams must not pay for a stack trace per packet.
 */
export class WireError {
  /** The rule the bytes break. */
  readonly reason: WireErrorReason;
  /** Byte offset (from the start of the decoded buffer) of the field where decoding failed. */
  readonly offset: number;

  /** Creates the error for `reason` at byte `offset`. */
  constructor(reason: WireErrorReason, offset: number) {
    this.reason = reason;
    this.offset = offset;
  }

  /** A one-line description for logs. */
  toString(): string {
    return `malformed packet: ${this.reason} at byte ${this.offset}`;
  }
}

/** The outcome of decoding untrusted bytes: the value, or the typed reason it is malformed (design.md rule 4). */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Why the local caller asked for something that cannot be encoded. */
export type WireEncodeErrorReason =
  | 'buffer-too-small'
  | 'value-out-of-range'
  | 'invalid-frame'
  | 'invalid-header';

/**
 * Local misuse of an encoder (a programming error, not peer input): the buffer is too small, a value is out of
 * range, or a frame or header breaks a spec rule. Thrown, as a `RangeError`.
 */
export class WireEncodeError extends RangeError {
  /** What the caller got wrong. */
  readonly reason: WireEncodeErrorReason;

  /** Creates the error with a `reason` code and a human-readable `message`. */
  constructor(reason: WireEncodeErrorReason, message: string) {
    super(message);
    this.name = 'WireEncodeError';
    this.reason = reason;
  }
}

/** Builds a failed {@link DecodeResult}. */
export function decodeFailure(reason: WireErrorReason, offset: number): { ok: false; error: WireError } {
  return { ok: false, error: new WireError(reason, offset) };
}
