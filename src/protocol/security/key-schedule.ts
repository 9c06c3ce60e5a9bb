import type { KeyObject } from 'node:crypto';
import { type AeadKey, aeadKeyBytes, aeadNonceBytes, ascii, concat, hkdf, sha256, x25519 } from './crypto.ts';
import { SecurityMode } from './handshake-codec.ts';

/** Hashed into every transcript, so keys of another protocol or version can never match (spec §13.5). */
const protocolName = ascii('Ferry v1 NK/PSK X25519 AES-128-GCM SHA-256');

/** The three keys of one direction: one per packet kind, so their nonces can never collide (R-CRYPTO-3). */
export interface DirectionKeys {
  /** DATA packets: nonce from the header's packet number. */
  data: AeadKey;
  /** FEC_REPAIR packets: nonce from an explicit repair counter. */
  repair: AeadKey;
  /** HANDSHAKE control packets (path validation): nonce from the header's packet number. */
  control: AeadKey;
}

/** Keys of an established connection, as seen from one side. */
export interface TrafficKeys {
  send: DirectionKeys;
  receive: DirectionKeys;
}

/** The state after the client's first flight (both sides compute it): transcript hash, chaining key, early key. */
export interface EarlySecrets {
  transcript: Uint8Array;
  chainingKey: Uint8Array;
  /** Seals the client's parameters in the Initial. */
  earlyKey: AeadKey;
}

/** The state after the server's ephemeral share: seals the server's parameters, and seeds the traffic keys. */
export interface HandshakeSecrets {
  transcript: Uint8Array;
  chainingKey: Uint8Array;
  helloKey: AeadKey;
}

function aeadKey(secret: Uint8Array, transcript: Uint8Array, label: string): AeadKey {
  return {
    key: hkdf(secret, transcript, `${label} key`, aeadKeyBytes),
    iv: hkdf(secret, transcript, `${label} iv`, aeadNonceBytes),
  };
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

/**
 * The transcript and chaining key after the Initial (R-CRYPTO-4). `firstSecret` is X25519(client ephemeral,
 * server static) in static-key mode (Noise NK "es") or the pre-shared key in PSK mode: only the real server can
 * compute it, so everything later authenticates the server. `prologue` is the server's static public key (or
 * empty in PSK mode).
 */
export function earlySecrets(
  mode: SecurityMode,
  prologue: Uint8Array,
  version: number,
  connectionId: Uint8Array,
  clientEphemeral: Uint8Array,
  firstSecret: Uint8Array,
): EarlySecrets {
  const h0 = sha256(protocolName, Uint8Array.of(mode), prologue);
  const transcript = sha256(
    h0,
    u32(version),
    Uint8Array.of(connectionId.length),
    connectionId,
    clientEphemeral,
  );
  const chainingKey = hkdf(firstSecret, transcript, 'ferry chain 1', 32);
  return { transcript, chainingKey, earlyKey: aeadKey(chainingKey, transcript, 'ferry early') };
}

/** Mixes the ephemeral-ephemeral secret (Noise "ee", forward secrecy) after the server's share. */
export function handshakeSecrets(
  early: EarlySecrets,
  sealedClientParams: Uint8Array,
  serverEphemeral: Uint8Array,
  ephemeralSecret: Uint8Array,
): HandshakeSecrets {
  const transcript = sha256(early.transcript, sealedClientParams, serverEphemeral);
  const chainingKey = hkdf(ephemeralSecret, early.chainingKey, 'ferry chain 2', 32);
  return { transcript, chainingKey, helloKey: aeadKey(chainingKey, transcript, 'ferry hello') };
}

/** Traffic keys for `role`, bound to the whole transcript including the server's sealed parameters. */
export function trafficKeys(
  secrets: HandshakeSecrets,
  sealedServerParams: Uint8Array,
  role: 'client' | 'server',
): TrafficKeys {
  const transcript = sha256(secrets.transcript, sealedServerParams);
  const direction = (name: string): DirectionKeys => ({
    data: aeadKey(secrets.chainingKey, transcript, `ferry ${name} data`),
    repair: aeadKey(secrets.chainingKey, transcript, `ferry ${name} repair`),
    control: aeadKey(secrets.chainingKey, transcript, `ferry ${name} control`),
  });
  const c2s = direction('c2s');
  const s2c = direction('s2c');
  return role === 'client' ? { send: c2s, receive: s2c } : { send: s2c, receive: c2s };
}

/** The "es" or PSK input of {@link earlySecrets}, or undefined when the peer's key is invalid. */
export function firstSecret(
  mode: SecurityMode,
  psk: Uint8Array | undefined,
  privateKey: KeyObject | undefined,
  peerPublic: Uint8Array,
): Uint8Array | undefined {
  if (mode === SecurityMode.psk) return psk === undefined ? undefined : concat(psk);
  if (mode === SecurityMode.staticKey && privateKey) return x25519(privateKey, peerPublic);
  return undefined;
}
