import { type OutgoingFragment, OutgoingMessage } from './outgoing-message.ts';

/**
 * The sending half of one reliable channel (spec §7–8): allocates message ids, fragments messages, holds them
 * until acknowledged, and spends the peer's flow-control credit on first transmissions only (R-FLOW-2).
 */
export class SendChannel {
  /** Next message id to allocate (R-CHAN-2: 0, 1, 2, … per channel). */
  nextMessageId = 0;
  /** Messages with fragments never sent, oldest first. */
  private readonly pending: OutgoingMessage[] = [];
  private pendingHead = 0;
  /** Messages not fully acknowledged, by id. */
  readonly unacked = new Map<number, OutgoingMessage>();
  /** Bytes of messages not fully acknowledged (the send buffer). */
  bufferedBytes = 0;
  /** Cumulative message bytes sent for the first time (the flow-control position, R-FLOW-2). */
  sentPosition = 0;
  /** The peer's limit on `sentPosition` (MAX_CHANNEL_DATA, R-FLOW-1). */
  peerLimit: number;

  constructor(
    /** Channel id (its low bits carry the mode, R-CHAN-1). */
    readonly channelId: number,
    initialPeerLimit: number,
  ) {
    this.peerLimit = initialPeerLimit;
  }

  /** Queues a message; the caller has checked size and buffer limits. */
  enqueue(nowMs: number, data: Uint8Array, fragmentBytes: number): OutgoingMessage {
    const message = new OutgoingMessage(this.channelId, this.nextMessageId++, data, fragmentBytes, nowMs);
    this.pending.push(message);
    this.unacked.set(message.messageId, message);
    this.bufferedBytes += data.length;
    return message;
  }

  /** Whether fragments wait for their first transmission (regardless of credit). */
  get hasPending(): boolean {
    return this.pendingHead < this.pending.length;
  }

  /**
   * The next never-sent fragment, if flow control allows it. Credit is checked per message (R-FLOW-2): a message
   * may start while the channel position is below the peer's limit, and then runs to its end, so a message
   * larger than the window still completes (the receiver always admits it, R-FLOW-4).
   */
  nextFragment(): OutgoingFragment | undefined {
    const message = this.pending[this.pendingHead];
    if (!message) return undefined;
    const fragment = message.fragments[message.nextUnsent];
    if (!fragment) return undefined;
    if (fragment.offset === 0 && this.sentPosition >= this.peerLimit) return undefined;
    return fragment;
  }

  /** Marks the fragment returned by `nextFragment` as sent for the first time. */
  onFirstSend(fragment: OutgoingFragment): void {
    const message = fragment.message;
    message.nextUnsent++;
    this.sentPosition += fragment.length;
    if (message.fullySent) {
      this.pendingHead++;
      if (this.pendingHead > 64 && this.pendingHead * 2 > this.pending.length) {
        this.pending.splice(0, this.pendingHead);
        this.pendingHead = 0;
      }
    }
  }

  /** A fragment was acknowledged (first time): returns the message if that completed it (R-CHAN-7). */
  onFragmentAcked(fragment: OutgoingFragment): OutgoingMessage | undefined {
    const message = fragment.message;
    if (--message.unackedFragments > 0) return undefined;
    this.unacked.delete(message.messageId);
    this.bufferedBytes -= message.data.length;
    return message;
  }

  /** Raises the peer's credit limit (limits never decrease, R-FLOW-1). */
  onMaxChannelData(limit: number): void {
    if (limit > this.peerLimit) this.peerLimit = limit;
  }
}
