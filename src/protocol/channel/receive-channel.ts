import { RangeSet } from '../ack/range-set.ts';
import { MessageReassembly } from './reassembly.ts';
import {
  droppedBeyondWindow,
  type ReceivedFragment,
  type ReceiveOutcome,
  type ReceiveViolation,
  receivedDuplicate,
  receivedNew,
  rejectedViolation,
} from './receive-outcome.ts';

/** Default largest message a peer may send on a channel: 16 MiB. */
export const defaultMaxMessageBytes = 16 * 1024 * 1024;
/** Default flow-control window of a channel: 4 MiB of unconsumed message bytes (spec §8). */
export const defaultReceiveWindowBytes = 4 * 1024 * 1024;
/** Default cap on messages held at once (reassembling or awaiting the application), and on id look-ahead. */
export const defaultMaxPendingMessages = 16_384;

/** Options of a {@link ReceiveChannel}. */
export interface ReceiveChannelOptions {
  /** The channel id (fragments for another channel are local misuse). */
  channelId: number;
  /** Reliable-ordered (deliver in message-id order) or reliable-unordered (deliver as soon as complete). */
  ordered: boolean;
  /** Largest total length a message may declare; more is a violation. Default {@link defaultMaxMessageBytes}. */
  maxMessageBytes?: number;
  /** Flow-control window in bytes (spec §8). Default {@link defaultReceiveWindowBytes}. */
  windowBytes?: number;
  /**
   * Most messages held at once (reassembling + delivered-not-polled), and how far past the lowest undelivered
   * id a new message may be. Bounds memory against empty or tiny messages. Default
   * {@link defaultMaxPendingMessages}.
   */
  maxPendingMessages?: number;
  /**
   * How a new message is admitted under the window (spec §8): `whole-message` (default) when all of it fits,
   * `message-start` while any room is left (for a sender that starts a message whenever its position is below
   * the limit). See {@link ReceiveChannel}.
   */
  admission?: WindowAdmission;
  /**
   * Sequenced delivery (spec §12.1, R-PR-7): a message completing after a higher id was delivered is dropped as
   * stale. Only for unordered channels. Default false.
   */
  sequenced?: boolean;
}

/**
 * The receiver's window rule for a message's first fragment (spec §8):
 * - `whole-message`: `bufferedBytes + totalLength <= windowBytes`;
 * - `message-start`: `bufferedBytes < windowBytes` (the message may overshoot the window by itself).
 */
export type WindowAdmission = 'whole-message' | 'message-start';

/** A message ready for the application. */
export interface ReceivedMessage {
  /** The message id within its channel. */
  messageId: number;
  /** The message bytes (owned by the application from now on). */
  data: Uint8Array;
}

function checkPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`ReceiveChannel: ${name} must be a positive safe integer, got ${value}`);
  }
}

function isNonNegativeSafeInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * The receive side of one reliable channel (spec §7): reassembles fragments, delivers each message exactly once
 * (in id order when `ordered`), and enforces the receive window (spec §8).
 *
 * Call order: `handleFragment` for each MESSAGE frame of the channel (any order, duplicates welcome); then
 * `pollMessage` until undefined to drain messages for the application; then `creditUpdate` to learn whether a
 * MAX_CHANNEL_DATA frame should be sent.
 *
 * Flow control (spec §8). Messages form one byte stream per channel: message k occupies stream bytes
 * `[start(k), start(k) + length(k))` with `start(k)` = the sum of the lengths of messages 0…k−1.
 * - `consumedBytes` counts bytes of messages the application has polled. The credit limit is
 *   `maxChannelData = consumedBytes + windowBytes`; the initial limit (nothing consumed) is `windowBytes`.
 * - Sender rule: a fragment of message k may be sent when `start(k) + length(k) <= limit` (the message fits the
 *   credit), or when `start(k) <= limit − windowBytes` and every message before k is fully acknowledged (all
 *   earlier messages were received and their bytes consumed: the head-of-line exemption, so a message larger
 *   than the window still gets through), where `limit` is the largest value the sender has received. The
 *   acknowledgement condition matters for empty messages, which occupy no stream bytes.
 * - Receiver rule (what this class enforces): `bufferedBytes` = total lengths of messages being reassembled
 *   (charged in full on their first fragment) + delivered messages not yet polled. A fragment that starts a new
 *   message is accepted if `bufferedBytes + totalLength <= windowBytes`, or if the message is the lowest
 *   undelivered id and no delivered message bytes await polling (the exemption). Otherwise it is dropped as
 *   `beyond-window`. A sender that follows the sender rule never sees `beyond-window` (the cap
 *   `maxPendingMessages` aside), and `bufferedBytes <= windowBytes + maxMessageBytes` always holds.
 * - Alternative (`admission: 'message-start'`), for a sender that may START message k whenever
 *   `start(k) < limit` and then sends all of it: a new message is accepted while `bufferedBytes < windowBytes`
 *   (or by the same exemption). In-order arrivals from such a sender are never dropped; a message whose first
 *   fragment arrives after later ones filled the window is dropped until there is room or it is the lowest
 *   undelivered id. Half-window updates alone never stall it (a blocked sender has used its whole credit, so
 *   consuming what it sent moves the limit by a full window). Memory: `bufferedBytes < windowBytes +
 *   2 × maxMessageBytes` for any peer.
 * - Updates: `creditUpdate()` returns the new limit once the application has consumed at least half a window
 *   since the last advertised limit, or, after `handlePeerBlocked`, as soon as anything was consumed. Without
 *   the blocked signal a sender can stall: everything it sent was consumed, but less than half a window since
 *   the last update, and its next message (then necessarily larger than half a window) does not fit the credit
 *   left. So a sender blocked by flow control must tell the receiver (which calls `handlePeerBlocked`). The
 *   connection re-sends the latest limit (`maxChannelData`) if the frame carrying it is lost.
 */
export class ReceiveChannel {
  /** The channel id. */
  readonly channelId: number;
  /** Whether messages are delivered in id order. */
  readonly ordered: boolean;
  /** Largest total length a message may declare. */
  readonly maxMessageBytes: number;
  /** Flow-control window in bytes (spec §8). */
  readonly windowBytes: number;
  /** Most messages held at once, and the id look-ahead. */
  readonly maxPendingMessages: number;
  /** The window rule for new messages. */
  readonly admission: WindowAdmission;

  /** Fragments that added nothing (retransmissions, overlaps, already-delivered messages). */
  duplicates = 0;
  /** Messages completed and queued for the application. */
  delivered = 0;
  /** Fragments rejected, violations and window drops together. */
  rejected = 0;
  /** Of `rejected`, fragments dropped as `beyond-window`. */
  windowDrops = 0;
  /** Messages the sender abandoned that never completed here (skipped by a forward point, R-PR-6). */
  skipped = 0;
  /** Sequenced channels: messages completed after a higher id had been delivered, dropped (R-PR-7). */
  staleDrops = 0;
  /** Whether stale messages are dropped (R-PR-7). */
  readonly sequenced: boolean;
  /** Highest message id delivered (-1: none). */
  private highestDelivered = -1;

  /** Messages being reassembled, or complete but waiting for an earlier id (ordered mode). */
  private readonly assemblies = new Map<number, MessageReassembly>();
  /** Every id below this was delivered. In ordered mode the next id to deliver. */
  private lowestUndelivered = 0;
  /** Unordered mode: ids above `lowestUndelivered` already delivered. */
  private readonly deliveredAbove = new RangeSet();
  private readonly ready: (ReceivedMessage | undefined)[] = [];
  private readyHead = 0;
  private readyBytes = 0;
  private assemblyBytes = 0;
  private consumed = 0;
  private advertisedLimit: number;
  private peerBlockedAt = -1;

  /** Creates the receive side of channel `options.channelId`. Throws `RangeError` on invalid options. */
  constructor(options: ReceiveChannelOptions) {
    this.channelId = options.channelId;
    this.ordered = options.ordered;
    this.maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
    this.windowBytes = options.windowBytes ?? defaultReceiveWindowBytes;
    this.maxPendingMessages = options.maxPendingMessages ?? defaultMaxPendingMessages;
    this.admission = options.admission ?? 'whole-message';
    this.sequenced = options.sequenced ?? false;
    if (this.sequenced && this.ordered)
      throw new RangeError('ReceiveChannel: sequenced needs an unordered channel');
    if (!isNonNegativeSafeInteger(this.channelId)) {
      throw new RangeError(
        `ReceiveChannel: channelId must be a non-negative safe integer, got ${this.channelId}`,
      );
    }
    checkPositiveInteger(this.maxMessageBytes, 'maxMessageBytes');
    checkPositiveInteger(this.windowBytes, 'windowBytes');
    checkPositiveInteger(this.maxPendingMessages, 'maxPendingMessages');
    this.advertisedLimit = this.windowBytes;
  }

  /** Bytes held for messages not yet polled: reassembly buffers (charged in full) + delivered-not-polled. */
  get bufferedBytes(): number {
    return this.assemblyBytes + this.readyBytes;
  }

  /** Total bytes of messages the application has polled. */
  get consumedBytes(): number {
    return this.consumed;
  }

  /** The current credit limit: `consumedBytes + windowBytes` (spec §8). */
  get maxChannelData(): number {
    return this.consumed + this.windowBytes;
  }

  /** The lowest message id not yet delivered (in ordered mode, the next id to deliver). */
  get nextMessageId(): number {
    return this.lowestUndelivered;
  }

  /** Messages ready for {@link pollMessage}. */
  get readyMessages(): number {
    return this.ready.length - this.readyHead;
  }

  /** Messages being reassembled or waiting for an earlier id. */
  get pendingAssemblies(): number {
    return this.assemblies.size;
  }

  /**
   * Whether an ordered channel holds a complete message it cannot deliver yet (an earlier id is missing): its
   * sender got, or will get, the acknowledgement of every fragment — a delivery receipt — for a message the
   * application does not have. A graceful close waits for the gap to fill (R-CLOSE-2).
   */
  get holdsCompleteBehindGap(): boolean {
    if (!this.ordered) return false;
    for (const assembly of this.assemblies.values()) if (assembly.isComplete) return true;
    return false;
  }

  /** Whether message `messageId` is being reassembled (or waits complete for an earlier id). */
  isAssembling(messageId: number): boolean {
    return this.assemblies.has(messageId);
  }

  /** Whether message `messageId` has been delivered (queued for the application). */
  isDelivered(messageId: number): boolean {
    return messageId < this.lowestUndelivered || (!this.ordered && this.deliveredAbove.has(messageId));
  }

  /**
   * Takes one MESSAGE fragment of this channel (spec §7). The payload may be a view: what is kept is copied.
   * Throws `RangeError` only for a fragment of another channel (local misuse); peer input never throws.
   */
  handleFragment(fragment: ReceivedFragment): ReceiveOutcome {
    if (fragment.channelId !== this.channelId) {
      throw new RangeError(`ReceiveChannel ${this.channelId}: fragment for channel ${fragment.channelId}`);
    }
    const { messageId, offset, totalLength } = fragment;
    if (
      !isNonNegativeSafeInteger(messageId) ||
      !isNonNegativeSafeInteger(offset) ||
      !isNonNegativeSafeInteger(totalLength) ||
      offset + fragment.payload.length > totalLength
    ) {
      return this.violation('out-of-range');
    }
    if (totalLength > this.maxMessageBytes) return this.violation('message-too-large');
    // Exactly-once: a delivered id is never delivered again (spec §7).
    // An empty fragment of a non-empty message carries nothing: never let it open a buffer.
    if (this.isDelivered(messageId) || (fragment.payload.length === 0 && totalLength > 0)) {
      this.duplicates++;
      return receivedDuplicate;
    }
    let assembly = this.assemblies.get(messageId);
    if (assembly === undefined) {
      if (!this.admits(messageId, totalLength)) {
        this.rejected++;
        this.windowDrops++;
        return droppedBeyondWindow;
      }
      assembly = new MessageReassembly(totalLength);
      this.assemblies.set(messageId, assembly);
      this.assemblyBytes += totalLength;
    }
    const outcome = assembly.add(fragment);
    if (outcome === 'duplicate') {
      this.duplicates++;
      return receivedDuplicate;
    }
    if (outcome !== 'new') return this.violation(outcome);
    if (assembly.isComplete) this.onComplete(messageId, assembly);
    return receivedNew;
  }

  /** The next message for the application, or undefined. In ordered mode only the in-order prefix is ready. */
  pollMessage(): ReceivedMessage | undefined {
    if (this.readyHead === this.ready.length) return undefined;
    const message = this.ready[this.readyHead];
    this.ready[this.readyHead] = undefined;
    this.readyHead++;
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    } else if (this.readyHead >= 1024 && this.readyHead * 2 >= this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
    if (message === undefined) return undefined;
    this.readyBytes -= message.data.length;
    this.consumed += message.data.length;
    return message;
  }

  /**
   * Records that the peer reported being blocked by flow control at limit `limitBytes` (spec §8), so that the
   * next {@link creditUpdate} after any consumption advertises a new limit instead of waiting for half a window.
   */
  handlePeerBlocked(limitBytes: number): void {
    if (limitBytes > this.peerBlockedAt) this.peerBlockedAt = limitBytes;
  }

  /**
   * The new credit limit to advertise in a MAX_CHANNEL_DATA frame (spec §8), or undefined when none is due: due
   * once `consumedBytes` grew by at least half a window since the last advertised limit, or by anything if the
   * peer reported being blocked at that limit. Returning a value records it as advertised.
   */
  creditUpdate(): number | undefined {
    const limit = this.maxChannelData;
    if (limit <= this.advertisedLimit) return undefined;
    const grownBytes = limit - this.advertisedLimit;
    if (grownBytes * 2 < this.windowBytes && this.peerBlockedAt < this.advertisedLimit) return undefined;
    this.advertisedLimit = limit;
    return limit;
  }

  /**
   * Applies the sender's forward point (R-PR-6): every id below `forwardMessageId` is settled at the sender, so
   * partial messages below it are discarded and never awaited. Returns how many ids were skipped (neither
   * delivered nor deliverable any more). Only for unordered channels (deadline and unreliable, spec §12.1).
   */
  handleForward(forwardMessageId: number): number {
    if (this.ordered)
      throw new RangeError(`ReceiveChannel ${this.channelId}: forward point on an ordered channel`);
    if (!isNonNegativeSafeInteger(forwardMessageId) || forwardMessageId <= this.lowestUndelivered) return 0;
    let skipped = 0;
    this.deliveredAbove.forEachGap(this.lowestUndelivered, forwardMessageId - 1, (start, end) => {
      skipped += end - start + 1;
    });
    for (const [id, assembly] of this.assemblies) {
      if (id >= forwardMessageId) continue;
      this.assemblies.delete(id);
      this.assemblyBytes -= assembly.totalLength;
    }
    this.deliveredAbove.removeBelow(forwardMessageId);
    this.lowestUndelivered = forwardMessageId;
    if (this.deliveredAbove.has(forwardMessageId)) {
      this.lowestUndelivered = this.deliveredAbove.coveredUpTo()! + 1;
      this.deliveredAbove.removeBelow(this.lowestUndelivered);
    }
    this.skipped += skipped;
    return skipped;
  }

  /** Whether a new message may start buffering (spec §8 receiver rule, and the pending-message cap). */
  private admits(messageId: number, totalLength: number): boolean {
    const ready = this.readyMessages;
    // The head-of-line exemption; the count check keeps unpolled empty messages bounded too.
    if (messageId === this.lowestUndelivered && this.readyBytes === 0 && ready < this.maxPendingMessages) {
      return true;
    }
    if (messageId - this.lowestUndelivered >= this.maxPendingMessages) return false;
    if (this.assemblies.size + ready >= this.maxPendingMessages) return false;
    if (this.admission === 'message-start') return this.bufferedBytes < this.windowBytes;
    return this.bufferedBytes + totalLength <= this.windowBytes;
  }

  private onComplete(messageId: number, assembly: MessageReassembly): void {
    if (!this.ordered) {
      if (this.sequenced && messageId < this.highestDelivered) {
        // R-PR-7: stale — settled here as if delivered (exactly-once), but never handed to the application.
        this.assemblies.delete(messageId);
        this.assemblyBytes -= assembly.totalLength;
        this.staleDrops++;
      } else {
        this.deliver(messageId, assembly);
        if (messageId > this.highestDelivered) this.highestDelivered = messageId;
      }
      this.deliveredAbove.add(messageId);
      if (messageId === this.lowestUndelivered) {
        this.lowestUndelivered = this.deliveredAbove.coveredUpTo()! + 1;
        this.deliveredAbove.removeBelow(this.lowestUndelivered);
      }
      return;
    }
    // Ordered: deliver the contiguous run of complete messages from the next id (spec §7).
    let next = this.lowestUndelivered;
    let current = messageId === next ? assembly : undefined;
    while (current?.isComplete) {
      this.deliver(next, current);
      next++;
      current = this.assemblies.get(next);
    }
    this.lowestUndelivered = next;
  }

  private deliver(messageId: number, assembly: MessageReassembly): void {
    const data = assembly.bytes();
    this.assemblies.delete(messageId);
    this.assemblyBytes -= assembly.totalLength;
    this.readyBytes += data.length;
    this.ready.push({ messageId, data });
    this.delivered++;
  }

  private violation(reason: ReceiveViolation): ReceiveOutcome {
    this.rejected++;
    return rejectedViolation(reason);
  }
}
