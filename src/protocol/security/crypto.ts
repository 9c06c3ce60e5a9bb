import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';

// Deterministic primitives of node:crypto only (spec §13.1, R-CRYPTO-1): no randomness is drawn here. Key
// material comes in as bytes, drawn by the caller from the injected RandomSource.

/** Length of an X25519 private or public key (bytes). */
export const x25519KeyBytes = 32;
/** AEAD key length: AES-128-GCM (bytes). */
export const aeadKeyBytes = 16;
/** AEAD nonce length (bytes). */
export const aeadNonceBytes = 12;
/** AEAD tag length (bytes), appended to every protected packet (R-CRYPTO-2). */
export const aeadTagBytes = 16;

/** DER prefix of a PKCS#8 X25519 private key; the 32 raw key bytes follow (RFC 8410). */
const pkcs8Prefix = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
/** DER prefix of an SPKI X25519 public key; the 32 raw key bytes follow (RFC 8410). */
const spkiPrefix = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** node:crypto reads DER from any Uint8Array; its typings ask for a Buffer, which the core never creates. */
function derBytes(bytes: Uint8Array): Buffer {
  return bytes as unknown as Buffer;
}

/** An X25519 key pair built from 32 private bytes (from the caller's RandomSource). */
export interface X25519KeyPair {
  /** The private key object, for {@link x25519}. */
  privateKey: KeyObject;
  /** The raw 32-byte public key. */
  publicKey: Uint8Array;
}

/** Builds the X25519 key pair whose private key is `privateBytes` (32 bytes, clamped by X25519 itself). */
export function x25519KeyPair(privateBytes: Uint8Array): X25519KeyPair {
  const privateKey = createPrivateKey({
    key: derBytes(concat(pkcs8Prefix, privateBytes)),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(spki.length - x25519KeyBytes)) };
}

/** The raw public key of 32 private bytes. */
export function x25519PublicKey(privateBytes: Uint8Array): Uint8Array {
  return x25519KeyPair(privateBytes).publicKey;
}

/**
 * X25519(private, peerPublic): the 32-byte shared secret, or undefined when the peer's key is invalid or yields
 * the all-zero secret (a low-order point, RFC 7748 §6.1).
 */
export function x25519(privateKey: KeyObject, peerPublic: Uint8Array): Uint8Array | undefined {
  if (peerPublic.length !== x25519KeyBytes) return undefined;
  try {
    const publicKey = createPublicKey({
      key: derBytes(concat(spkiPrefix, peerPublic)),
      format: 'der',
      type: 'spki',
    });
    const secret = new Uint8Array(diffieHellman({ privateKey, publicKey }));
    let any = 0;
    for (const b of secret) any |= b;
    return any === 0 ? undefined : secret;
  } catch {
    return undefined;
  }
}

/** SHA-256 of the concatenated parts. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return new Uint8Array(hash.digest());
}

/** HMAC-SHA-256 of the concatenated parts under `key`. */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = createHmac('sha256', key);
  for (const p of parts) mac.update(p);
  return new Uint8Array(mac.digest());
}

/** HKDF-SHA-256 (RFC 5869): `length` bytes from `ikm`, `salt` and the ASCII label `info`. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** Constant-time equality of two byte strings (false when the lengths differ). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** ASCII bytes of `text` (labels and protocol names). */
export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `concat` for the key schedule and transcript. */
export { concat };

/** An AEAD key and the IV its per-packet nonces are derived from (R-CRYPTO-3). */
export interface AeadKey {
  /** 16-byte AES-128-GCM key. */
  key: Uint8Array;
  /** 12-byte IV; a packet's nonce is the IV with the packet number XORed into its last 8 bytes. */
  iv: Uint8Array;
}

/** Each AEAD key imported once: building a cipher from a KeyObject skips the raw-key import per packet. */
const keyObjects = new WeakMap<AeadKey, KeyObject>();

function keyObjectOf(key: AeadKey): KeyObject {
  let object = keyObjects.get(key);
  if (object === undefined) {
    object = createSecretKey(key.key);
    keyObjects.set(key, object);
  }
  return object;
}

/** The options of every cipher (one object, not one per packet). */
const cipherOptions = { authTagLength: aeadTagBytes };
/** The nonce of the call under way: `createCipheriv` copies its IV, so one buffer serves every call. */
const nonce = new Uint8Array(aeadNonceBytes);

/** The nonce of packet `packetNumber` under `key` (RFC 9001 §5.3 construction): the IV XOR the 56-bit number. */
function nonceFor(key: AeadKey, packetNumber: number): Uint8Array {
  const iv = key.iv;
  let low = packetNumber >>> 0; // 32 low bits
  let high = (packetNumber - low) / 0x1_0000_0000; // ≤ 24 bits (numbers stay below 2^53, R-WIRE-10)
  for (let i = 0; i < 5; i++) nonce[i] = iv[i]!;
  for (let i = 11; i >= 8; i--) {
    nonce[i] = iv[i]! ^ (low & 0xff);
    low >>>= 8;
  }
  for (let i = 7; i >= 5; i--) {
    nonce[i] = iv[i]! ^ (high & 0xff);
    high >>>= 8;
  }
  return nonce;
}

/**
 * Seals `plaintext` for packet `packetNumber` with associated data `aad` into `out` at `offset` (ciphertext,
 * then the 16-byte tag). `out` must have room for `plaintext.length + aeadTagBytes` bytes.
 */
export function aeadSeal(
  key: AeadKey,
  packetNumber: number,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  const cipher = createCipheriv('aes-128-gcm', keyObjectOf(key), nonceFor(key, packetNumber), cipherOptions);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  out.set(body, offset);
  const final = cipher.final(); // empty for GCM, a counter mode
  if (final.length > 0) out.set(final, offset + body.length);
  out.set(cipher.getAuthTag(), offset + body.length + final.length);
}

/** Opens ciphertext-and-tag `sealed` of packet `packetNumber`: the plaintext, or undefined if forged. */
export function aeadOpen(
  key: AeadKey,
  packetNumber: number,
  aad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < aeadTagBytes) return undefined;
  const split = sealed.length - aeadTagBytes;
  try {
    const decipher = createDecipheriv(
      'aes-128-gcm',
      keyObjectOf(key),
      nonceFor(key, packetNumber),
      cipherOptions,
    );
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(split));
    const body = decipher.update(sealed.subarray(0, split));
    const final = decipher.final();
    // A plain Uint8Array view of node's Buffer: the core hands out no Buffers.
    if (final.length === 0) return new Uint8Array(body.buffer, body.byteOffset, body.length);
    return concat(body, final);
  } catch {
    return undefined;
  }
}
