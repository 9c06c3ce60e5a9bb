/**
 * Ferry over real loopback sockets vs raw `node:dgram` in the same run (issue 7): goodput ratio and CPU
 * microseconds per packet, plus a benny suite timing a 1 MiB transfer. Target ratio ≥ 0.7 with encryption off.
 * Run: `node --import tsx bench/node-loopback.ts` (BENCH_LOOPBACK_MS sets each measurement window, default 2000;
 * BENCH_LOOPBACK_SUITE=0 skips the benny suite).
 *
 * - raw: one socket sends 1200-byte datagrams in bursts of 32 per event-loop turn to another; throughput is what
 *   the receiver's JS callback actually gets (the kernel drops what it cannot keep up with).
 * - ferry: a client keeps 64 messages of 64 KiB queued on a reliable-ordered channel; goodput is the payload the
 *   server application receives. Sockets get 4 MiB buffers.
 *
 * Each pair runs in two placements (bench/loopback-harness.ts), the same for raw and Ferry: one thread (both ends
 * share one event loop, so the ratio compares the CPU of both ends together) and two threads (the sender in a
 * worker thread, each end with its own event loop and core, closer to two hosts; it needs two idle cores).
 * BENCH_LOOPBACK_PLACEMENT=one-thread or two-threads runs one of them.
 */
import b from 'benny';
import { connect, listen } from '../src/node/api.ts';
import type { FerryChannel } from '../src/node/channel.ts';
import {
  ferryBulk,
  host,
  median,
  type Placement,
  raw,
  rounds,
  row,
  socketBufferBytes,
  windowMs,
} from './loopback-harness.ts';

const only = process.env.BENCH_LOOPBACK_PLACEMENT as Placement | undefined;
const placements: Placement[] = only ? [only] : ['one-thread', 'two-threads'];
// Raw and Ferry alternate for a few rounds: on a shared machine the load changes between windows, so each
// round's ratio compares two neighbouring windows and the median ratio is the figure.
console.log(`loopback, ${windowMs} ms windows, ${rounds} rounds, placements: ${placements.join(', ')}`);
const ratios = new Map<Placement, number[]>(placements.map((p) => [p, []]));
for (let i = 0; i < rounds; i++) {
  for (const placement of placements) {
    const rawResult = await raw(placement);
    const ferryResult = await ferryBulk({ insecurePlaintext: true }, { insecurePlaintext: true }, placement);
    console.log(row(`raw ${placement}`, rawResult));
    console.log(row(`ferry ${placement}`, ferryResult));
    ratios.get(placement)?.push(ferryResult.goodputMbps / rawResult.goodputMbps);
  }
}
for (const [placement, rs] of ratios) {
  console.log(
    `ratio  ferry/raw goodput, ${placement} = ${median(rs).toFixed(2)} (median; rounds: ${rs.map((r) => r.toFixed(2)).join(' ')})`,
  );
}
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
