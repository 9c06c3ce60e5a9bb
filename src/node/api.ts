import type { Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ConnectionConfig } from '../protocol/connection-config.ts';
import { formatAddress, parseAddress, type UdpAddress } from './address.ts';
import { FerryConnection } from './connection.ts';
import { FerryOptionsError } from './errors.ts';
import { FerryServer } from './server.ts';
import { UdpEndpoint } from './udp-endpoint.ts';

/** Options shared by {@link listen} and {@link connect}. */
export interface EndpointCommonOptions {
  /**
   * Must be `true`: this increment has no encryption, so nothing is authenticated or private. Required explicitly
   * on both sides so plaintext is never shipped by accident; the encrypted default arrives with the handshake.
   */
  insecurePlaintext: true;
  /** A socket the host already owns (embedding): used as is, never bound or closed by Ferry. */
  socket?: Socket;
  /** Family of the socket Ferry creates. Default: from the address (`udp4` for IPv4). */
  type?: 'udp4' | 'udp6';
  /** Connection tunables (spec §5–§10), e.g. `idleTimeoutMs`, `closeTimeoutMs`, `sendBufferBytes`. */
  config?: Partial<ConnectionConfig>;
  /** Kernel socket buffer size (bytes) for the socket Ferry creates; absent keeps the OS default. */
  socketBufferBytes?: number;
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
}

function requirePlaintextOptIn(options: { insecurePlaintext?: unknown } | undefined, where: string): void {
  if (options?.insecurePlaintext !== true) {
    throw new FerryOptionsError(
      'plaintext-not-enabled',
      `${where}: this build has no encryption yet; pass { insecurePlaintext: true } to use plaintext knowingly`,
    );
  }
}

/**
 * Starts a Ferry server on a UDP socket. Resolves once the socket is bound; rejects with `FerryOptionsError`
 * without `insecurePlaintext: true`, or with the bind error.
 */
export async function listen(options: ListenOptions): Promise<FerryServer> {
  requirePlaintextOptIn(options, 'listen');
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
  });
  return new FerryServer(endpoint);
}

/**
 * Opens a connection to a Ferry server at `address` (`host:port`, `[v6]:port`, or `{ host, port }`; a host
 * name is resolved with the OS resolver). Spec v0 has no handshake: the client sends an empty message on a
 * binding-reserved channel and resolves once the server acknowledged it, which proves the server holds the
 * connection. Rejects with `FerryClosedError('connect-timeout')` after `connectTimeoutMs`, and with
 * `FerryOptionsError` on bad options.
 */
export async function connect(
  address: string | UdpAddress,
  options: ConnectOptions,
): Promise<FerryConnection> {
  requirePlaintextOptIn(options, 'connect');
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
  });
  const remote = formatAddress(host, target.port);
  const connection = new FerryConnection(endpoint, endpoint.connect(remote), remote, true);
  await connection.establish(options.connectTimeoutMs ?? 10_000);
  return connection;
}
