/**
 * Ferry over real loopback sockets vs raw `node:dgram` in the same run (issue 7): goodput ratio and CPU
 * microseconds per packet, plus a benny suite timing a 1 MiB transfer. Target ratio ≥ 0.7 with encryption off.
 * Run: `node --import tsx bench/node-loopback.ts` (BENCH_LOOPBACK_MS sets each measurement window, default 2000;
 * BENCH_LOOPBACK_SUITE=0 skips the benny suite).
 *
 * - raw: one socket sends 1200-byte datagrams in bursts of 32 per event-loop turn to another; throughput is what
 *   the receiver's JS callback actually gets (the kernel drops what it cannot keep up with).
 * - ferry: a client keeps 64 messages of 64 KiB queued on a reliable-ordered channel; goodput is the payload the
 *   server application receives. Both sides run in this process, as the raw pair does; sockets get 4 MiB buffers.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import b from 'benny';
import { connect, listen } from '../src/node/api.ts';
import type { FerryChannel } from '../src/node/channel.ts';

const windowMs = Number(process.env.BENCH_LOOPBACK_MS ?? 2000);
const host = '127.0.0.1';
const socketBufferBytes = 4 * 1024 * 1024;
const datagramBytes = 1200;

interface Measurement {
  goodputMbps: number;
  datagrams: number;
  cpuUsPerDatagram: number;
  /** Datagrams the receiver sent back (ACKs) per datagram it received. */
  repliesPerDatagram: number;
}

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, host);
  await once(socket, 'listening');
  socket.setRecvBufferSize(socketBufferBytes);
  socket.setSendBufferSize(socketBufferBytes);
  return socket;
}

/** Measures `work` for `windowMs` after a warm-up; `counters()` gives payload bytes and data datagrams so far. */
async function window(
  counters: () => { bytes: number; datagrams: number; replies: number },
): Promise<Measurement> {
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
    repliesPerDatagram: (end.replies - start.replies) / Math.max(1, datagrams),
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
  const result = await window(() => ({ bytes, datagrams, replies: 0 }));
  running = false;
  sender.close();
  receiver.close();
  return result;
}

async function ferry(): Promise<Measurement> {
  const server = await listen({ insecurePlaintext: true, host, socketBufferBytes });
  let bytes = 0;
  server.on('connection', (c) =>
    c.on('channel', (ch: FerryChannel) =>
      ch.on('message', (m: Uint8Array) => {
        bytes += m.length;
      }),
    ),
  );
  const client = await connect(`${host}:${server.address().port}`, {
    insecurePlaintext: true,
    socketBufferBytes,
  });
  const channel = client.openChannel({ mode: 'reliable-ordered' });
  const message = new Uint8Array(64 * 1024);
  let running = true;
  const keepSending = (): void => {
    if (running) void channel.send(message).then(keepSending, () => {});
  };
  for (let i = 0; i < 64; i++) keepSending();
  const result = await window(() => {
    const stats = server.stats();
    return { bytes, datagrams: stats.datagramsReceived, replies: stats.datagramsSent };
  });
  running = false;
  await client.close({ graceful: false });
  await server.close({ graceful: false });
  return result;
}

// Raw and Ferry alternate for a few rounds: on a shared machine the load changes between windows, so each
// round's ratio compares two neighbouring windows and the median ratio is the figure.
const rounds = Number(process.env.BENCH_LOOPBACK_ROUNDS ?? 3);
const row = (name: string, m: Measurement): string =>
  `${name.padEnd(6)} goodputMbps=${m.goodputMbps.toFixed(0).padStart(5)}  datagrams=${String(m.datagrams).padStart(8)}  cpuUsPerDatagram=${m.cpuUsPerDatagram.toFixed(2)}  repliesPerDatagram=${m.repliesPerDatagram.toFixed(3)}`;
console.log(`loopback, ${windowMs} ms windows, sender and receiver in one process, ${rounds} rounds`);
const ratios: number[] = [];
for (let i = 0; i < rounds; i++) {
  const rawResult = await raw();
  const ferryResult = await ferry();
  console.log(row('raw', rawResult));
  console.log(row('ferry', ferryResult));
  ratios.push(ferryResult.goodputMbps / rawResult.goodputMbps);
}
ratios.sort((x, y) => x - y);
const median = ratios[Math.floor(ratios.length / 2)] ?? Number.NaN;
console.log(
  `ratio  ferry/raw goodput = ${median.toFixed(2)} (median; rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')})`,
);

// benny: wall time of one 1 MiB reliable transfer over loopback (16 messages of 64 KiB, all receipts awaited).
if (process.env.BENCH_LOOPBACK_SUITE !== '0') await suite();

async function suite(): Promise<void> {
  const server = await listen({ insecurePlaintext: true, host, socketBufferBytes });
  server.on('connection', (c) => c.on('channel', (ch: FerryChannel) => ch.on('message', () => {})));
  const client = await connect(`${host}:${server.address().port}`, {
    insecurePlaintext: true,
    socketBufferBytes,
  });
  const channel = client.openChannel({ mode: 'reliable-ordered' });
  const chunk = new Uint8Array(64 * 1024);
  await b.suite(
    'node loopback',
    b.add('ferry: 1 MiB reliable transfer, receipts awaited', async () => {
      await Promise.all(Array.from({ length: 16 }, () => channel.send(chunk)));
    }),
    b.cycle(),
    b.complete(),
  );
  await client.close({ graceful: false });
  await server.close({ graceful: false });
}
