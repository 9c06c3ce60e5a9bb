/** Local misuse of the API: a bug in the caller, not the peer (design.md rule 4). */
export class FerryUsageError extends Error {
  override name = 'FerryUsageError';
  constructor(
    /** Machine-readable reason. */
    readonly reason:
      | 'message-too-large'
      | 'send-buffer-full'
      | 'connection-closed'
      | 'closing'
      | 'unsupported-channel-mode'
      | 'invalid-channel'
      | 'invalid-deadline',
    message: string,
  ) {
    super(message);
  }
}

/** Close codes Ferry itself uses (spec §10); applications use codes ≥ 0x100. */
export const CloseCode = {
  /** Graceful close, everything confirmed. */
  noError: 0x0,
  /** Graceful close timed out with messages unconfirmed. */
  closeTimeout: 0x1,
  /** The peer broke the protocol (R-CLOSE-5). */
  protocolViolation: 0x2,
  /** A flow-control or resource limit was exceeded by the peer. */
  limitExceeded: 0x3,
  /** Idle timeout (never sent on the wire). */
  idleTimeout: 0x4,
} as const;
