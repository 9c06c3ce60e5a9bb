import { encodeHeader, headerLength, PacketType } from '../wire/header.ts';
import { WireReader } from '../wire/reader.ts';
import { varintLength } from '../wire/varint.ts';
import { writeBytes, writeU8, writeVarint } from '../wire/writer.ts';
import { cookieBytes } from './cookie.ts';
import { x25519KeyBytes } from './crypto.ts';

/** The protocol version this implementation speaks (spec §13.2, R-HS-1). */
export const ferryVersion = 1;
/** Versions this implementation accepts, listed in version negotiation replies (R-HS-2). */
export const supportedVersions: readonly number[] = [ferryVersion];
/** A client Initial is padded to at least this many bytes (R-HS-3): the 3× amplification budget of replies. */
export const minInitialDatagramBytes = 1200;
/** Stateless reset token length (bytes), R-HS-9. */
export const resetTokenBytes = 16;
/** Path challenge / response data length (bytes), R-PATH-1. */
export const pathDataBytes = 8;
/** Most versions a version negotiation reply lists (it stays far below its trigger's size), R-HS-2. */
export const maxListedVersions = 16;

/** The first body byte of a HANDSHAKE packet (spec §13.2). */
export const HandshakeKind = {
  initial: 1,
  retry: 2,
  serverHello: 3,
  versionNegotiation: 4,
  statelessReset: 5,
  /** Sealed under the connection's control key: path challenge / response (spec §13.6). */
  control: 6,
} as const;

/** How a connection protects its packets, fixed by each side's configuration and never negotiated (R-HS-7). */
export const SecurityMode = {
  /** No protection: only when both sides opted in (`insecurePlaintext`). */
  plaintext: 0,
  /** The client pins the server's static X25519 public key (Noise NK). */
  staticKey: 1,
  /** Both sides hold the same 32-byte pre-shared key. */
  psk: 2,
} as const;

/** One of the {@link SecurityMode} values. */
export type SecurityMode = (typeof SecurityMode)[keyof typeof SecurityMode];

/** Connection parameters each side announces in the handshake (spec §13.4, R-HS-6). */
export interface TransportParams {
  /** Largest message this side accepts (bytes). */
  maxMessageBytes: number;
  /** Most channels this side lets its peer use. */
  maxChannels: number;
  /** This side's idle timeout (ms); the connection uses the smaller. */
  idleTimeoutMs: number;
  /** Whether this side can send and receive FEC REPAIR packets (spec §11). */
  fec: boolean;
  /** Server only: the stateless reset token for this connection id (R-HS-9); empty from the client. */
  resetToken: Uint8Array;
}

/** A client's first flight (R-HS-3). */
export interface InitialMessage {
  kind: typeof HandshakeKind.initial;
  version: number;
  mode: SecurityMode;
  /** The client's ephemeral X25519 public key (zeros in plaintext mode). */
  ephemeralKey: Uint8Array;
  /** Empty, or the cookie of a Retry. */
  cookie: Uint8Array;
  /** The client's {@link TransportParams}: sealed under the early key, or plain in plaintext mode. */
  params: Uint8Array;
  /** Body length after zero padding (the encoder pads up to it; at least the unpadded length). */
  paddedBodyBytes: number;
}

/** The server's stateless answer to an Initial without a valid cookie (R-HS-4). */
export interface RetryMessage {
  kind: typeof HandshakeKind.retry;
  version: number;
  cookie: Uint8Array;
}

/** The server's answer that completes the handshake (R-HS-5). */
export interface ServerHelloMessage {
  kind: typeof HandshakeKind.serverHello;
  version: number;
  mode: SecurityMode;
  ephemeralKey: Uint8Array;
  /** The server's {@link TransportParams}, sealed under the handshake key (plain in plaintext mode). */
  params: Uint8Array;
}

/** The versions a server speaks, sent for an Initial of an unknown version (R-HS-2). */
export interface VersionNegotiationMessage {
  kind: typeof HandshakeKind.versionNegotiation;
  versions: number[];
}

/** A server's "I have no state for this connection id" (R-HS-9). */
export interface StatelessResetMessage {
  kind: typeof HandshakeKind.statelessReset;
  token: Uint8Array;
}

/** A sealed control message; the header's packet number is its nonce (R-PATH-1). */
export interface ControlMessage {
  kind: typeof HandshakeKind.control;
  sealed: Uint8Array;
}

/** Any HANDSHAKE packet body. */
export type HandshakeMessage =
  | InitialMessage
  | RetryMessage
  | ServerHelloMessage
  | VersionNegotiationMessage
  | StatelessResetMessage
  | ControlMessage;

/** Why a HANDSHAKE body (or a parameter block, or a control payload) did not decode. */
export type HandshakeDecodeError =
  | 'truncated'
  | 'unknown-kind'
  | 'invalid-field'
  | 'trailing-bytes'
  | 'non-zero-padding';

/** A decoded value, or why the untrusted bytes are malformed. Never thrown. */
export type HandshakeDecodeResult<T> = { ok: true; value: T } | { ok: false; reason: HandshakeDecodeError };

const fail = (reason: HandshakeDecodeError): { ok: false; reason: HandshakeDecodeError } => ({
  ok: false,
  reason,
});

function unpaddedInitialBytes(m: InitialMessage): number {
  return 1 + 4 + 1 + x25519KeyBytes + 1 + m.cookie.length + varintLength(m.params.length) + m.params.length;
}

/** Encoded body length of `message`. */
export function handshakeBodyLength(message: HandshakeMessage): number {
  switch (message.kind) {
    case HandshakeKind.initial:
      return Math.max(unpaddedInitialBytes(message), message.paddedBodyBytes);
    case HandshakeKind.retry:
      return 1 + 4 + 1 + message.cookie.length;
    case HandshakeKind.serverHello:
      return 1 + 4 + 1 + x25519KeyBytes + message.params.length;
    case HandshakeKind.versionNegotiation:
      return 1 + 1 + 4 * message.versions.length;
    case HandshakeKind.statelessReset:
      return 1 + message.token.length;
    case HandshakeKind.control:
      return 1 + message.sealed.length;
  }
}

function writeU32(buf: Uint8Array, at: number, value: number): number {
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setUint32(at, value >>> 0);
  return at + 4;
}

/** Encodes `message` as a body into `buf` at `offset`; returns the offset after it. */
export function encodeHandshakeBody(message: HandshakeMessage, buf: Uint8Array, offset: number): number {
  let at = writeU8(buf, offset, message.kind);
  switch (message.kind) {
    case HandshakeKind.initial: {
      at = writeU32(buf, at, message.version);
      at = writeU8(buf, at, message.mode);
      at = writeBytes(buf, at, message.ephemeralKey);
      at = writeU8(buf, at, message.cookie.length);
      at = writeBytes(buf, at, message.cookie);
      at = writeVarint(buf, at, message.params.length);
      at = writeBytes(buf, at, message.params);
      const end = offset + handshakeBodyLength(message);
      buf.fill(0, at, end);
      return end;
    }
    case HandshakeKind.retry:
      at = writeU32(buf, at, message.version);
      at = writeU8(buf, at, message.cookie.length);
      return writeBytes(buf, at, message.cookie);
    case HandshakeKind.serverHello:
      at = writeU32(buf, at, message.version);
      at = writeU8(buf, at, message.mode);
      at = writeBytes(buf, at, message.ephemeralKey);
      return writeBytes(buf, at, message.params);
    case HandshakeKind.versionNegotiation:
      at = writeU8(buf, at, message.versions.length);
      for (const v of message.versions) at = writeU32(buf, at, v);
      return at;
    case HandshakeKind.statelessReset:
      return writeBytes(buf, at, message.token);
    case HandshakeKind.control:
      return writeBytes(buf, at, message.sealed);
  }
}

/** A whole HANDSHAKE packet: the cleartext header (spec §3.1, type 1) then `message`. */
export function encodeHandshakePacket(
  connectionId: Uint8Array,
  packetNumber: number,
  message: HandshakeMessage,
): Uint8Array {
  const header = { type: PacketType.handshake, connectionId, keyPhase: false, packetNumber };
  const out = new Uint8Array(headerLength(header) + handshakeBodyLength(message));
  encodeHandshakeBody(message, out, encodeHeader(header, out, 0));
  return out;
}

function readU32(r: WireReader): number {
  if (r.remaining < 4) return -1;
  const b = r.bytes;
  const at = r.offset;
  r.offset += 4;
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function readMode(r: WireReader): SecurityMode | -1 {
  const mode = r.u8();
  return mode === 0 || mode === 1 || mode === 2 ? mode : -1;
}

/**
 * The version field of an Initial body at `offset`, or -1 when the body is not an Initial long enough to carry
 * one. Read before the rest, so an unknown version gets a version negotiation reply (R-HS-2).
 */
export function peekInitialVersion(bytes: Uint8Array, offset: number): number {
  if (bytes[offset] !== HandshakeKind.initial) return -1;
  const r = new WireReader(bytes, offset + 1);
  return readU32(r);
}

/** Decodes a HANDSHAKE body from `offset` to the end of `bytes` (spec §13.2). Never throws. */
export function decodeHandshakeBody(
  bytes: Uint8Array,
  offset: number,
): HandshakeDecodeResult<HandshakeMessage> {
  const r = new WireReader(bytes, offset);
  const kind = r.u8();
  if (kind < 0) return fail('truncated');
  switch (kind) {
    case HandshakeKind.initial: {
      const version = readU32(r);
      const mode = readMode(r);
      const ephemeralKey = r.view(x25519KeyBytes);
      const cookieLength = r.u8();
      if (version < 0 || ephemeralKey === undefined || cookieLength < 0) return fail('truncated');
      if (mode === -1 || (cookieLength !== 0 && cookieLength !== cookieBytes)) return fail('invalid-field');
      const cookie = r.view(cookieLength);
      const paramsLength = r.varint();
      if (cookie === undefined || paramsLength < 0) return fail('truncated');
      const params = r.view(paramsLength);
      if (params === undefined) return fail('truncated');
      for (let i = r.offset; i < bytes.length; i++) if (bytes[i] !== 0) return fail('non-zero-padding');
      return {
        ok: true,
        value: {
          kind,
          version,
          mode,
          ephemeralKey,
          cookie,
          params,
          paddedBodyBytes: bytes.length - offset,
        },
      };
    }
    case HandshakeKind.retry: {
      const version = readU32(r);
      const cookieLength = r.u8();
      if (version < 0 || cookieLength < 0) return fail('truncated');
      if (cookieLength !== cookieBytes) return fail('invalid-field');
      const cookie = r.view(cookieLength);
      if (cookie === undefined) return fail('truncated');
      if (r.remaining !== 0) return fail('trailing-bytes');
      return { ok: true, value: { kind, version, cookie } };
    }
    case HandshakeKind.serverHello: {
      const version = readU32(r);
      const mode = readMode(r);
      const ephemeralKey = r.view(x25519KeyBytes);
      if (version < 0 || ephemeralKey === undefined) return fail('truncated');
      if (mode === -1) return fail('invalid-field');
      const params = r.view(r.remaining)!;
      return { ok: true, value: { kind, version, mode, ephemeralKey, params } };
    }
    case HandshakeKind.versionNegotiation: {
      const count = r.u8();
      if (count < 0) return fail('truncated');
      if (count === 0 || count > maxListedVersions) return fail('invalid-field');
      const versions: number[] = [];
      for (let i = 0; i < count; i++) {
        const v = readU32(r);
        if (v < 0) return fail('truncated');
        versions.push(v);
      }
      if (r.remaining !== 0) return fail('trailing-bytes');
      return { ok: true, value: { kind, versions } };
    }
    case HandshakeKind.statelessReset: {
      const token = r.view(resetTokenBytes);
      if (token === undefined) return fail('truncated');
      if (r.remaining !== 0) return fail('trailing-bytes');
      return { ok: true, value: { kind, token } };
    }
    case HandshakeKind.control:
      return { ok: true, value: { kind, sealed: r.view(r.remaining)! } };
    default:
      return fail('unknown-kind');
  }
}

/** Encoded length of `params`. */
export function transportParamsLength(params: TransportParams): number {
  return (
    varintLength(params.maxMessageBytes) +
    varintLength(params.maxChannels) +
    varintLength(params.idleTimeoutMs) +
    2 +
    params.resetToken.length
  );
}

/** Encodes `params` (spec §13.4): three varints, a flags byte, a token length byte and the token. */
export function encodeTransportParams(params: TransportParams): Uint8Array {
  const out = new Uint8Array(transportParamsLength(params));
  let at = writeVarint(out, 0, params.maxMessageBytes);
  at = writeVarint(out, at, params.maxChannels);
  at = writeVarint(out, at, params.idleTimeoutMs);
  at = writeU8(out, at, params.fec ? 1 : 0);
  at = writeU8(out, at, params.resetToken.length);
  writeBytes(out, at, params.resetToken);
  return out;
}

/** Decodes a parameter block that must fill `bytes` exactly. Never throws. */
export function decodeTransportParams(bytes: Uint8Array): HandshakeDecodeResult<TransportParams> {
  const r = new WireReader(bytes);
  const maxMessageBytes = r.varint();
  const maxChannels = r.varint();
  const idleTimeoutMs = r.varint();
  const flags = r.u8();
  const tokenLength = r.u8();
  if (tokenLength < 0) return fail('truncated');
  if ((flags & ~1) !== 0 || (tokenLength !== 0 && tokenLength !== resetTokenBytes))
    return fail('invalid-field');
  const token = r.view(tokenLength);
  if (token === undefined) return fail('truncated');
  if (r.remaining !== 0) return fail('trailing-bytes');
  return {
    ok: true,
    value: { maxMessageBytes, maxChannels, idleTimeoutMs, fec: flags === 1, resetToken: token.slice() },
  };
}

/** The parameters both sides use: the smaller limit of each, FEC only if both support it (R-HS-6). */
export function negotiateParams(local: TransportParams, peer: TransportParams): TransportParams {
  return {
    maxMessageBytes: Math.min(local.maxMessageBytes, peer.maxMessageBytes),
    maxChannels: Math.min(local.maxChannels, peer.maxChannels),
    idleTimeoutMs: Math.min(local.idleTimeoutMs, peer.idleTimeoutMs),
    fec: local.fec && peer.fec,
    resetToken: peer.resetToken.length > 0 ? peer.resetToken : local.resetToken,
  };
}

/** Control message types inside a sealed control packet (spec §13.6). */
export const ControlType = { pathChallenge: 1, pathResponse: 2 } as const;

/** A decoded control payload. */
export interface ControlPayload {
  type: (typeof ControlType)[keyof typeof ControlType];
  /** 8 bytes of challenge data, echoed by the response (R-PATH-1). */
  data: Uint8Array;
}

/** Encodes a control payload: a type byte and 8 data bytes. */
export function encodeControlPayload(payload: ControlPayload): Uint8Array {
  const out = new Uint8Array(1 + pathDataBytes);
  out[0] = payload.type;
  out.set(payload.data, 1);
  return out;
}

/** Decodes a control payload (exactly 9 bytes). Never throws. */
export function decodeControlPayload(bytes: Uint8Array): HandshakeDecodeResult<ControlPayload> {
  if (bytes.length < 1 + pathDataBytes) return fail('truncated');
  if (bytes.length > 1 + pathDataBytes) return fail('trailing-bytes');
  const type = bytes[0];
  if (type !== ControlType.pathChallenge && type !== ControlType.pathResponse) return fail('unknown-kind');
  return { ok: true, value: { type, data: bytes.slice(1) } };
}
