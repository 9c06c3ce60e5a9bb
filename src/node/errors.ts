import type { CloseInitiator } from '../protocol/connection-events.ts';

/** Why a {@link FerryClosedError} was raised: how the connection ended, or that it never came up. */
export type FerryClosedReason = CloseInitiator | 'connect-timeout' | 'endpoint-closed';

/**
 * The connection ended (or never opened) before an operation could complete: a pending `send` whose message the
 * peer never confirmed, or a `connect` that timed out. Not a bug in the caller (that is `FerryUsageError`).
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
    readonly reason: 'plaintext-not-enabled' | 'invalid-address' | 'invalid-option',
    message: string,
  ) {
    super(message);
  }
}
