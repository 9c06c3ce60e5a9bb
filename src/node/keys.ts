import { randomFillSync } from 'node:crypto';
import { x25519PublicKey } from '../protocol/security/crypto.ts';

/** A server's static X25519 key pair (spec §13.1): keep `privateKey` secret, give clients `publicKey`. */
export interface FerryKeyPair {
  /** 32 bytes for `listen({ staticKey })`. */
  privateKey: Uint8Array;
  /** 32 bytes for `connect(address, { serverPublicKey })`. */
  publicKey: Uint8Array;
}

/** A fresh static key pair from the CSPRNG. */
export function generateKeyPair(): FerryKeyPair {
  const privateKey = new Uint8Array(32);
  randomFillSync(privateKey);
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

/** The public key of a 32-byte static private key (e.g. one loaded from a file). */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return x25519PublicKey(privateKey);
}

/** A fresh 32-byte pre-shared key from the CSPRNG, for `psk` on both sides. */
export function generatePsk(): Uint8Array {
  const psk = new Uint8Array(32);
  randomFillSync(psk);
  return psk;
}
