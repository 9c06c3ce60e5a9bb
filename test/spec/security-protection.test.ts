import { describe, expect, it } from 'vitest';
import { FecEndpoint } from '../../src/fec/fec-endpoint.ts';
import { withFecReserve } from '../../src/fec/fec-session.ts';
import type { Connection } from '../../src/protocol/connection.ts';
import { protectionOverheadBytes } from '../../src/protocol/security/packet-protection.ts';
import { decodeHeader, PacketType } from '../../src/protocol/wire/header.ts';
import { WireReader } from '../../src/protocol/wire/reader.ts';
import { SeededRandom } from '../../src/sim/random.ts';
import {
  clientAddress,
  drainSeqs,
  type Flight,
  SecurePair,
  seqMessage,
  serverAddress,
  testChannel,
} from './security-pair.ts';

// Spec §13.5 packet protection, §13.6 paths, §13.8 stateless reset.

const established = (pair: SecurePair) => () => pair.clientEvents.some((e) => e.type === 'established');

/** An established pair and the server's connection. */
function ready(seed: number, extra: ConstructorParameters<typeof SecurePair>[0] = {}) {
  const pair = new SecurePair({ seed, ...extra });
  const client = pair.connect();
  if (!pair.run(5000, established(pair))) throw new Error('no handshake');
  pair.run(pair.nowMs + 50); // the client's confirming PING reaches the server
  const server = pair.serverInner.connections[0]!;
  return { pair, client, server };
}

/** Sends `count` messages from `client` and collects what `server` receives until all arrived or `untilMs`. */
function transfer(
  pair: SecurePair,
  client: Connection,
  server: Connection,
  from: number,
  count: number,
  size = 300,
) {
  for (let i = from; i < from + count; i++) client.send(pair.nowMs, testChannel, seqMessage(i, size));
  const got: number[] = [];
  pair.run(pair.nowMs + 20_000, () => {
    got.push(...drainSeqs(server));
    return got.length >= count;
  });
  return got;
}

function typeOf(f: Flight): number {
  const d = decodeHeader(f.bytes);
  return d.ok ? d.value.header.type : -1;
}

describe('spec §13.5 packet protection', () => {
  it('R-CRYPTO-1: keys come only from the injected RandomSource (same seed, same bytes; other seed, other bytes)', () => {
    const a = ready(21);
    const b = ready(21);
    const c = ready(22);
    transfer(a.pair, a.client, a.server, 0, 5);
    transfer(b.pair, b.client, b.server, 0, 5);
    transfer(c.pair, c.client, c.server, 0, 5);
    expect(b.pair.wire.map((f) => f.bytes)).toEqual(a.pair.wire.map((f) => f.bytes));
    const lastA = a.pair.wire.filter((f) => typeOf(f) === PacketType.data).at(-1)!.bytes;
    const lastC = c.pair.wire.filter((f) => typeOf(f) === PacketType.data).at(-1)!.bytes;
    expect(lastC).not.toEqual(lastA);
  });

  it('R-CRYPTO-2: the header stays clear, the body is sealed, and changing any byte makes the packet rejected', () => {
    const { pair, client, server } = ready(23);
    const marker = new Uint8Array(64).fill(0xab);
    client.send(pair.nowMs, testChannel, marker);
    pair.flush();
    const sealed = pair.wire.filter((f) => f.from === clientAddress && typeOf(f) === PacketType.data).at(-1)!;
    const d = decodeHeader(sealed.bytes);
    expect(d.ok && d.value.header.connectionId).toEqual(client.connectionId);
    let run = 0;
    let longest = 0;
    for (const b of sealed.bytes) {
      run = b === 0xab ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(longest).toBeLessThan(8); // the 64 marker bytes are not on the wire
    const statsBefore = { ...pair.server.stats };
    for (let i = 0; i < sealed.bytes.length; i++) {
      const copy = sealed.bytes.slice();
      copy[i]! ^= 0x01;
      pair.inject(clientAddress, copy);
    }
    const s = pair.server.stats;
    // Every flipped copy lands in exactly one drop counter.
    const dropped = (['forged', 'malformed', 'unroutable', 'unexpected', 'replayed'] as const).reduce(
      (n, k) => n + s[k] - statsBefore[k],
      0,
    );
    expect(dropped).toBe(sealed.bytes.length);
    expect(drainSeqs(server)).toEqual([]); // none delivered the message
    expect(sealed.bytes.length).toBeLessThanOrEqual(1200);
    expect(protectionOverheadBytes).toBeGreaterThanOrEqual(16);
  });

  it('R-CRYPTO-3: REPAIR packets are sealed inside protection with unique explicit counters; FEC still recovers', () => {
    const fecConfig = withFecReserve({ maxDatagramBytes: 1200 - protectionOverheadBytes });
    const loss = new SeededRandom(77);
    let fecServer: FecEndpoint | undefined;
    const { pair, client, server } = ready(24, {
      config: fecConfig,
      wrapServer: (e) => (fecServer = new FecEndpoint(e)),
      wrapClient: (e) => new FecEndpoint(e),
    });
    pair.options.drop = (f) => f.from === clientAddress && loss.uint32() % 100 < 15;
    const got = transfer(pair, client, server, 0, 200, 200);
    expect([...got].sort((a, b) => a - b)).toEqual([...Array(200).keys()]);
    const repairs = pair.wire.filter((f) => f.from === clientAddress && typeOf(f) === PacketType.fecRepair);
    expect(repairs.length).toBeGreaterThan(0);
    const counters = repairs.map((f) => {
      const d = decodeHeader(f.bytes);
      return d.ok ? new WireReader(f.bytes, d.value.bodyOffset).varint() : -1;
    });
    expect(counters).toEqual([...counters.keys()]); // 0, 1, 2, …: a nonce is never reused
    const dataNumbers = pair.wire
      .filter((f) => f.from === clientAddress && typeOf(f) === PacketType.data)
      .map((f) => {
        const d = decodeHeader(f.bytes);
        return d.ok ? d.value.header.packetNumber : -1;
      });
    expect(new Set(dataNumbers).size).toBe(dataNumbers.length);
    expect(pair.server.stats.forged).toBe(0);
    expect(fecServer?.session(server)?.stats.packetsRecovered).toBeGreaterThan(0);
  });

  it('R-CRYPTO-4: a tampered ServerHello or Initial does not verify; the genuine one still completes', () => {
    const pair = new SecurePair({ seed: 25 });
    pair.connect();
    pair.run(35);
    const hello = pair.wire.at(-1)!;
    for (const offset of [20, hello.bytes.length - 1]) {
      const bad = hello.bytes.slice();
      bad[offset]! ^= 0x40;
      pair.inject(serverAddress, bad, pair.clientAddress);
    }
    expect(pair.client.stats.forged).toBe(2);
    expect(pair.clientEvents).toEqual([]);
    expect(pair.run(500, established(pair))).toBe(true);
  });

  it('R-CRYPTO-5: a replayed packet is dropped before decryption and delivers nothing twice', () => {
    const { pair, client, server } = ready(26);
    expect(transfer(pair, client, server, 0, 10)).toHaveLength(10);
    pair.run(pair.nowMs + 500); // nothing left in flight
    const sent = pair.wire.filter((f) => f.from === clientAddress && typeOf(f) === PacketType.data);
    for (const f of sent) pair.inject(clientAddress, f.bytes);
    expect(pair.server.stats.replayed).toBe(sent.length);
    expect(drainSeqs(server)).toEqual([]);
  });

  it('R-CRYPTO-6: a forged packet from a new address changes nothing (no probe, window not advanced)', () => {
    const { pair, client, server } = ready(27);
    client.send(pair.nowMs, testChannel, seqMessage(1));
    pair.flush();
    const genuine = pair.wire.at(-1)!.bytes;
    const forged = genuine.slice();
    forged[forged.length - 1]! ^= 1;
    pair.inject('attacker:1', forged);
    expect(pair.server.stats.forged).toBe(1);
    expect(pair.server.stats.pathChallengesSent).toBe(0);
    expect(pair.server.remoteOf(server)).toBe(clientAddress);
    pair.inject(clientAddress, genuine); // same packet number, still accepted
    expect(pair.server.stats.replayed).toBe(0);
    expect(drainSeqs(server)).toEqual([1]);
  });
});

describe('spec §13.6 paths', () => {
  it('R-PATH-1, R-PATH-2: a new client address is challenged, limited to 3×, then followed', () => {
    const { pair, client, server } = ready(28);
    expect(transfer(pair, client, server, 0, 20)).toHaveLength(20);
    const mark = pair.wire.length;
    pair.clientAddress = 'client:6000'; // NAT rebinding
    const got = transfer(pair, client, server, 20, 50);
    expect(got).toEqual([...Array(50).keys()].map((i) => i + 20));
    expect(pair.serverEvents.filter((e) => e.type === 'migrated')).toEqual([
      { type: 'migrated', connection: server, remote: 'client:6000' },
    ]);
    expect(pair.server.remoteOf(server)).toBe('client:6000');
    const after = pair.wire.slice(mark);
    const migratedAt = after.findIndex((f) => f.to === 'client:6000' && typeOf(f) === PacketType.data);
    const before = after.slice(0, migratedAt);
    const sentToNew = before.filter((f) => f.to === 'client:6000').reduce((n, f) => n + f.bytes.length, 0);
    const receivedFromNew = before
      .filter((f) => f.from === 'client:6000')
      .reduce((n, f) => n + f.bytes.length, 0);
    expect(sentToNew).toBeGreaterThan(0); // the challenge
    expect(sentToNew).toBeLessThanOrEqual(3 * receivedFromNew);
    expect(pair.server.stats.pathChallengesSent).toBeGreaterThan(0);
  });

  it('R-PATH-3: an older packet arriving late from the previous address does not start a probe', () => {
    const { pair, client, server } = ready(29);
    client.send(pair.nowMs, testChannel, seqMessage(1));
    pair.flush();
    const older = pair.wire.at(-1)!.bytes;
    pair.options.drop = (f) => f.bytes === older;
    pair.clientAddress = 'client:7000';
    expect(transfer(pair, client, server, 2, 5).length).toBeGreaterThan(0);
    pair.run(pair.nowMs + 500);
    const challenges = pair.server.stats.pathChallengesSent;
    pair.options.drop = undefined;
    pair.inject(clientAddress, older); // the old address, an older packet number
    expect(pair.server.stats.pathChallengesSent).toBe(challenges);
    expect(pair.server.remoteOf(server)).toBe('client:7000');
  });
});

describe('spec §13.8 stateless reset', () => {
  it('R-HS-9: a restarted server resets the old connection; the client learns at once', () => {
    const { pair, client, server } = ready(30);
    expect(transfer(pair, client, server, 0, 3)).toHaveLength(3);
    pair.restartServer();
    client.send(pair.nowMs, testChannel, seqMessage(9));
    pair.run(pair.nowMs + 1000, () => pair.clientEvents.some((e) => e.type === 'reset'));
    expect(pair.server.stats.resetsSent).toBeGreaterThan(0);
    expect(pair.client.stats.resetsReceived).toBe(1);
    expect(pair.clientEvents.at(-1)).toMatchObject({ type: 'reset', connection: client });
    const reset = pair.wire.find(
      (f) => f.from === serverAddress && typeOf(f) === PacketType.handshake && f.atMs > 100,
    );
    const trigger = pair.wire
      .filter((f) => f.from === clientAddress && typeOf(f) === PacketType.data)
      .at(-1)!;
    expect(reset!.bytes.length).toBeLessThan(trigger.bytes.length);
  });

  it('R-HS-9: a reset with the wrong token changes nothing; resets are rate-limited', () => {
    const { pair, client, server } = ready(31, { limits: { resetsPerSecond: 2 } });
    pair.restartServer();
    client.send(pair.nowMs, testChannel, seqMessage(1, 500));
    pair.flush();
    const trigger = pair.wire.at(-1)!.bytes;
    pair.inject(clientAddress, trigger);
    const reset = pair.wire.at(-1)!;
    expect(reset.to).toBe(clientAddress);
    const wrong = reset.bytes.slice();
    wrong[wrong.length - 1]! ^= 1;
    pair.inject(serverAddress, wrong, pair.clientAddress);
    expect(pair.clientEvents.filter((e) => e.type === 'reset')).toEqual([]);
    expect(client.state).toBe('open');
    for (let i = 0; i < 10; i++) pair.inject(clientAddress, trigger);
    expect(pair.server.stats.resetsRateLimited).toBeGreaterThan(0);
    void server;
  });
});

describe('spec §13.5 key update', () => {
  it('R-CRYPTO-7: keys change every keyUpdatePackets packets, flagged by the key phase bit; nothing is lost', () => {
    const loss = new SeededRandom(5);
    const { pair, client, server } = ready(32, { limits: { keyUpdatePackets: 16 } });
    pair.options.drop = () => loss.uint32() % 100 < 10;
    const got = transfer(pair, client, server, 0, 300, 400);
    expect(got).toEqual([...Array(300).keys()]);
    const phases = pair.wire
      .filter((f) => f.from === clientAddress && typeOf(f) === PacketType.data)
      .map((f) => decodeHeader(f.bytes))
      .map((d) => (d.ok ? d.value.header.keyPhase : undefined));
    const flips = phases.filter((p, i) => i > 0 && p !== phases[i - 1]).length;
    expect(flips).toBeGreaterThan(10);
    expect(pair.server.stats.forged + pair.client.stats.forged).toBe(0);
    // A packet sealed under the current key but flagged with the other phase does not open.
    client.send(pair.nowMs, testChannel, seqMessage(999));
    pair.flush();
    const last = pair.wire.at(-1)!.bytes.slice();
    last[0]! ^= 0x08;
    pair.inject(clientAddress, last);
    expect(pair.server.stats.forged).toBe(1);
  });
});
