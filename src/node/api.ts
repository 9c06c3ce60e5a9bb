import type { Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { FecOptions } from '../fec/fec-session.ts';
import type { ConnectionConfig } from '../protocol/connection-config.ts';
import type { SecurityLimits, SecuritySettings } from '../protocol/security/security-options.ts';
import { formatAddress, parseAddress, type UdpAddress } from './address.ts';
import { FerryConnection } from './connection.ts';
import { FerryOptionsError } from './errors.ts';
import { FerryServer } from './server.ts';
import { UdpEndpoint } from './udp-endpoint.ts';

/** Options shared by {@link listen} and {@link connect}. */
export interface EndpointCommonOptions {
  /**
   * `true` turns encryption and authentication off: nothing is private or authenticated. Both sides must say so
   * (an encrypted side never talks to a plaintext one, spec §13, R-HS-7); for research and benchmarks only.
   */
  insecurePlaintext?: boolean;
  /** Pre-shared key (32 bytes) held by both sides, instead of a static key pair. */
  psk?: Uint8Array;
  /** Handshake limits and timers (spec §13.7): pending handshakes, per-source rate, cookie lifetime, … */
  handshake?: Partial<SecurityLimits>;
  /** A socket the host already owns (embedding): used as is, never bound or closed by Ferry. */
  socket?: Socket;
  /** Family of the socket Ferry creates. Default: from the address (`udp4` for IPv4). */
  type?: 'udp4' | 'udp6';
  /** Connection tunables (spec §5–§10), e.g. `idleTimeoutMs`, `closeTimeoutMs`, `sendBufferBytes`. */
  config?: Partial<ConnectionConfig>;
  /** Kernel socket buffer size (bytes) for the socket Ferry creates; absent keeps the OS default. */
  socketBufferBytes?: number;
  /**
   * Forward error correction (spec §11): `true` for the defaults, or its settings (class, block size and delay,
   * …). Repairs losses without a round trip at the cost of parity bytes; a channel picks its class with
   * `openChannel({ fec })`. A peer without FEC simply drops the repair packets. Default off.
   */
  fec?: boolean | FecOptions;
}

/** Options of {@link listen}. */
export interface ListenOptions extends EndpointCommonOptions {
  /** Port to bind; 0 (default) picks a free one (see `server.address()`). */
  port?: number;
  /** Address to bind. Default: all interfaces of the family. */
  host?: string;
  /** Most connections at once (default 10 000); datagrams that would open more are dropped and counted. */
  maxConnections?: number;
  /** Connection id length in bytes for connections clients open to this server. */
  connectionIdLength?: 4 | 8 | 16;
  /** The server's static X25519 private key (32 bytes; `generateKeyPair()`); clients pin its public key. */
  staticKey?: Uint8Array;
}

/** Options of {@link connect}. */
export interface ConnectOptions extends EndpointCommonOptions {
  /** Local address to bind. Default: all interfaces. */
  bindAddress?: string;
  /** Local port to bind; 0 (default) picks a free one. */
  bindPort?: number;
  /** Reject if the server has not confirmed the connection within this long (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /** Connection id length in bytes (R-WIRE-7). Default 4. */
  connectionIdLength?: 4 | 8 | 16;
  /** The server's static X25519 public key (32 bytes), pinned: the handshake fails unless the server holds it. */
  serverPublicKey?: Uint8Array;
}

/** Exactly one of a key, a PSK or the plaintext opt-in; anything else is a configuration mistake. */
function securityOf(
  where: string,
  key: Uint8Array | undefined,
  keyName: string,
  options: EndpointCommonOptions | undefined,
): SecuritySettings {
  const given = [key !== undefined, options?.psk !== undefined, options?.insecurePlaintext === true];
  const count = given.filter(Boolean).length;
  if (count === 0) {
    throw new FerryOptionsError(
      'no-credentials',
      `${where}: pass { ${keyName} } or { psk }, or { insecurePlaintext: true } on both sides to go unencrypted`,
    );
  }
  if (count > 1) {
    throw new FerryOptionsError(
      'conflicting-credentials',
      `${where}: give only one of ${keyName}, psk, insecurePlaintext`,
    );
  }
  const check = (bytes: Uint8Array, name: string): Uint8Array => {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
      throw new FerryOptionsError('invalid-key', `${where}: ${name} must be a 32-byte Uint8Array`);
    }
    return bytes.slice();
  };
  if (options?.psk !== undefined) return { mode: 'psk', psk: check(options.psk, 'psk') };
  if (key === undefined) return { mode: 'plaintext' };
  return keyName === 'staticKey'
    ? { mode: 'static-key', staticPrivateKey: check(key, keyName) }
    : { mode: 'static-key', serverPublicKey: check(key, keyName) };
}

/**
 * Starts a Ferry server on a UDP socket. Resolves once the socket is bound; rejects with `FerryOptionsError`
 * unless exactly one of `staticKey`, `psk` or `insecurePlaintext: true` is given, or with the bind error.
 */
export async function listen(options: ListenOptions): Promise<FerryServer> {
  const security = securityOf('listen', options?.staticKey, 'staticKey', options);
  const endpoint = await UdpEndpoint.open({
    socket: options.socket,
    type: options.type ?? (options.host !== undefined && isIP(options.host) === 6 ? 'udp6' : 'udp4'),
    bindAddress: options.host,
    port: options.port ?? 0,
    socketBufferBytes: options.socketBufferBytes,
    acceptConnections: true,
    config: options.config,
    connectionIdLength: options.connectionIdLength,
    maxConnections: options.maxConnections,
    security,
    limits: options.handshake,
    fec: options.fec,
  });
  return new FerryServer(endpoint);
}

/**
 * Opens a connection to a Ferry server at `address` (`host:port`, `[v6]:port`, or `{ host, port }`; a host
 * name is resolved with the OS resolver) and resolves once the handshake completed (spec §13): the server proved
 * it holds the private key of `serverPublicKey` (or the `psk`). Rejects with `FerryClosedError` —
 * `connect-timeout` after `connectTimeoutMs` without an answer, `version-mismatch` — and with
 * `FerryOptionsError` on bad options.
 */
export async function connect(
  address: string | UdpAddress,
  options: ConnectOptions,
): Promise<FerryConnection> {
  const security = securityOf('connect', options?.serverPublicKey, 'serverPublicKey', options);
  const target = typeof address === 'string' ? parseAddress(address) : address;
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65_535) {
    throw new FerryOptionsError('invalid-address', `invalid port ${target.port}`);
  }
  const family = options.type === 'udp6' ? 6 : options.type === 'udp4' ? 4 : 0;
  const host = isIP(target.host) ? target.host : (await lookup(target.host, { family })).address;
  const endpoint = await UdpEndpoint.open({
    socket: options.socket,
    type: options.type ?? (isIP(host) === 6 ? 'udp6' : 'udp4'),
    bindAddress: options.bindAddress,
    port: options.bindPort ?? 0,
    socketBufferBytes: options.socketBufferBytes,
    acceptConnections: false,
    config: options.config,
    connectionIdLength: options.connectionIdLength,
    security,
    limits: { ...options.handshake, handshakeTimeoutMs: options.connectTimeoutMs ?? 10_000 },
    fec: options.fec,
  });
  const remote = formatAddress(host, target.port);
  const connection = new FerryConnection(endpoint, endpoint.connect(remote), remote, true);
  await connection.establish();
  return connection;
}
