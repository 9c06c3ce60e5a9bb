import { ChannelMode, channelModeOf, isReliableMode } from './channel-id.ts';
import { type OutgoingFragment, OutgoingMessage } from './outgoing-message.ts';

/**
 * The sending half of one channel (spec §7–8, §12.1): allocates message ids, fragments messages, holds them
 * until acknowledged — or, on a partially reliable channel, until abandoned — and spends the peer's flow-control
 * credit on first transmissions of reliable channels only (R-FLOW-2, R-PR-4).
 */
export class SendChannel {
  /** Next message id to allocate (R-CHAN-2: 0, 1, 2, … per channel). */
  nextMessageId = 0;
  /** Messages with fragments never sent, oldest first. */
  private readonly pending: (OutgoingMessage | undefined)[] = [];
  private pendingHead = 0;
  /** Messages neither acknowledged nor abandoned, by id (insertion order is id order). */
  readonly unacked = new Map<number, OutgoingMessage>();
  /** Bytes of messages not fully acknowledged (the send buffer). */
  bufferedBytes = 0;
  /** Cumulative message bytes sent for the first time (the flow-control position, R-FLOW-2). */
  sentPosition = 0;
  /** The peer's limit on `sentPosition` (MAX_CHANNEL_DATA, R-FLOW-1). */
  peerLimit: number;
  /** Deadline and unreliable channels (spec §12.1): no credit, messages may be abandoned. */
  readonly partial: boolean;
  /** Whether lost fragments may be sent again (reliable and deadline channels, not unreliable ones). */
  readonly repairs: boolean;
  /** Highest message id abandoned so far (-1: none). */
  highestAbandonedId = -1;
  /** The forward point last put in an EXPIRED frame (R-PR-5). */
  advertisedForward = 0;
  /** The largest forward point the peer has acknowledged. */
  acknowledgedForward = 0;

  constructor(
    /** Channel id (its low bits carry the mode, R-CHAN-1). */
    readonly channelId: number,
    initialPeerLimit: number,
  ) {
    this.peerLimit = initialPeerLimit;
    const mode = channelModeOf(channelId);
    this.partial = !isReliableMode(mode);
    this.repairs = mode !== ChannelMode.unreliable;
  }

  /** Queues a message; the caller has checked size and buffer limits. */
  enqueue(
    nowMs: number,
    data: Uint8Array,
    fragmentBytes: number,
    expiresAtMs = Number.POSITIVE_INFINITY,
  ): OutgoingMessage {
    const id = this.nextMessageId++;
    const message = new OutgoingMessage(this.channelId, id, data, fragmentBytes, nowMs, expiresAtMs);
    this.pending.push(message);
    this.unacked.set(message.messageId, message);
    this.bufferedBytes += data.length;
    return message;
  }

  /** Whether fragments wait for their first transmission (regardless of credit). */
  get hasPending(): boolean {
    this.skipAbandoned();
    return this.pendingHead < this.pending.length;
  }

  /**
   * The next never-sent fragment, if flow control allows it. Credit is checked per message (R-FLOW-2): a message
   * may start while the channel position is below the peer's limit, and then runs to its end, so a message
   * larger than the window still completes (the receiver always admits it, R-FLOW-4). Partially reliable
   * channels are not credit-controlled (R-PR-4).
   */
  nextFragment(): OutgoingFragment | undefined {
    this.skipAbandoned();
    const message = this.pending[this.pendingHead];
    if (!message) return undefined;
    const fragment = message.fragments[message.nextUnsent];
    if (!fragment) return undefined;
    if (!this.partial && fragment.offset === 0 && this.sentPosition >= this.peerLimit) return undefined;
    return fragment;
  }

  /** Marks the fragment returned by `nextFragment` as sent for the first time. */
  onFirstSend(fragment: OutgoingFragment): void {
    const message = fragment.message;
    message.nextUnsent++;
    this.sentPosition += fragment.length;
    if (message.fullySent) this.advancePending();
  }

  /** A fragment was acknowledged (first time): returns the message if that completed it (R-CHAN-7). */
  onFragmentAcked(fragment: OutgoingFragment): OutgoingMessage | undefined {
    const message = fragment.message;
    if (--message.unackedFragments > 0) return undefined;
    this.unacked.delete(message.messageId);
    this.bufferedBytes -= message.data.length;
    return message;
  }

  /**
   * Gives up on `message` (spec §12.1, R-PR-2): its fragments are settled so nothing sends them again, and its
   * bytes leave the send buffer. Returns false if it was already settled.
   */
  abandon(message: OutgoingMessage): boolean {
    if (message.abandoned || !this.unacked.has(message.messageId)) return false;
    message.abandoned = true;
    for (const fragment of message.fragments) fragment.acked = true;
    this.unacked.delete(message.messageId);
    this.bufferedBytes -= message.data.length;
    if (message.messageId > this.highestAbandonedId) this.highestAbandonedId = message.messageId;
    return true;
  }

  /**
   * The channel's forward point (R-PR-5): every id below it is acknowledged or abandoned — the lowest id still
   * outstanding, or the next id to allocate.
   */
  get forwardPoint(): number {
    for (const id of this.unacked.keys()) return id;
    return this.nextMessageId;
  }

  /** Whether an EXPIRED frame should tell the peer of a newer forward point (R-PR-5). */
  get forwardDue(): boolean {
    return this.highestAbandonedId >= this.advertisedForward && this.forwardPoint > this.advertisedForward;
  }

  /** The outstanding messages at the head (id order) whose deadline has passed by `nowMs` (R-PR-2). */
  *expiredAt(nowMs: number): Generator<OutgoingMessage> {
    for (const message of this.unacked.values()) {
      if (message.expiresAtMs > nowMs) return;
      yield message;
    }
  }

  /**
   * The deadline of the oldest outstanding message, the channel's next expiry check (∞: none). Deadlines are
   * checked in id order; a message whose deadline precedes an older one's is still never repaired late (R-PR-3).
   */
  get nextExpiryMs(): number {
    for (const message of this.unacked.values()) return message.expiresAtMs;
    return Number.POSITIVE_INFINITY;
  }

  /** Raises the peer's credit limit (limits never decrease, R-FLOW-1). */
  onMaxChannelData(limit: number): void {
    if (limit > this.peerLimit) this.peerLimit = limit;
  }

  private skipAbandoned(): void {
    while (this.pending[this.pendingHead]?.abandoned) this.advancePending();
  }

  private advancePending(): void {
    this.pending[this.pendingHead] = undefined;
    this.pendingHead++;
    if (this.pendingHead > 64 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
  }
}
