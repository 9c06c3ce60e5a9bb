/**
 * Shared pieces of the loopback benchmarks (bench/node-loopback.ts, bench/node-loopback-secure.ts): a raw
 * `node:dgram` pair and a Ferry bulk transfer, each measured over one window with goodput and CPU per datagram.
 *
 * - raw: one socket sends 1200-byte datagrams in bursts of 32 per event-loop turn to another; throughput is what
 *   the receiver's JS callback actually gets (the kernel drops what it cannot keep up with).
 * - ferry: a client keeps 64 messages of 64 KiB queued on a reliable-ordered channel; goodput is the payload the
 *   server application receives. Sockets get 4 MiB buffers.
 *
 * Placement, the same for both: `one-thread` runs sender and receiver on this thread's event loop (the CPU of both
 * ends adds up on one core); `two-threads` moves the sender to a worker thread (bench/loopback-sender.ts), so each
 * end has its own event loop and core, as two hosts would. CPU per datagram is the whole process's either way.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { type ConnectOptions, connect, type ListenOptions, listen } from '../src/node/api.ts';
import type { FerryChannel } from '../src/node/channel.ts';
import type { SenderJob } from './loopback-sender.ts';

/** Length of each measurement window (ms): BENCH_LOOPBACK_MS, default 2000. */
export const windowMs = Number(process.env.BENCH_LOOPBACK_MS ?? 2000);
/** Alternating rounds (BENCH_LOOPBACK_ROUNDS, default 3): the median ratio is robust to a shared machine. */
export const rounds = Number(process.env.BENCH_LOOPBACK_ROUNDS ?? 3);
/** Loopback address both ends bind to. */
export const host = '127.0.0.1';
/** Kernel socket buffers of every socket (bytes). */
export const socketBufferBytes = 4 * 1024 * 1024;
/** Raw datagram size (bytes). */
export const datagramBytes = 1200;

/** Where the two ends run: both on this thread, or the sender on a worker thread. */
export type Placement = 'one-thread' | 'two-threads';

/** A sender on a worker thread (bench/loopback-sender.ts), resolved once it is sending; `stop()` ends it. */
async function startSender(job: SenderJob): Promise<{ stop: () => Promise<void> }> {
  // A worker does not inherit tsx's loader hooks on Node 20: it registers them before importing the sender.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const sender = JSON.stringify(new URL('./loopback-sender.ts', import.meta.url).href);
  const worker = new Worker(`import(${tsx}).then((t) => { t.register(); return import(${sender}); });`, {
    eval: true,
    workerData: job,
  });
  const exited = once(worker, 'exit');
  const [first] = await Promise.race([once(worker, 'message'), once(worker, 'error')]);
  if (first !== 'sending') throw first instanceof Error ? first : new Error(String(first));
  return {
    stop: async () => {
      worker.postMessage('stop');
      await exited;
    },
  };
}

/** One window's figures. */
export interface Measurement {
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

/** Measures one window after a warm-up; `counters()` gives payload bytes, data datagrams and replies so far. */
async function measureWindow(
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

/** Raw `node:dgram` throughput between two sockets of this process. */
export async function raw(placement: Placement = 'one-thread'): Promise<Measurement> {
  const receiver = await bound();
  let bytes = 0;
  let datagrams = 0;
  receiver.on('message', (m: Buffer) => {
    bytes += m.length;
    datagrams++;
  });
  const port = receiver.address().port;
  let stop: () => Promise<void>;
  if (placement === 'two-threads') {
    ({ stop } = await startSender({ kind: 'raw', host, port, socketBufferBytes, datagramBytes }));
  } else {
    const sender = await bound();
    const payload = new Uint8Array(datagramBytes);
    let running = true;
    const pump = (): void => {
      if (!running) return;
      for (let i = 0; i < 32; i++) sender.send(payload, port, host);
      setImmediate(pump);
    };
    pump();
    stop = async () => {
      running = false;
      sender.close();
    };
  }
  const result = await measureWindow(() => ({ bytes, datagrams, replies: 0 }));
  await stop();
  receiver.close();
  return result;
}

/** A Ferry bulk transfer between a server and a client of this process, with the given security options. */
export async function ferryBulk(
  server: Omit<ListenOptions, 'host' | 'socketBufferBytes'>,
  client: Omit<ConnectOptions, 'socketBufferBytes'>,
  placement: Placement = 'one-thread',
): Promise<Measurement> {
  const listener = await listen({ ...server, host, socketBufferBytes } as ListenOptions);
  let bytes = 0;
  listener.on('connection', (c) =>
    c.on('channel', (ch: FerryChannel) =>
      ch.on('message', (m: Uint8Array) => {
        bytes += m.length;
      }),
    ),
  );
  const port = listener.address().port;
  const { stop } =
    placement === 'two-threads'
      ? await startSender({ kind: 'ferry', host, port, socketBufferBytes, datagramBytes, client })
      : await ferrySender(port, client);
  const result = await measureWindow(() => {
    const stats = listener.stats();
    return { bytes, datagrams: stats.datagramsReceived, replies: stats.datagramsSent };
  });
  await stop();
  await listener.close({ graceful: false });
  return result;
}

/** A Ferry client on this thread that keeps 64 messages of 64 KiB queued on a reliable-ordered channel. */
async function ferrySender(
  port: number,
  client: Omit<ConnectOptions, 'socketBufferBytes'>,
): Promise<{ stop: () => Promise<void> }> {
  const connection = await connect(`${host}:${port}`, { ...client, socketBufferBytes } as ConnectOptions);
  const channel = connection.openChannel({ mode: 'reliable-ordered' });
  const message = new Uint8Array(64 * 1024);
  let running = true;
  const keepSending = (): void => {
    if (running) void channel.send(message).then(keepSending, () => {});
  };
  for (let i = 0; i < 64; i++) keepSending();
  return {
    stop: async () => {
      running = false;
      await connection.close({ graceful: false });
    },
  };
}

/** The median of `xs` (NaN when empty). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
}

/** One table row of a measurement. */
export function row(name: string, m: Measurement): string {
  return `${name.padEnd(20)} goodputMbps=${m.goodputMbps.toFixed(0).padStart(5)}  datagrams=${String(m.datagrams).padStart(8)}  cpuUsPerDatagram=${m.cpuUsPerDatagram.toFixed(2)}  repliesPerDatagram=${m.repliesPerDatagram.toFixed(3)}`;
}
