import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from '../../src/node/api.ts';
import { FerryClosedError } from '../../src/node/errors.ts';
import { generateKeyPair, generatePsk } from '../../src/node/keys.ts';
import { decodeHeader, encodeHeader, PacketType } from '../../src/protocol/wire/header.ts';
import {
  clientSecurity,
  loopback,
  nextChannel,
  nextConnection,
  numbered,
  seqOf,
  serverSecurity,
  sleep,
  within,
} from './helpers.ts';

const cleanups: (() => Promise<unknown> | undefined)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function bound(port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, loopback, () => resolve(socket));
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** A UDP forwarder that records every client → server datagram and can send any of them again, or a forgery. */
class RecordingProxy {
  readonly fromClient: Uint8Array[] = [];
  private client: { address: string; port: number } | undefined;
  private constructor(
    private readonly front: Socket,
    private readonly back: Socket,
    private readonly serverPort: number,
  ) {
    front.on('message', (bytes, rinfo) => {
      this.client = rinfo;
      this.fromClient.push(new Uint8Array(bytes));
      back.send(bytes, serverPort, loopback);
    });
    back.on('message', (bytes) => {
      if (this.client) front.send(bytes, this.client.port, this.client.address);
    });
  }

  static async open(serverPort: number): Promise<RecordingProxy> {
    return new RecordingProxy(await bound(), await bound(), serverPort);
  }

  get port(): number {
    return this.front.address().port;
  }

  /** Sends `bytes` to the server from the proxy's upstream socket: the client's address as the server sees it. */
  inject(bytes: Uint8Array): void {
    this.back.send(bytes, this.serverPort, loopback);
  }

  async close(): Promise<void> {
    await Promise.all([closeSocket(this.front), closeSocket(this.back)]);
  }
}

/** `packet` with its header's packet number replaced (body and tag unchanged, so the tag no longer matches). */
function withPacketNumber(packet: Uint8Array, packetNumber: number): Uint8Array {
  const d = decodeHeader(packet);
  if (!d.ok) throw new Error('not a packet');
  const out = new Uint8Array(packet.length + 8);
  const at = encodeHeader({ ...d.value.header, packetNumber }, out, 0);
  out.set(packet.subarray(d.value.bodyOffset), at);
  return out.subarray(0, at + packet.length - d.value.bodyOffset);
}

function typeOf(bytes: Uint8Array): number {
  const d = decodeHeader(bytes);
  return d.ok ? d.value.header.type : -1;
}

describe('secure handshake over loopback', () => {
  it('R-HS-5: connects with the pinned key and agrees on parameters; another pinned key never connects', async () => {
    const server = await listen({ ...serverSecurity, host: loopback, config: { maxMessageBytes: 100_000 } });
    cleanups.push(() => server.close({ graceful: false }));
    const accepted = nextConnection(server);
    const client = await connect(`${loopback}:${server.address().port}`, clientSecurity);
    cleanups.push(() => client.close({ graceful: false }));
    const served = await within(2_000, 'server side', accepted);
    expect(client.parameters?.maxMessageBytes).toBe(100_000);
    expect(served.parameters?.maxMessageBytes).toBe(100_000);
    // R-HS-6: the client's own limit is larger, but a message over the negotiated one is refused locally.
    const channel = client.openChannel({ mode: 'reliable-ordered' });
    await expect(channel.send(new Uint8Array(100_001))).rejects.toMatchObject({
      reason: 'message-too-large',
    });
    await within(2_000, 'at the limit', channel.send(new Uint8Array(100_000)));
    expect(server.stats().retriesSent).toBe(1);
    expect(server.stats().handshakesCompleted).toBe(1);

    const impostor = generateKeyPair();
    const attempt = connect(`${loopback}:${server.address().port}`, {
      serverPublicKey: impostor.publicKey,
      connectTimeoutMs: 500,
    });
    await expect(attempt).rejects.toMatchObject({ reason: 'connect-timeout' });
    expect(server.stats().forged).toBeGreaterThan(0);
    expect(server.connections.size).toBe(1);
  });

  it('R-HS-7: PSK on both sides works; plaintext only talks to plaintext', async () => {
    const psk = generatePsk();
    const pskServer = await listen({ psk, host: loopback });
    cleanups.push(() => pskServer.close({ graceful: false }));
    const a = await connect(`${loopback}:${pskServer.address().port}`, { psk });
    cleanups.push(() => a.close({ graceful: false }));
    await within(2_000, 'psk send', a.openChannel({ mode: 'reliable-ordered' }).send('hi'));

    const encrypted = await listen({ ...serverSecurity, host: loopback });
    cleanups.push(() => encrypted.close({ graceful: false }));
    const downgrade = connect(`${loopback}:${encrypted.address().port}`, {
      insecurePlaintext: true,
      connectTimeoutMs: 400,
    });
    await expect(downgrade).rejects.toBeInstanceOf(FerryClosedError);
    expect(encrypted.stats().modeMismatches).toBeGreaterThan(0);

    const plain = await listen({ insecurePlaintext: true, host: loopback });
    cleanups.push(() => plain.close({ graceful: false }));
    const b = await connect(`${loopback}:${plain.address().port}`, { insecurePlaintext: true });
    cleanups.push(() => b.close({ graceful: false }));
    await within(2_000, 'plaintext send', b.openChannel({ mode: 'reliable-ordered' }).send('hi'));
  });

  it('R-CRYPTO-5, R-CRYPTO-6: replayed and forged packets are rejected and counted; delivery stays exactly-once', async () => {
    const server = await listen({ ...serverSecurity, host: loopback });
    cleanups.push(() => server.close({ graceful: false }));
    const proxy = await RecordingProxy.open(server.address().port);
    cleanups.push(() => proxy.close());
    const accepted = nextConnection(server);
    const client = await connect(`${loopback}:${proxy.port}`, clientSecurity);
    cleanups.push(() => client.close({ graceful: false }));
    const served = await accepted;
    const channelP = nextChannel(served);
    const channel = client.openChannel({ mode: 'reliable-ordered' });
    await within(
      5_000,
      'receipts',
      Promise.all([...Array(50).keys()].map((i) => channel.send(numbered(i, 100)))),
    );
    const serverChannel = await channelP;
    const seen: number[] = [];
    serverChannel.on('message', (data: Uint8Array) => seen.push(seqOf(data)));
    await sleep(50);
    const data = proxy.fromClient.filter((b) => typeOf(b) === PacketType.data);
    expect(data.length).toBeGreaterThan(0);
    const before = server.stats();
    for (const bytes of data) proxy.inject(bytes); // replays from the client's own address
    // Forgeries with fresh packet numbers (so they pass the replay window and reach the AEAD check).
    for (const [i, bytes] of data.entries()) proxy.inject(withPacketNumber(bytes, 1_000_000 + i));
    await sleep(200);
    const after = server.stats();
    expect(after.replayed - before.replayed).toBe(data.length);
    expect(after.forged - before.forged).toBe(data.length);
    expect(seen).toEqual([...Array(50).keys()]); // each once: nothing delivered a second time
    expect(served.closed).toBe(false);
    await within(2_000, 'still usable', channel.send(numbered(50, 100)));
  });

  it('R-HS-9: a server restarted with the same key resets the old connection at once', async () => {
    const first = await bound();
    const port = first.address().port;
    const server = await listen({ ...serverSecurity, socket: first });
    cleanups.push(() => server.close({ graceful: false }));
    const client = await connect(`${loopback}:${port}`, {
      ...clientSecurity,
      config: { idleTimeoutMs: 30_000 },
    });
    cleanups.push(() => client.close({ graceful: false }));
    const channel = client.openChannel({ mode: 'reliable-ordered' });
    await within(2_000, 'before the crash', channel.send('one'));
    // The server process "crashes": its socket disappears without a word, and a new one starts on the same port.
    await closeSocket(first);
    const restarted = await listen({ ...serverSecurity, host: loopback, port });
    cleanups.push(() => restarted.close({ graceful: false }));
    const closed = once(client, 'close');
    const lost = channel.send('two');
    const started = Date.now();
    const [info] = await within(3_000, 'reset noticed', closed);
    expect(info.initiator).toBe('peer-reset');
    expect(Date.now() - started).toBeLessThan(2_000); // far below the 30 s idle timeout
    await expect(lost).rejects.toBeInstanceOf(FerryClosedError);
    expect(restarted.stats().resetsSent).toBeGreaterThan(0);
  });
});
