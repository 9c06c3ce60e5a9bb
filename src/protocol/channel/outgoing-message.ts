/** One fragment of an outgoing message: a fixed slice, so every retransmission resends the same bytes (spec §7). */
export class OutgoingFragment {
  /**
   * Settled: acknowledged by the peer in any copy, or abandoned with its message on a partially reliable
   * channel (spec §12.1). Nothing sends a settled fragment again.
   */
  acked = false;
  /** Copies currently in flight (sent, neither acknowledged nor declared lost). */
  inFlightCopies = 0;
  /** Waiting in the connection's retransmission queue. */
  queuedForRetransmit = false;
  /** How many times this fragment was sent (first send, retransmissions, redundant copies). */
  transmissions = 0;
  /** When it was last sent (ms). */
  lastSentMs = Number.NEGATIVE_INFINITY;
  /** When it was last sent as a first transmission or retransmission, not as a redundant copy (ms). */
  lastRealSendMs = Number.NEGATIVE_INFINITY;
  /** Listed by the redundancy planner (at most once). */
  tracked = false;
  /** Redundant copies sent since the last first transmission or retransmission (spec §6.5). */
  copies = 0;

  constructor(
    /** The message it belongs to. */
    readonly message: OutgoingMessage,
    /** Byte offset inside the message. */
    readonly offset: number,
    /** Payload length in bytes. */
    readonly length: number,
  ) {}

  /** The payload bytes (a view of the message). */
  payload(): Uint8Array {
    return this.message.data.subarray(this.offset, this.offset + this.length);
  }
}

/** An application message handed to a channel, held until every fragment is acknowledged (R-CHAN-6). */
export class OutgoingMessage {
  /** Fragments, in offset order. */
  readonly fragments: OutgoingFragment[] = [];
  /** Fragments not yet acknowledged. */
  unackedFragments: number;
  /** Index of the next fragment never sent. */
  nextUnsent = 0;
  /** Given up on a partially reliable channel (deadline passed or a fragment lost, spec §12.1). */
  abandoned = false;

  constructor(
    /** Channel id. */
    readonly channelId: number,
    /** Message id within the channel (R-CHAN-2). */
    readonly messageId: number,
    /** The message bytes (owned by the connection until acknowledged). */
    readonly data: Uint8Array,
    /** Largest fragment payload (bytes). */
    fragmentBytes: number,
    /** When the application handed it over (ms). */
    readonly enqueuedAtMs: number,
    /** When it stops being worth sending (ms): `Infinity` on reliable channels (spec §12.1). */
    readonly expiresAtMs: number = Number.POSITIVE_INFINITY,
  ) {
    const count = Math.max(1, Math.ceil(data.length / fragmentBytes));
    for (let i = 0; i < count; i++) {
      const offset = i * fragmentBytes;
      this.fragments.push(new OutgoingFragment(this, offset, Math.min(fragmentBytes, data.length - offset)));
    }
    this.unackedFragments = count;
  }

  /** Whether every fragment has been sent at least once. */
  get fullySent(): boolean {
    return this.nextUnsent >= this.fragments.length;
  }
}
