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
