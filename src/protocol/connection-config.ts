/** Connection tunables with their defaults (spec §5–§10). Units are in the names. */
export interface ConnectionConfig {
  /** Largest UDP payload the connection sends (bytes). */
  maxDatagramBytes: number;
  /** Largest application message accepted for sending or receiving (bytes), R-CHAN-4. */
  maxMessageBytes: number;
  /** Lifetime of a message on a deadline channel without its own deadline (ms, spec §12.1, R-PR-1). */
  defaultDeadlineMs: number;
  /**
   * Whether lost fragments of deadline channels are retransmitted (R-PR-3). Set false under a FEC layer that
   * repairs losses with extra parity (R-PR-8, R-FEC-14): a lost deadline fragment then waits for FEC or its
   * deadline, and is never sent again by the connection.
   */
  deadlineRetransmit: boolean;
  /** RTT assumed before the first sample (ms). */
  initialRttMs: number;
  /** Longest this side delays an ACK (ms), R-ACK-2; the peer assumes the same value. */
  maxAckDelayMs: number;
  /** ACK after this many ack-eliciting packets at the latest, R-ACK-2. */
  ackElicitingThreshold: number;
  /** Most ranges in one ACK frame, R-ACK-5. */
  maxAckRanges: number;
  /** Most ranges in an ACK that shares a packet with data (keeps small packets small), R-ACK-5. */
  piggybackAckRanges: number;
  /** Congestion controller (spec §9): the loss-tolerant model-based one by default, NewReno or CUBIC. */
  congestionControl: 'loss-tolerant' | 'newreno' | 'cubic';
  /** Timer granularity (ms), RFC 9002 kGranularity. */
  granularityMs: number;
  /** Cap of the PTO backoff exponent, R-LOSS-5. */
  maxPtoBackoff: number;
  /** Largest single PTO interval (ms), R-LOSS-5. */
  maxPtoMs: number;
  /** Close after this long without receiving anything (ms), R-LIVE-2. */
  idleTimeoutMs: number;
  /** Send a PING after this long without sending anything ack-eliciting (ms); 0 disables, R-LIVE-1. */
  keepAliveIntervalMs: number;
  /** Flow-control window per channel (bytes of unread message data the receiver buffers), R-FLOW-1. */
  channelWindowBytes: number;
  /** Flow-control window for the whole connection (bytes), R-FLOW-1. */
  connectionWindowBytes: number;
  /** Send buffer per connection (bytes of unacknowledged messages); beyond it `send` reports backpressure. */
  sendBufferBytes: number;
  /** Most channels a peer may use, R-CHAN-5. */
  maxChannels: number;
  /**
   * Hard cap on received bytes held by all channels together (messages charged in full at their first fragment,
   * plus delivered messages not yet taken), R-LIMIT-1: a fragment opening a message beyond it is dropped and
   * counted (`bufferLimitDrops`). Below `connectionWindowBytes + 2 × maxMessageBytes` a legitimate sender using
   * many channels with large messages may stall.
   */
  maxReceiveBufferBytes: number;
  /** Most received messages held by all channels together (reassembling or not yet taken), R-LIMIT-2. */
  maxPendingMessages: number;
  /** Most received messages held by one channel, and how far past its lowest undelivered id one may be, R-LIMIT-2. */
  maxPendingMessagesPerChannel: number;
  /** Packet-number ranges remembered for duplicate detection and ACKs (at least 4 × `maxAckRanges`), R-LIMIT-3. */
  maxTrackedAckRanges: number;
  /** Most time a graceful close waits for acknowledgements before giving up (ms), R-CLOSE-2. */
  closeTimeoutMs: number;
  /** Redundancy for application-limited traffic (spec §6.5): largest fragment copied (bytes); 0 disables. */
  redundancyMaxFragmentBytes: number;
  /** Fragments up to this size count as small: copies ride in other packets' spare room (bytes). */
  redundancySmallFragmentBytes: number;
  /** Most extra copies of one small fragment, R-LOSS-8. */
  redundancyMaxExtraCopies: number;
  /** Most extra copies of one large fragment (each costs a packet), R-LOSS-8. */
  redundancyMaxExtraCopiesLarge: number;
  /** Residual loss redundancy aims for (small fragments: half of it), from the measured loss, R-LOSS-8. */
  redundancyTargetResidualLoss: number;
  /** A fresh small fragment's first copy goes out in its own packet after at most this long (ms), R-LOSS-11. */
  redundancyCopyDelayMs: number;
  /** Redundant bytes may not exceed this multiple of the payload bytes sent (the overhead budget), R-LOSS-12. */
  redundancyBudgetRatio: number;
}

/** Defaults chosen for IM over lossy mobile paths; see spec.md for the reasoning behind each. */
export const defaultConnectionConfig: Readonly<ConnectionConfig> = {
  maxDatagramBytes: 1200,
  maxMessageBytes: 16 * 1024 * 1024,
  defaultDeadlineMs: 1000,
  deadlineRetransmit: true,
  initialRttMs: 200,
  maxAckDelayMs: 20,
  ackElicitingThreshold: 2,
  maxAckRanges: 32,
  piggybackAckRanges: 3,
  congestionControl: 'loss-tolerant',
  granularityMs: 1,
  maxPtoBackoff: 6,
  maxPtoMs: 4000,
  idleTimeoutMs: 30_000,
  keepAliveIntervalMs: 10_000,
  channelWindowBytes: 1024 * 1024,
  connectionWindowBytes: 4 * 1024 * 1024,
  sendBufferBytes: 32 * 1024 * 1024,
  maxChannels: 256,
  maxReceiveBufferBytes: 36 * 1024 * 1024,
  maxPendingMessages: 65_536,
  maxPendingMessagesPerChannel: 16_384,
  maxTrackedAckRanges: 256,
  closeTimeoutMs: 10_000,
  redundancyMaxFragmentBytes: 65_536,
  redundancySmallFragmentBytes: 256,
  redundancyMaxExtraCopies: 3,
  redundancyMaxExtraCopiesLarge: 2,
  redundancyTargetResidualLoss: 0.01,
  redundancyBudgetRatio: 4,
  redundancyCopyDelayMs: 5,
};
