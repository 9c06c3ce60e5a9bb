import type { TransportParams } from './handshake-codec.ts';
import { defaultKeyUpdatePackets } from './packet-protection.ts';

/**
 * How an endpoint protects its connections (spec §13.1). A server holds its static X25519 private key, a client
 * pins the server's public key; or both hold one pre-shared key; or both opted into plaintext. The mode is
 * configuration, never negotiated: a peer in another mode is refused (R-HS-7).
 */
export type SecuritySettings =
  | {
      mode: 'static-key';
      /** Server: its 32-byte static X25519 private key. */
      staticPrivateKey: Uint8Array;
      serverPublicKey?: undefined;
    }
  | {
      mode: 'static-key';
      /** Client: the server's 32-byte static X25519 public key, pinned. */
      serverPublicKey: Uint8Array;
      staticPrivateKey?: undefined;
    }
  | {
      mode: 'psk';
      /** 32 bytes shared by client and server. */
      psk: Uint8Array;
    }
  | {
      /** No encryption or authentication: both sides must say so (research, benchmarks). */
      mode: 'plaintext';
    };

/** Local connection parameters announced in the handshake (the reset token is added by the endpoint). */
export type LocalParams = Omit<TransportParams, 'resetToken'>;

/** Limits and timers of a secure endpoint (spec §13.7), with defaults. */
export interface SecurityLimits {
  /** Server connections whose client has not yet sent an authenticated packet (R-HS-8). */
  maxPendingHandshakes: number;
  /** Key-agreement handshakes per second per source host (R-HS-8). */
  handshakesPerSecondPerSource: number;
  /** Burst of the per-source handshake bucket. */
  handshakeBurstPerSource: number;
  /** A client gives up, and a server drops an unconfirmed connection, after this long (ms). */
  handshakeTimeoutMs: number;
  /** First retransmission interval of a client Initial and of a path challenge (ms); doubles each time. */
  handshakeRetryMs: number;
  /** Cookie time bucket (ms): a cookie is valid for one to two of these (R-HS-4). */
  cookieLifetimeMs: number;
  /** Stateless resets per second, endpoint-wide (R-HS-9). */
  resetsPerSecond: number;
  /** Client packets queued while its handshake runs; more are dropped (the connection retransmits them). */
  maxQueuedBeforeHandshake: number;
  /** DATA or REPAIR packets sealed under one key before the next key (R-CRYPTO-7). */
  keyUpdatePackets: number;
}

/** Defaults of {@link SecurityLimits}. */
export const defaultSecurityLimits: Readonly<SecurityLimits> = {
  maxPendingHandshakes: 1024,
  handshakesPerSecondPerSource: 50,
  handshakeBurstPerSource: 100,
  handshakeTimeoutMs: 10_000,
  handshakeRetryMs: 200,
  cookieLifetimeMs: 10_000,
  resetsPerSecond: 100,
  maxQueuedBeforeHandshake: 256,
  keyUpdatePackets: defaultKeyUpdatePackets,
};

/** Counters of a secure endpoint: every dropped datagram lands in exactly one of them (R-HS-10). */
export interface SecureEndpointStats {
  /** Undecodable headers or HANDSHAKE bodies, type-3 packets. */
  malformed: number;
  /** DATA / REPAIR packets for no known connection. */
  unroutable: number;
  /** Initials below the 1200-byte minimum. */
  initialTooSmall: number;
  /** Version negotiation replies sent. */
  versionNegotiationsSent: number;
  /** Retry (cookie) replies sent. */
  retriesSent: number;
  /** Initials carrying a cookie that did not verify. */
  invalidCookies: number;
  /** Peers in another security mode (a refused downgrade or misconfiguration), R-HS-7. */
  modeMismatches: number;
  /** Handshakes refused at the per-source rate limit. */
  rateLimited: number;
  /** Handshakes refused at `maxPendingHandshakes`. */
  pendingHandshakeLimit: number;
  /** Handshakes refused at the connection limit or while not accepting. */
  connectionLimit: number;
  /** Handshakes completed (server: ServerHello sent; client: ServerHello verified). */
  handshakesCompleted: number;
  /** Client handshakes that timed out or met a version mismatch; server connections never confirmed. */
  handshakesFailed: number;
  /** Packets whose AEAD tag (or sealed handshake parameters) did not verify: forged or corrupted. */
  forged: number;
  /** Packets rejected by the replay window before decryption. */
  replayed: number;
  /** Packets for a connection that cannot read them yet (before its handshake completed) or any more. */
  undecryptable: number;
  /** HANDSHAKE packets that make no sense in the current state (duplicates, strays). */
  unexpected: number;
  /** Sends held back by the 3× anti-amplification limit (R-HS-3, R-PATH-2). */
  amplificationBlocked: number;
  /** Stateless resets sent / refused by the rate limit / accepted. */
  resetsSent: number;
  resetsRateLimited: number;
  resetsReceived: number;
  /** Path challenges sent and migrations completed (R-PATH-1). */
  pathChallengesSent: number;
  migrations: number;
  /** Client packets dropped because the pre-handshake queue was full. */
  queuedDropped: number;
}

/** Fresh zeroed {@link SecureEndpointStats}. */
export function zeroSecureStats(): SecureEndpointStats {
  return {
    malformed: 0,
    unroutable: 0,
    initialTooSmall: 0,
    versionNegotiationsSent: 0,
    retriesSent: 0,
    invalidCookies: 0,
    modeMismatches: 0,
    rateLimited: 0,
    pendingHandshakeLimit: 0,
    connectionLimit: 0,
    handshakesCompleted: 0,
    handshakesFailed: 0,
    forged: 0,
    replayed: 0,
    undecryptable: 0,
    unexpected: 0,
    amplificationBlocked: 0,
    resetsSent: 0,
    resetsRateLimited: 0,
    resetsReceived: 0,
    pathChallengesSent: 0,
    migrations: 0,
    queuedDropped: 0,
  };
}
