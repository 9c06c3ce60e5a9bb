/**
 * CPU cost of the sans-IO core per datagram (issue 7's "CPU microseconds per packet", without the kernel): a
 * client and a server Connection wired back to back in memory — no sockets, no simulator — over a loopback-like
 * path (25 µs each way, no loss). The client keeps 64 KiB messages queued on a reliable-ordered channel. The
 * driver does what the Node binding does: datagrams due together are handled in batches of up to 32, then one
 * drive pass (application, drain `pollTransmit`, one `nextTimeout`); time jumps to the next arrival or deadline.
 * Figures: process CPU µs per data datagram (both sides, ACKs included), data datagrams per CPU-second, and the
 * virtual-time goodput (what congestion control and pacing allow on this path).
 * Run: `node --import tsx bench/core-transfer.ts` (BENCH_CORE_MB sets the transfer size, default 64).
 */
import { performance } from 'node:perf_hooks';
import b from 'benny';
import { ChannelMode, makeChannelId } from '../src/protocol/channel/channel-id.ts';
import { Connection } from '../src/protocol/connection.ts';

const oneWayDelayMs = 0.025;
const messageBytes = 64 * 1024;
const channelId = makeChannelId(0, 'client', ChannelMode.reliableOrdered);

interface Flight {
  atMs: number;
  bytes: Uint8Array;
}

/** Result of one transfer. */
export interface CoreTransfer {
  /** Data datagrams the server received. */
  datagrams: number;
  /** Datagrams both sides sent (data and ACKs). */
  datagramsSent: number;
  /** Virtual time the transfer took (ms). */
  virtualMs: number;
  payloadBytes: number;
}

/** Moves `totalBytes` of payload client → server; returns the counts (time it from outside). */
export function runTransfer(totalBytes: number): CoreTransfer {
  const id = new Uint8Array([1, 2, 3, 4]);
  const client = new Connection(0, { role: 'client', connectionId: id });
  const server = new Connection(0, { role: 'server', connectionId: id });
  const toServer: Flight[] = [];
  const toClient: Flight[] = [];
  let heads = [0, 0];
  let nowMs = 0;
  let queued = 0;
  let received = 0;
  let datagrams = 0;
  let datagramsSent = 0;
  const message = new Uint8Array(messageBytes);
  const drain = (from: Connection, to: Flight[]): void => {
    for (let d = from.pollTransmit(nowMs); d; d = from.pollTransmit(nowMs)) {
      to.push({ atMs: nowMs + oneWayDelayMs, bytes: d });
      datagramsSent++;
    }
  };
  const app = (): void => {
    while (queued < totalBytes && client.canSend(messageBytes)) {
      client.send(nowMs, channelId, message);
      queued += messageBytes;
    }
    for (let m = server.receive(); m; m = server.receive()) received += m.data.length;
    while (client.pollEvent());
    while (server.pollEvent());
  };
  // One drive pass of a side: application, transmit, and one `nextTimeout()` to re-arm its timer.
  const deadlines = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const drive = (side: 0 | 1): void => {
    const [self, queue] = side === 0 ? [client, toServer] : [server, toClient];
    app();
    drain(self, queue);
    deadlines[side] = self.nextTimeout() ?? Number.POSITIVE_INFINITY;
  };
  drive(0);
  drive(1);
  while (received < totalBytes) {
    const next = Math.min(
      toServer[heads[0]!]?.atMs ?? Number.POSITIVE_INFINITY,
      toClient[heads[1]!]?.atMs ?? Number.POSITIVE_INFINITY,
      deadlines[0]!,
      deadlines[1]!,
    );
    if (next === Number.POSITIVE_INFINITY) throw new Error('transfer stalled');
    // A deadline already due but not cleared by handleTimeout (e.g. pacing) must not spin: time moves on.
    nowMs = next > nowMs ? next : nowMs + 0.001;
    // Datagrams due together are read in one batch (at most 32, as libuv reads per poll), then one drive pass.
    let batch = 0;
    for (let f = toServer[heads[0]!]; f && f.atMs <= nowMs && batch < 32; f = toServer[++heads[0]!]) {
      server.handleDatagram(nowMs, f.bytes);
      datagrams++;
      batch++;
    }
    if (batch > 0) drive(1);
    batch = 0;
    for (let f = toClient[heads[1]!]; f && f.atMs <= nowMs && batch < 32; f = toClient[++heads[1]!]) {
      client.handleDatagram(nowMs, f.bytes);
      batch++;
    }
    if (batch > 0) drive(0);
    if (deadlines[0]! <= nowMs) {
      client.handleTimeout(nowMs);
      drive(0);
    }
    if (deadlines[1]! <= nowMs) {
      server.handleTimeout(nowMs);
      drive(1);
    }
    if (heads[0]! > 4096) {
      toServer.splice(0, heads[0]);
      toClient.splice(0, heads[1]);
      heads = [0, 0];
    }
  }
  return { datagrams, datagramsSent, virtualMs: nowMs, payloadBytes: received };
}

function plainFigure(): void {
  const totalBytes = Number(process.env.BENCH_CORE_MB ?? 64) * 1024 * 1024;
  runTransfer(8 * 1024 * 1024); // warm up the JIT
  let best: { usPerDatagram: number; perCpuSecond: number; virtualMbps: number; sent: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const r = runTransfer(totalBytes);
    const used = process.cpuUsage(cpu);
    const cpuUs = used.user + used.system;
    const wallMs = performance.now() - started;
    const usPerDatagram = cpuUs / r.datagrams;
    if (!best || usPerDatagram < best.usPerDatagram) {
      best = {
        usPerDatagram,
        perCpuSecond: r.datagrams / (cpuUs / 1e6),
        virtualMbps: (r.payloadBytes * 8) / (r.virtualMs * 1000),
        sent: r.datagramsSent / r.datagrams,
      };
    }
    void wallMs;
  }
  if (!best) return;
  console.log(
    `core-transfer: ${best.usPerDatagram.toFixed(2)} CPU µs per data datagram (both sides), ` +
      `${Math.round(best.perCpuSecond).toLocaleString('en-US')} datagrams per CPU-second, ` +
      `${best.sent.toFixed(2)} datagrams sent per data datagram, ` +
      `virtual goodput ${best.virtualMbps.toFixed(0)} Mbit/s (best of 3)`,
  );
}

plainFigure();
await b.suite(
  'core transfer (client and server Connection back to back, 25 µs each way)',
  b.add('8 MiB reliable-ordered', () => {
    runTransfer(8 * 1024 * 1024);
  }),
  b.cycle(),
  b.complete(),
);
