import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from '../../src/node/api.ts';
import type { FerryConnection } from '../../src/node/connection.ts';
import { FerryClosedError } from '../../src/node/errors.ts';
import { ImpairmentRelay } from '../../src/node/impairment-relay.ts';
import type { FerryServer } from '../../src/node/server.ts';
import type { LinkProfile } from '../../src/sim/link.ts';
import {
  clientSecurity,
  envCount,
  loopback,
  nextChannel,
  nextConnection,
  numbered,
  seqOf,
  serverSecurity,
  within,
} from './helpers.ts';

/** Messages in the 30%-loss run (the full count; FERRY_IT_MESSAGES overrides). */
const messageCount = envCount('FERRY_IT_MESSAGES', 10_000);
const seed = envCount('FERRY_IT_SEED', 7);
const lossy: LinkProfile = { lossPercent: 30, delayMs: 5, jitterMs: 2 };

const cleanups: (() => Promise<unknown> | undefined)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Path {
  server: FerryServer;
  relay: ImpairmentRelay;
  client: FerryConnection;
  served: FerryConnection;
}

/** Server ← relay (impairments) ← client, all on loopback. */
async function path(profile: LinkProfile, config = {}, clientConfig = config): Promise<Path> {
  const server = await listen({ ...serverSecurity, host: loopback, config });
  cleanups.push(() => server.close({ graceful: false }));
  const relay = await ImpairmentRelay.open({
    target: { host: loopback, port: server.address().port },
    upstream: profile,
    downstream: profile,
    seed,
  });
  cleanups.push(() => relay.close());
  const accepted = nextConnection(server);
  const client = await connect(`${loopback}:${relay.address().port}`, {
    ...clientSecurity,
    config: clientConfig,
    connectTimeoutMs: 5_000,
  });
  cleanups.push(() => client.close({ graceful: false }));
  return { server, relay, client, served: await accepted };
}

/** Collects `count` numbered messages from the peer's first channel, failing on a duplicate or a gap. */
function receiveInOrder(connection: FerryConnection, count: number): Promise<number[]> {
  return nextChannel(connection).then(
    (channel) =>
      new Promise((resolve, reject) => {
        const seen: number[] = [];
        channel.on('message', (data: Uint8Array) => {
          const seq = seqOf(data);
          if (seq !== seen.length) reject(new Error(`message ${seq} arrived at position ${seen.length}`));
          seen.push(seq);
          if (seen.length === count) resolve(seen);
        });
      }),
  );
}

describe(`through the impairment relay (seed ${seed})`, () => {
  it(`delivers ${messageCount} messages exactly once, in order, at 30% loss each way; every receipt resolves`, async () => {
    const { relay, client, served } = await path(lossy);
    const arrived = receiveInOrder(served, messageCount);
    const channel = client.openChannel({ mode: 'reliable-ordered' });
    const receipts: Promise<void>[] = [];
    for (let i = 0; i < messageCount; i++) receipts.push(channel.send(numbered(i, 16 + ((i * 131) % 600))));
    const order = await within(30_000, 'all messages', arrived);
    expect(order).toEqual([...Array(messageCount).keys()]);
    await within(10_000, 'all receipts', Promise.all(receipts));
    const stats = relay.stats();
    const lostUp = stats.upstream.dropped.loss ?? 0;
    expect(lostUp / stats.upstream.received).toBeGreaterThan(0.2); // the relay really dropped ~30%
    expect(served.stats().duplicatePackets + client.stats().fragmentRetransmissions).toBeGreaterThan(0);
  }, 60_000);

  it('survives the client moving to a new socket mid-stream (R-PATH-1: validated, then followed)', async () => {
    const { server, client, served } = await path({ lossPercent: 10, delayMs: 2 });
    const count = 400;
    const arrived = receiveInOrder(served, count);
    const channel = client.openChannel({ mode: 'reliable-ordered' });
    const before = served.remoteAddress;
    const receipts: Promise<void>[] = [];
    for (let i = 0; i < count / 2; i++) receipts.push(channel.send(numbered(i, 200)));
    await within(10_000, 'first half', Promise.all(receipts));
    const oldPort = client.localAddress().port;
    await client.rebind();
    expect(client.localAddress().port).not.toBe(oldPort);
    for (let i = count / 2; i < count; i++) receipts.push(channel.send(numbered(i, 200)));
    expect(await within(15_000, 'second half', arrived)).toEqual([...Array(count).keys()]);
    await within(10_000, 'receipts after rebinding', Promise.all(receipts));
    // The relay maps each client address to its own upstream socket: the server sees a new source, challenges it
    // and follows it only after the response.
    expect(served.remoteAddress).not.toBe(before);
    expect(server.stats().pathChallengesSent).toBeGreaterThan(0);
    expect(server.stats().migrations).toBe(1);
  }, 40_000);

  it('survives a NAT rebinding (the relay changes its upstream port)', async () => {
    const { server, relay, client, served } = await path({ lossPercent: 10, delayMs: 2 });
    const count = 300;
    const arrived = receiveInOrder(served, count);
    const channel = client.openChannel({ mode: 'reliable-ordered' });
    const before = served.remoteAddress;
    const receipts: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      receipts.push(channel.send(numbered(i, 300)));
      if (i === count / 2) {
        await within(10_000, 'first half', Promise.all(receipts));
        await relay.rebindUpstream();
      }
    }
    expect(await within(15_000, 'everything', arrived)).toEqual([...Array(count).keys()]);
    await within(10_000, 'receipts', Promise.all(receipts));
    expect(served.remoteAddress).not.toBe(before);
    expect(server.stats().migrations).toBe(1);
  }, 40_000);

  it('closes on idle timeout when the path dies, rejecting what was never confirmed', async () => {
    const config = { idleTimeoutMs: 400, keepAliveIntervalMs: 100, maxPtoMs: 200 };
    const { relay, client, served } = await path({ delayMs: 1 }, config);
    const channel = client.openChannel({ mode: 'reliable-ordered' });
    await within(5_000, 'first message', channel.send('hello'));
    const serverClosed = once(served, 'close');
    await relay.close();
    const lost = channel.send('into the void');
    const [info] = await within(5_000, 'client idle timeout', once(client, 'close'));
    expect(info).toMatchObject({ initiator: 'idle-timeout' });
    expect(info.unconfirmed.map((u: { data: Uint8Array }) => new TextDecoder().decode(u.data))).toEqual([
      'into the void',
    ]);
    await expect(lost).rejects.toBeInstanceOf(FerryClosedError);
    await expect(lost).rejects.toMatchObject({ reason: 'idle-timeout' });
    const [serverInfo] = await within(5_000, 'server idle timeout', serverClosed);
    expect(serverInfo.initiator).toBe('idle-timeout');
  }, 20_000);

  it('graceful close that cannot finish reports exactly the unconfirmed messages', async () => {
    const config = { closeTimeoutMs: 300, maxPtoMs: 100, idleTimeoutMs: 10_000 };
    const { relay, client } = await path({ delayMs: 1 }, config);
    const channel = client.openChannel({ mode: 'reliable-unordered' });
    await within(5_000, 'confirmed before the cut', channel.send(numbered(0, 50)));
    await relay.close();
    const doomed = [1, 2, 3, 4, 5].map((i) => channel.send(numbered(i, 50 + i)));
    const unconfirmed = await within(10_000, 'close', client.close());
    expect(unconfirmed.map((u) => seqOf(u.data))).toEqual([1, 2, 3, 4, 5]);
    expect(unconfirmed.every((u) => u.channelId === channel.id && u.messageId !== undefined)).toBe(true);
    const outcomes = await Promise.allSettled(doomed);
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
  }, 20_000);
});
