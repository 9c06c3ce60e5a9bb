import { createSocket, type Socket } from 'node:dgram';
import {
  type ConnectionConfig,
  connect,
  type FerryChannel,
  type FerryConnection,
  generateKeyPair,
  ImpairmentRelay,
  type ImpairmentRelayStats,
  listen,
} from '../../index.ts';
import { type LinkProfile, linkFromProfile } from '../../sim/link.ts';

const loopback = '127.0.0.1';

/**
 * The Node binding's security options of both ends. The scenarios compare against KCP, which has no encryption
 * (scenarios.md, kcp-echo), so real runs use the binding's explicit plaintext opt-in unless `--encrypt` asks for
 * the default: a fresh static key pair, the client pinning the server's public key (spec §13).
 */
function benchSecurity(encrypt: boolean) {
  if (!encrypt) return { server: { insecurePlaintext: true }, client: { insecurePlaintext: true } } as const;
  const keys = generateKeyPair();
  return { server: { staticKey: keys.privateKey }, client: { serverPublicKey: keys.publicKey } };
}

/** Datagrams and bytes a socket sent. */
interface SendCounter {
  datagrams: number;
  bytes: number;
}

/**
 * A loopback UDP socket that counts what it sends, at the socket (after packet protection, so `--encrypt` costs
 * show), handed to the binding as a host-owned socket (which Ferry never closes: `openRealPath` does).
 */
async function countingSocket(): Promise<{ socket: Socket; sent: SendCounter }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, loopback, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const sent: SendCounter = { datagrams: 0, bytes: 0 };
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  // send(msg, [offset, length,] port, address, callback): msg is one buffer or a list of them.
  (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
    const msg = args[0] as Uint8Array | readonly Uint8Array[];
    const whole = Array.isArray(msg)
      ? msg.reduce((n, part) => n + part.length, 0)
      : (msg as Uint8Array).length;
    sent.datagrams++;
    sent.bytes += typeof args[3] === 'number' && typeof args[2] === 'number' ? args[2] : whole;
    send(...args);
  };
  return { socket, sent };
}

/** Options of {@link openRealPath}. */
export interface RealPathOptions {
  /** Impairments A → B (the relay's upstream), in real milliseconds. */
  forward: LinkProfile;
  /** Impairments B → A. */
  reverse: LinkProfile;
  /** Seed of the relay's loss and delay draws (the schedule itself follows the wall clock). */
  seed: number;
  /** Connection tunables of both ends. */
  config?: Partial<ConnectionConfig>;
  /** Encrypted and authenticated (the binding's default) rather than plaintext. */
  encrypt?: boolean;
}

/** A connected pair over real UDP sockets on loopback: A → relay → B. */
export interface RealPath {
  /** A's connection (it connected through the relay). */
  a: FerryConnection;
  /** B's connection (accepted by the server). */
  b: FerryConnection;
  /** One reliable-ordered channel, open on both sides with the same id. */
  channels: { a: FerryChannel; b: FerryChannel };
  /** Datagrams and UDP payload bytes both endpoints handed to their sockets so far (handshake included). */
  wire(): { datagrams: number; bytes: number };
  /** The relay's counters (drops by cause). */
  relayStats(): ImpairmentRelayStats;
  /** Closes both connections, the relay and the server, without waiting for anything queued. */
  close(): Promise<void>;
}

/**
 * Opens server B on a free loopback port, an `ImpairmentRelay` in front of it applying the simulator's link
 * models in real time, and client A connected through the relay; both sides open one reliable-ordered channel.
 * This is the only place `ferry bench --real` touches the Node binding's API.
 */
export async function openRealPath(options: RealPathOptions): Promise<RealPath> {
  // Build each direction's link once here, so impossible settings fail before any socket opens (the relay
  // builds its links when the first datagram arrives).
  linkFromProfile(options.forward);
  linkFromProfile(options.reverse);
  const security = benchSecurity(options.encrypt ?? false);
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  const closeSocket = (socket: Socket) => () => new Promise<void>((resolve) => socket.close(() => resolve()));
  try {
    const serverSocket = await countingSocket();
    cleanups.push(closeSocket(serverSocket.socket));
    const clientSocket = await countingSocket();
    cleanups.push(closeSocket(clientSocket.socket));
    const server = await listen({ ...security.server, socket: serverSocket.socket, config: options.config });
    cleanups.push(() => server.close({ graceful: false }));
    const relay = await ImpairmentRelay.open({
      target: { host: loopback, port: server.address().port },
      upstream: options.forward,
      downstream: options.reverse,
      seed: options.seed,
    });
    cleanups.push(() => relay.close());
    const accepted = new Promise<FerryConnection>((resolve) => server.once('connection', resolve));
    const a = await connect(`${loopback}:${relay.address().port}`, {
      ...security.client,
      socket: clientSocket.socket,
      config: options.config,
      connectTimeoutMs: 10_000,
    });
    cleanups.push(() => a.close({ graceful: false }));
    const b = await accepted;
    cleanups.push(() => b.close({ graceful: false }));
    const channelA = a.openChannel({ mode: 'reliable-ordered' });
    const channelB = b.openChannel({ mode: 'reliable-ordered', id: channelA.id });
    return {
      a,
      b,
      channels: { a: channelA, b: channelB },
      wire: () => ({
        datagrams: serverSocket.sent.datagrams + clientSocket.sent.datagrams,
        bytes: serverSocket.sent.bytes + clientSocket.sent.bytes,
      }),
      relayStats: () => relay.stats(),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
