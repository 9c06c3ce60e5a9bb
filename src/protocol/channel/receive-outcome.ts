/** A received MESSAGE fragment as the wire decoder yields it (spec §4.7, §7). */
export interface ReceivedFragment {
  /** The channel it belongs to. */
  readonly channelId: number;
  /** The message's id within the channel: 0, 1, 2… allocated by the sender (spec §7). */
  readonly messageId: number;
  /** Byte offset of `payload` inside the message. */
  readonly offset: number;
  /** Length of the whole message in bytes. */
  readonly totalLength: number;
  /** The fragment's bytes: a view into the packet buffer (the channel copies what it keeps). */
  readonly payload: Uint8Array;
}

/**
 * A peer protocol violation found by the receive side; the connection closes on it (spec §7, §8):
 * - `message-too-large`: the declared total length exceeds the channel's `maxMessageBytes`;
 * - `length-mismatch`: a fragment declares a different total length than earlier fragments of the message;
 * - `out-of-range`: an id, offset or length is not a non-negative safe integer, or the fragment does not lie
 *   inside its message.
 */
export type ReceiveViolation = 'message-too-large' | 'length-mismatch' | 'out-of-range';

/**
 * Why a fragment was not taken: a {@link ReceiveViolation}, or `beyond-window` — no buffer room under the
 * flow-control window (spec §8) or too many messages pending. `beyond-window` is a drop, not a violation: the
 * connection must not acknowledge the packet as delivered so that the sender retransmits it later.
 */
export type ReceiveRejectReason = ReceiveViolation | 'beyond-window';

/**
 * What `ReceiveChannel.handleFragment` did with a fragment:
 * - `new`: it added bytes (or completed an empty message);
 * - `duplicate`: nothing new — a retransmission, an overlap, or a message already delivered (exactly-once);
 * - `rejected`: not taken; `violation` says whether the connection must close.
 */
export type ReceiveOutcome =
  | { readonly status: 'new' }
  | { readonly status: 'duplicate' }
  | { readonly status: 'rejected'; readonly reason: 'beyond-window'; readonly violation: false }
  | { readonly status: 'rejected'; readonly reason: ReceiveViolation; readonly violation: true };

/** Shared outcome: bytes were added. */
export const receivedNew: ReceiveOutcome = Object.freeze({ status: 'new' });
/** Shared outcome: nothing new. */
export const receivedDuplicate: ReceiveOutcome = Object.freeze({ status: 'duplicate' });
/** Shared outcome: dropped for lack of window; retransmit later (spec §8). */
export const droppedBeyondWindow: ReceiveOutcome = Object.freeze({
  status: 'rejected',
  reason: 'beyond-window',
  violation: false,
});

const violations: Readonly<Record<ReceiveViolation, ReceiveOutcome>> = {
  'message-too-large': Object.freeze({ status: 'rejected', reason: 'message-too-large', violation: true }),
  'length-mismatch': Object.freeze({ status: 'rejected', reason: 'length-mismatch', violation: true }),
  'out-of-range': Object.freeze({ status: 'rejected', reason: 'out-of-range', violation: true }),
};

/** The shared outcome for a peer violation (no allocation per bad fragment). */
export function rejectedViolation(reason: ReceiveViolation): ReceiveOutcome {
  return violations[reason];
}
