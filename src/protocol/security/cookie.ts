import { ascii, bytesEqual, hmacSha256 } from './crypto.ts';

/** Cookie length on the wire (bytes), R-HS-4. */
export const cookieBytes = 16;

const label = ascii('ferry cookie v1');

/**
 * Stateless address-validation cookies (spec §13.3, R-HS-4): HMAC-SHA-256 under a server secret over the client
 * address, the connection id and a time bucket, truncated to 16 bytes. The server keeps nothing per client: it
 * recomputes the cookie for the current and the previous bucket, so a cookie lives one to two `lifetimeMs`.
 */
export class CookieMinter {
  /** @param secret 32 server bytes from the RandomSource; never leaves the endpoint. */
  constructor(
    private readonly secret: Uint8Array,
    /** Bucket length (ms). */
    private readonly lifetimeMs: number,
  ) {}

  /** The cookie for `address` and `connectionId` at `nowMs`. */
  mint(nowMs: number, address: string, connectionId: Uint8Array): Uint8Array {
    return this.forBucket(Math.floor(nowMs / this.lifetimeMs), address, connectionId);
  }

  /** Whether `cookie` was minted for `address` and `connectionId` in this or the previous bucket. */
  verify(nowMs: number, address: string, connectionId: Uint8Array, cookie: Uint8Array): boolean {
    if (cookie.length !== cookieBytes) return false;
    const bucket = Math.floor(nowMs / this.lifetimeMs);
    return (
      bytesEqual(cookie, this.forBucket(bucket, address, connectionId)) ||
      bytesEqual(cookie, this.forBucket(bucket - 1, address, connectionId))
    );
  }

  private forBucket(bucket: number, address: string, connectionId: Uint8Array): Uint8Array {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, bucket);
    return hmacSha256(
      this.secret,
      label,
      b,
      ascii(address),
      Uint8Array.of(connectionId.length),
      connectionId,
    ).slice(0, cookieBytes);
  }
}
