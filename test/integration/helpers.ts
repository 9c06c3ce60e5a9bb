import { createSocket, type Socket } from 'node:dgram';
import type { FecOptions } from '../../src/fec/fec-session.ts';
import { connect, listen } from '../../src/node/api.ts';
import type { FerryChannel } from '../../src/node/channel.ts';
import type { FerryConnection } from '../../src/node/connection.ts';
import { ImpairmentRelay } from '../../src/node/impairment-relay.ts';
import { generateKeyPair } from '../../src/node/keys.ts';
import type { FerryServer } from '../../src/node/server.ts';
import type { LinkProfile } from '../../src/sim/link.ts';

/** Loopback only: integration tests never leave the machine. */
export const loopback = '127.0.0.1';

/** One static key pair for the test servers: listen with `staticKey`, connect with `serverPublicKey`. */
export const serverKeys = generateKeyPair();
/** `listen` options of an encrypted test server. */
export const serverSecurity = { staticKey: serverKeys.privateKey };
/** `connect` options of a client of an encrypted test server. */
export const clientSecurity = { serverPublicKey: serverKeys.publicKey };

/** Resolves after `ms` real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects if `promise` has not settled within `ms`, naming `what`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The next 'connection' of `server`. */
export function nextConnection(server: FerryServer): Promise<FerryConnection> {
  return new Promise((resolve) => server.once('connection', resolve));
}

/** The next channel the peer opens on `connection`. */
export function nextChannel(connection: FerryConnection): Promise<FerryChannel> {
  return new Promise((resolve) => connection.once('channel', resolve));
}

/** Resolves with the first `count` messages of `channel` (as 'message' events). */
export function collect(channel: FerryChannel, count: number): Promise<Uint8Array[]> {
  return new Promise((resolve) => {
    const out: Uint8Array[] = [];
    const onMessage = (data: Uint8Array): void => {
      out.push(data);
      if (out.length === count) {
        channel.off('message', onMessage);
        resolve(out);
      }
    };
    channel.on('message', onMessage);
  });
}

/** A message carrying its sequence number (4 bytes) and `size - 4` bytes derived from it. */
export function numbered(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(4, size));
  new DataView(bytes.buffer).setUint32(0, seq);
  for (let i = 4; i < bytes.length; i++) bytes[i] = (seq * 31 + i) & 0xff;
  return bytes;
}

/** The sequence number of a {@link numbered} message, or -1 if its body does not match it. */
export function seqOf(bytes: Uint8Array): number {
  if (bytes.length < 4) return -1;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  for (let i = 4; i < bytes.length; i++) if (bytes[i] !== ((seq * 31 + i) & 0xff)) return -1;
  return seq;
}

/** A bound UDP socket on loopback that never answers. */
export function silentSocket(): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.bind(0, loopback, () => resolve(socket));
  });
}

/** A positive integer from the environment, or `fallback`. */
export function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Encrypted client → impairment relay → server on loopback, with the two ends of the connection. */
export interface RelayPath {
  server: FerryServer;
  relay: ImpairmentRelay;
  client: FerryConnection;
  served: FerryConnection;
}

/**
 * Opens server, relay (the same `profile` both ways, seeded) and client, registering each close in `cleanups`
 * (run them in reverse after the test). `fec` turns FEC on at both ends.
 */
export async function openRelayPath(
  cleanups: (() => Promise<unknown> | undefined)[],
  options: { profile: LinkProfile; seed: number; fec?: boolean | FecOptions },
): Promise<RelayPath> {
  const server = await listen({ ...serverSecurity, host: loopback, fec: options.fec });
  cleanups.push(() => server.close({ graceful: false }));
  const relay = await ImpairmentRelay.open({
    target: { host: loopback, port: server.address().port },
    upstream: options.profile,
    downstream: options.profile,
    seed: options.seed,
  });
  cleanups.push(() => relay.close());
  const accepted = nextConnection(server);
  const client = await connect(`${loopback}:${relay.address().port}`, {
    ...clientSecurity,
    fec: options.fec,
    connectTimeoutMs: 10_000,
  });
  cleanups.push(() => client.close({ graceful: false }));
  return { server, relay, client, served: await accepted };
}
