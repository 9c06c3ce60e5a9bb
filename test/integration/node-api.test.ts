import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from '../../src/node/api.ts';
import type { FerryConnection } from '../../src/node/connection.ts';
import { FerryClosedError, FerryOptionsError } from '../../src/node/errors.ts';
import type { FerryServer } from '../../src/node/server.ts';
import { FerryUsageError } from '../../src/protocol/errors.ts';
import {
  clientSecurity,
  collect,
  loopback,
  nextChannel,
  nextConnection,
  numbered,
  seqOf,
  serverKeys,
  serverSecurity,
  silentSocket,
  sleep,
  within,
} from './helpers.ts';

const cleanups: (() => Promise<unknown> | undefined)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(config = {}): Promise<FerryServer> {
  const s = await listen({ ...serverSecurity, host: loopback, config });
  cleanups.push(() => s.close({ graceful: false }));
  return s;
}

async function client(s: FerryServer, config = {}): Promise<FerryConnection> {
  const c = await connect({ host: loopback, port: s.address().port }, { ...clientSecurity, config });
  cleanups.push(() => c.close({ graceful: false }));
  return c;
}

describe('listen / connect over loopback', () => {
  it('refuses to run without credentials or with two kinds of them', async () => {
    await expect(listen({ host: loopback })).rejects.toBeInstanceOf(FerryOptionsError);
    await expect(connect(`${loopback}:9`, { insecurePlaintext: false })).rejects.toMatchObject({
      reason: 'no-credentials',
    });
    await expect(
      listen({ host: loopback, staticKey: serverKeys.privateKey, insecurePlaintext: true }),
    ).rejects.toMatchObject({ reason: 'conflicting-credentials' });
    await expect(connect(`${loopback}:9`, { psk: new Uint8Array(16) })).rejects.toMatchObject({
      reason: 'invalid-key',
    });
  });

  it('exchanges messages both ways on two channels, with delivery receipts', async () => {
    const s = await server();
    const accepted = nextConnection(s);
    const c = await client(s);
    const sc = await accepted;
    expect(c.role).toBe('client');
    expect(sc.role).toBe('server');
    expect(sc.remoteAddress).toBe(`${loopback}:${c.localAddress().port}`);
    expect(c.remoteAddress).toBe(`${loopback}:${s.address().port}`);

    // The server echoes every message back on the channel it came from.
    sc.on('channel', (channel) => channel.on('message', (data: Uint8Array) => void channel.send(data)));

    const ordered = c.openChannel({ mode: 'reliable-ordered' });
    const unordered = c.openChannel({ mode: 'reliable-unordered' });
    expect(ordered.id).not.toBe(unordered.id);
    const count = 100;
    const echoedOrdered = collect(ordered, count);
    const echoedUnordered = collect(unordered, count);
    const receipts: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      receipts.push(ordered.send(numbered(i, 10 + ((i * 97) % 3000))));
      receipts.push(unordered.send(numbered(i, 10 + ((i * 57) % 2000))));
    }
    await within(10_000, 'delivery receipts', Promise.all(receipts));
    const back = await within(10_000, 'echoes', Promise.all([echoedOrdered, echoedUnordered]));
    expect(back[0].map(seqOf)).toEqual([...Array(count).keys()]);
    expect(back[1].map(seqOf).sort((a, b) => a - b)).toEqual([...Array(count).keys()]);
    expect(c.stats().messagesReceived).toBe(2 * count);
  });

  it('yields connections and messages through async iterators', async () => {
    const s = await server();
    const served = (async () => {
      for await (const connection of s) {
        const channel = await nextChannel(connection);
        const got: number[] = [];
        for await (const data of channel) {
          got.push(seqOf(data));
          if (got.length === 20) break;
        }
        return got;
      }
      return [];
    })();
    const c = await client(s);
    const channel = c.openChannel({ mode: 'reliable-ordered', id: 8 });
    await Promise.all([...Array(20).keys()].map((i) => channel.send(numbered(i, 64))));
    expect(await within(5_000, 'iterated', served)).toEqual([...Array(20).keys()]);
  });

  it('rejects channel ids that do not encode the mode', async () => {
    const s = await server();
    const c = await client(s);
    expect(() => c.openChannel({ mode: 'reliable-ordered', id: 1 })).toThrow(FerryUsageError);
    expect(c.openChannel({ mode: 'reliable-unordered', id: 9 })).toBe(
      c.openChannel({ mode: 'reliable-unordered', id: 9 }),
    );
  });

  it('pipes a readable of N chunks through channel.stream() with backpressure both ways', async () => {
    const s = await server();
    const accepted = nextConnection(s);
    const c = await client(s, { sendBufferBytes: 64 * 1024 });
    const sc = await accepted;
    const chunks = [...Array(300).keys()].map((i) => Buffer.from(numbered(i, 1 + ((i * 7919) % 6000))));
    const expected = Buffer.concat(chunks);

    const received: Buffer[] = [];
    let receivedBytes = 0;
    const done = new Promise<void>((resolve, reject) => {
      sc.once('channel', (channel) => {
        const slowReader = new Writable({
          highWaterMark: 4096,
          write(chunk: Buffer, _encoding, callback) {
            received.push(chunk);
            receivedBytes += chunk.length;
            if (receivedBytes === expected.length) resolve();
            // A slow application: every tenth chunk takes a while, so the stream's buffer fills.
            if (received.length % 10 === 0) setTimeout(callback, 2);
            else callback();
          },
        });
        channel.stream({ readableHighWaterMark: 8192 }).pipe(slowReader).on('error', reject);
      });
    });
    const stream = c.openChannel({ mode: 'reliable-ordered' }).stream({ writableHighWaterMark: 16 * 1024 });
    Readable.from(chunks).pipe(stream);
    await within(15_000, 'writable side finished (all confirmed)', once(stream, 'finish'));
    await within(15_000, 'reader got every byte', done);
    expect(Buffer.concat(received).equals(expected)).toBe(true);
    expect(() => c.openChannel({ mode: 'reliable-unordered' }).stream()).toThrow(FerryUsageError);
  });

  it('queues sends behind a full send buffer and keeps their order', async () => {
    const s = await server();
    const accepted = nextConnection(s);
    const c = await client(s, { sendBufferBytes: 32 * 1024 });
    const sc = await accepted;
    const channel = c.openChannel({ mode: 'reliable-ordered' });
    const count = 150;
    const arrived = new Promise<number[]>((resolve) =>
      sc.once('channel', (ch) => void collect(ch, count).then((list) => resolve(list.map(seqOf)))),
    );
    const receipts = [...Array(count).keys()].map((i) => channel.send(numbered(i, 3000)));
    expect(c.stats().queuedSends).toBeGreaterThan(0);
    await within(15_000, 'receipts', Promise.all(receipts));
    expect(await within(5_000, 'arrival', arrived)).toEqual([...Array(count).keys()]);
  });

  it('graceful close delivers everything queued and reports nothing unconfirmed', async () => {
    const s = await server();
    const accepted = nextConnection(s);
    const c = await client(s, { sendBufferBytes: 64 * 1024 });
    const sc = await accepted;
    const count = 200;
    const arrived = new Promise<number[]>((resolve) =>
      sc.once('channel', (ch) => void collect(ch, count).then((list) => resolve(list.map(seqOf)))),
    );
    const channel = c.openChannel({ mode: 'reliable-ordered' });
    const receipts = [...Array(count).keys()].map((i) => channel.send(numbered(i, 1000)));
    const serverClosed = once(sc, 'close');
    expect(await within(10_000, 'close', c.close())).toEqual([]);
    await Promise.all(receipts);
    expect(await arrived).toEqual([...Array(count).keys()]);
    const [info] = await within(5_000, 'peer close', serverClosed);
    expect(info).toMatchObject({ initiator: 'peer', unconfirmed: [] });
    await expect(channel.send('late')).rejects.toBeInstanceOf(FerryUsageError);
  });

  it('rejects connect after connectTimeoutMs when nobody answers', async () => {
    const silent = await silentSocket();
    cleanups.push(() => new Promise<void>((resolve) => silent.close(resolve)));
    const attempt = connect(
      { host: loopback, port: silent.address().port },
      { ...clientSecurity, connectTimeoutMs: 300 },
    );
    await expect(attempt).rejects.toBeInstanceOf(FerryClosedError);
    await expect(attempt).rejects.toMatchObject({ reason: 'connect-timeout' });
  });

  it('drops and counts garbage datagrams, and keeps serving', async () => {
    const s = await server({ initialRttMs: 20 }); // ghost connections opened by garbage drain quickly on close
    const junk = await silentSocket();
    cleanups.push(() => new Promise<void>((resolve) => junk.close(resolve)));
    const port = s.address().port;
    for (let i = 0; i < 50; i++) {
      const bytes = new Uint8Array(i);
      for (let j = 0; j < i; j++) bytes[j] = (i * 131 + j * 17) & 0xff;
      junk.send(bytes, port, loopback);
    }
    await sleep(100);
    const stats = s.stats();
    expect(stats.datagramsReceived).toBe(50);
    // Nothing opens a connection without a handshake: every datagram is dropped and counted (R-HS-10).
    expect(s.connections.size).toBe(0);
    expect(stats.malformed + stats.unroutable + stats.unexpected + stats.initialTooSmall).toBe(50);
    const c = await client(s);
    await within(5_000, 'send after garbage', c.openChannel({ mode: 'reliable-ordered' }).send('still here'));
  });
});
