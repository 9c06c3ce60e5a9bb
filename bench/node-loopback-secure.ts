/**
 * Encryption's cost on real loopback (issue 7, spec §13): raw `node:dgram`, Ferry in plaintext and Ferry encrypted
 * (static-key handshake, AES-128-GCM per packet) in the same run, alternating windows. Target: encrypted goodput
 * ≥ 0.6 of raw. Also a benny suite timing packet protection alone (seal + open of a 1200-byte DATA packet).
 * Run: `node --import tsx bench/node-loopback-secure.ts` (BENCH_LOOPBACK_MS: window, default 2000;
 * BENCH_LOOPBACK_ROUNDS: rounds, default 3; BENCH_LOOPBACK_SUITE=0 skips the benny suite).
 *
 * Same shapes as bench/node-loopback.ts: raw sends 1200-byte datagrams in bursts of 32 per turn; Ferry keeps 64
 * messages of 64 KiB queued on a reliable-ordered channel; both ends in this process; 4 MiB socket buffers.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import b from 'benny';
import { connect, type EndpointCommonOptions, listen } from '../src/node/api.ts';
import type { FerryChannel } from '../src/node/channel.ts';
import { generateKeyPair } from '../src/node/keys.ts';
import type { DirectionKeys } from '../src/protocol/security/key-schedule.ts';
import { PacketProtector } from '../src/protocol/security/packet-protection.ts';
import { decodeHeader, encodeHeader } from '../src/protocol/wire/header.ts';

const windowMs = Number(process.env.BENCH_LOOPBACK_MS ?? 2000);
const rounds = Number(process.env.BENCH_LOOPBACK_ROUNDS ?? 3);
const host = '127.0.0.1';
const socketBufferBytes = 4 * 1024 * 1024;
const datagramBytes = 1200;

interface Measurement {
  goodputMbps: number;
  datagrams: number;
  cpuUsPerDatagram: number;
}

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, host);
  await once(socket, 'listening');
  socket.setRecvBufferSize(socketBufferBytes);
  socket.setSendBufferSize(socketBufferBytes);
  return socket;
}

async function measure(counters: () => { bytes: number; datagrams: number }): Promise<Measurement> {
  await new Promise((r) => setTimeout(r, 300));
  const start = counters();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const elapsedMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const end = counters();
  const datagrams = end.datagrams - start.datagrams;
  return {
    goodputMbps: ((end.bytes - start.bytes) * 8) / (elapsedMs * 1000),
    datagrams,
    cpuUsPerDatagram: (used.user + used.system) / Math.max(1, datagrams),
  };
}

async function raw(): Promise<Measurement> {
  const [sender, receiver] = [await bound(), await bound()];
  let bytes = 0;
  let datagrams = 0;
  receiver.on('message', (m: Buffer) => {
    bytes += m.length;
    datagrams++;
  });
  const payload = new Uint8Array(datagramBytes);
  const port = receiver.address().port;
  let running = true;
  const pump = (): void => {
    if (!running) return;
    for (let i = 0; i < 32; i++) sender.send(payload, port, host);
    setImmediate(pump);
  };
  pump();
  const result = await measure(() => ({ bytes, datagrams }));
  running = false;
  sender.close();
  receiver.close();
  return result;
}

const keys = generateKeyPair();

async function ferry(encrypted: boolean): Promise<Measurement> {
  const serverSecurity: EndpointCommonOptions & { staticKey?: Uint8Array } = encrypted
    ? { staticKey: keys.privateKey }
    : { insecurePlaintext: true };
  const clientSecurity: EndpointCommonOptions & { serverPublicKey?: Uint8Array } = encrypted
    ? { serverPublicKey: keys.publicKey }
    : { insecurePlaintext: true };
  const server = await listen({ ...serverSecurity, host, socketBufferBytes });
  let bytes = 0;
  server.on('connection', (c) =>
    c.on('channel', (ch: FerryChannel) =>
      ch.on('message', (m: Uint8Array) => {
        bytes += m.length;
      }),
    ),
  );
  const client = await connect(`${host}:${server.address().port}`, { ...clientSecurity, socketBufferBytes });
  const channel = client.openChannel({ mode: 'reliable-ordered' });
  const message = new Uint8Array(64 * 1024);
  let running = true;
  const keepSending = (): void => {
    if (running) void channel.send(message).then(keepSending, () => {});
  };
  for (let i = 0; i < 64; i++) keepSending();
  const result = await measure(() => ({ bytes, datagrams: server.stats().datagramsReceived }));
  running = false;
  await client.close({ graceful: false });
  await server.close({ graceful: false });
  return result;
}

const row = (name: string, m: Measurement): string =>
  `${name.padEnd(10)} goodputMbps=${m.goodputMbps.toFixed(0).padStart(5)}  datagrams=${String(m.datagrams).padStart(8)}  cpuUsPerDatagram=${m.cpuUsPerDatagram.toFixed(2)}`;
console.log(`loopback, ${windowMs} ms windows, sender and receiver in one process, ${rounds} rounds`);
const plainRatios: number[] = [];
const secureRatios: number[] = [];
for (let i = 0; i < rounds; i++) {
  const r = await raw();
  const p = await ferry(false);
  const s = await ferry(true);
  console.log(row('raw', r));
  console.log(row('plaintext', p));
  console.log(row('encrypted', s));
  plainRatios.push(p.goodputMbps / r.goodputMbps);
  secureRatios.push(s.goodputMbps / r.goodputMbps);
}
const median = (xs: number[]): number =>
  [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
const list = (xs: number[]): string => xs.map((r) => r.toFixed(2)).join(' ');
console.log(
  `ratio  plaintext/raw = ${median(plainRatios).toFixed(2)} (median; rounds: ${list(plainRatios)})`,
);
console.log(
  `ratio  encrypted/raw = ${median(secureRatios).toFixed(2)} (median; rounds: ${list(secureRatios)})`,
);

if (process.env.BENCH_LOOPBACK_SUITE !== '0') await suite();

async function suite(): Promise<void> {
  const aead = (n: number) => ({ key: new Uint8Array(16).fill(n), iv: new Uint8Array(12).fill(n) });
  const direction = (n: number): DirectionKeys => ({
    data: aead(n),
    repair: aead(n + 1),
    control: aead(n + 2),
  });
  const sender = new PacketProtector({ send: direction(1), receive: direction(4) });
  const receiver = new PacketProtector({ send: direction(4), receive: direction(1) });
  const packet = new Uint8Array(datagramBytes - 16);
  const header = {
    type: 0 as const,
    connectionId: Uint8Array.of(1, 2, 3, 4),
    keyPhase: false,
    packetNumber: 0,
  };
  let pn = 0;
  await b.suite(
    'packet protection',
    b.add('seal + open one 1200-byte DATA packet (AES-128-GCM)', () => {
      header.packetNumber = pn++;
      encodeHeader(header, packet, 0);
      const decoded = decodeHeader(packet);
      if (!decoded.ok) throw new Error('header');
      const sealed = sender.seal(packet, decoded.value);
      const opened = receiver.open(sealed, decoded.value);
      if (!opened.ok) throw new Error('open');
    }),
    b.cycle(),
    b.complete(),
  );
}
