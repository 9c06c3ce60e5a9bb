/** Why a connection ended (R-CLOSE-*). */
export type CloseInitiator = 'local' | 'peer' | 'idle-timeout' | 'protocol-violation';

/** A message the application handed over that the peer never acknowledged. */
export interface UnconfirmedMessage {
  channelId: number;
  messageId: number;
}

/** Events the connection queues for the application; drain them with `pollEvent()`. */
export type ConnectionEvent =
  /** A channel has a message to read with `receive()`. */
  | { type: 'readable'; channelId: number }
  /** The peer acknowledged every byte of a message (a delivery receipt, R-CHAN-7). */
  | { type: 'delivered'; channelId: number; messageId: number }
  /**
   * The sender gave up on a message of a deadline or unreliable channel (spec §12.1, R-PR-2): its deadline
   * passed, or a fragment of an unreliable message was lost. It will not be delivered by this side's efforts.
   */
  | { type: 'expired'; channelId: number; messageId: number }
  /**
   * The peer abandoned messages of a deadline or unreliable channel that never completed here (R-PR-6): `count`
   * message ids below `beforeMessageId` will never be delivered, so nothing waits for them.
   */
  | { type: 'skipped'; channelId: number; beforeMessageId: number; count: number }
  /** Send-buffer space freed after `send` reported backpressure. */
  | { type: 'writable' }
  /** The connection ended; nothing more will be sent or received. */
  | {
      type: 'closed';
      initiator: CloseInitiator;
      code: number;
      reason: string;
      /** Messages never acknowledged: empty after a successful graceful close (R-CLOSE-3). */
      unconfirmed: UnconfirmedMessage[];
    };

/** A message delivered to the application. */
export interface ReceivedMessage {
  channelId: number;
  messageId: number;
  data: Uint8Array;
}
