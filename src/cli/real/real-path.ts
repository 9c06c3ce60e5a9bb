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
  /** Datagrams and UDP payload bytes both endpoints handed to their sockets so far. */
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
  const server = await listen({ ...security.server, host: loopback, config: options.config });
  const cleanups: (() => Promise<unknown>)[] = [() => server.close({ graceful: false })];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
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
      config: options.config,
      connectTimeoutMs: 10_000,
    });
    cleanups.push(() => a.close({ graceful: false }));
    const b = await accepted;
    cleanups.push(() => b.close({ graceful: false }));
    const channelA = a.openChannel({ mode: 'reliable-ordered' });
    const channelB = b.openChannel({ mode: 'reliable-ordered', id: channelA.id });
    const counters = (connection: FerryConnection) => connection.stats();
    return {
      a,
      b,
      channels: { a: channelA, b: channelB },
      wire: () => {
        const sa = counters(a);
        const sb = counters(b);
        return { datagrams: sa.packetsSent + sb.packetsSent, bytes: sa.bytesSent + sb.bytesSent };
      },
      relayStats: () => relay.stats(),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
