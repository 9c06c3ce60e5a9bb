import { RangeSet } from '../ack/range-set.ts';

/** The parts of a received MESSAGE fragment that reassembly needs (spec §7). */
export interface FragmentBytes {
  /** Byte offset of `payload` inside the message. */
  readonly offset: number;
  /** Length of the whole message in bytes, as the peer declared it in this fragment. */
  readonly totalLength: number;
  /** The fragment's bytes: may be a view into the packet buffer; reassembly copies what it keeps. */
  readonly payload: Uint8Array;
}

/**
 * What adding one fragment did:
 * - `new`: at least one byte (or, for an empty message, the message itself) was not held before;
 * - `duplicate`: every byte was already held (a retransmission or an overlap);
 * - `length-mismatch`: the fragment declares a different total length for the same message (a violation);
 * - `out-of-range`: the fragment does not lie inside `[0, totalLength]` (a violation).
 */
export type ReassemblyOutcome = 'new' | 'duplicate' | 'length-mismatch' | 'out-of-range';

function isByteCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reassembles one message from fragments that may arrive in any order, duplicated, or overlapping each other
 * differently on each retransmission (spec §7). Bytes already held are never overwritten: the first copy wins.
 *
 * A fragment covering the whole message is copied as is (the common case for small messages); otherwise the
 * full `totalLength` buffer is allocated on the first fragment and a {@link RangeSet} tracks the bytes held.
 * The caller bounds `totalLength` before constructing (the channel's `maxMessageBytes`).
 */
export class MessageReassembly {
  /** Length of the message in bytes, fixed by the first fragment. */
  readonly totalLength: number;
  private buffer: Uint8Array | undefined;
  /** Byte ranges held, while a multi-fragment message is incomplete. */
  private held: RangeSet | undefined;
  private heldBytes = 0;
  private complete = false;

  /** Starts a message of `totalLength` bytes. Throws `RangeError` unless it is a non-negative safe integer. */
  constructor(totalLength: number) {
    if (!isByteCount(totalLength)) {
      throw new RangeError(
        `MessageReassembly: totalLength must be a non-negative safe integer, got ${totalLength}`,
      );
    }
    this.totalLength = totalLength;
  }

  /** Whether every byte of the message is held. */
  get isComplete(): boolean {
    return this.complete;
  }

  /** Number of distinct message bytes held so far. */
  get receivedBytes(): number {
    return this.heldBytes;
  }

  /** Adds one fragment, copying only the bytes not yet held. Never throws on peer input. */
  add(fragment: FragmentBytes): ReassemblyOutcome {
    const { offset, payload } = fragment;
    if (fragment.totalLength !== this.totalLength) return 'length-mismatch';
    const length = payload.length;
    if (!isByteCount(offset) || offset + length > this.totalLength) return 'out-of-range';
    if (this.complete) return 'duplicate';
    if (this.totalLength === 0) {
      this.buffer = new Uint8Array(0);
      this.complete = true;
      return 'new';
    }
    if (length === 0) return 'duplicate';
    if (this.buffer === undefined && length === this.totalLength) {
      // Fast path: one fragment is the whole message.
      this.buffer = payload.slice();
      this.heldBytes = length;
      this.complete = true;
      return 'new';
    }
    return this.addPart(offset, payload);
  }

  /** The message bytes. Throws `Error` if called before {@link isComplete} (local misuse). */
  bytes(): Uint8Array {
    if (!this.complete || this.buffer === undefined) {
      throw new Error('MessageReassembly: bytes() called before the message is complete');
    }
    return this.buffer;
  }

  private addPart(offset: number, payload: Uint8Array): ReassemblyOutcome {
    if (this.buffer === undefined) this.buffer = new Uint8Array(this.totalLength);
    if (this.held === undefined) this.held = new RangeSet();
    const buffer = this.buffer;
    const held = this.held;
    const end = offset + payload.length - 1;
    let copied = 0;
    held.forEachGap(offset, end, (gapStart, gapEnd) => {
      buffer.set(payload.subarray(gapStart - offset, gapEnd - offset + 1), gapStart);
      copied += gapEnd - gapStart + 1;
    });
    if (copied === 0) return 'duplicate';
    held.addRange(offset, end);
    this.heldBytes += copied;
    if (this.heldBytes === this.totalLength) {
      this.complete = true;
      this.held = undefined;
    }
    return 'new';
  }
}
