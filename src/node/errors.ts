import type { CloseInitiator } from '../protocol/connection-events.ts';

/** Why a {@link FerryClosedError} was raised: how the connection ended, or that it never came up. */
export type FerryClosedReason =
  | CloseInitiator
  | 'connect-timeout'
  | 'endpoint-closed'
  | 'version-mismatch'
  | 'handshake-timeout'
  | 'peer-reset';

/**
 * The connection ended (or never opened) before an operation could complete: a pending `send` whose message the
 * peer never confirmed, a `connect` that timed out or met another protocol version, or a connection the peer no
 * longer knows (a stateless reset, spec §13). Not a bug in the caller (that is `FerryUsageError`).
 */
export class FerryClosedError extends Error {
  override name = 'FerryClosedError';
  constructor(
    /** Machine-readable cause. */
    readonly reason: FerryClosedReason,
    message: string,
    /** Close code of the connection (spec §10), when it closed with one. */
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Invalid options to `listen` / `connect` (a configuration mistake, caught before any socket is opened). */
export class FerryOptionsError extends Error {
  override name = 'FerryOptionsError';
  constructor(
    /** Machine-readable reason. */
    readonly reason:
      | 'no-credentials'
      | 'conflicting-credentials'
      | 'invalid-key'
      | 'invalid-address'
      | 'invalid-option',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A message of a deadline or unreliable channel that the sender gave up on (spec §12.1, R-PR-2): its deadline
 * passed or, on an unreliable channel, a fragment was lost. The peer will not receive it.
 */
export class FerryExpiredError extends Error {
  override name = 'FerryExpiredError';
  constructor(
    /** Channel of the message. */
    readonly channelId: number,
    /** Core message id. */
    readonly messageId: number,
  ) {
    super(`message ${messageId} on channel ${channelId} expired before delivery`);
  }
}
