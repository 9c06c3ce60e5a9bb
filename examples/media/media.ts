/**
 * A synthetic audio + video stream over Ferry through a lossy path, played out by the adaptive playout buffer.
 *
 *   node --import tsx examples/media/media.ts [seconds=10] [loss%=30]
 *
 * One process runs an encrypted server that sends 50 audio frames/s (160 bytes, 20 ms) and 30 video frames/s
 * (≈3 KB) on two deadline channels (spec §12.1), an impairment relay applying the loss each way with 30 ms ± 5 ms
 * one-way delay, and a client that feeds each stream into a PlayoutBuffer (spec §12.2) and plays it out. Once
 * a second it prints, per stream, the frames played and concealed, late drops, the target delay and the jitter.
 */
import { performance } from 'node:perf_hooks';
import {
  connect,
  type FerryChannel,
  generateKeyPair,
  ImpairmentRelay,
  listen,
  PlayoutBuffer,
  type PlayoutEvent,
} from '../../src/index.ts';

const seconds = Number(process.argv[2] ?? 10);
const lossPercent = Number(process.argv[3] ?? 30);

interface StreamSpec {
  name: string;
  intervalMs: number;
  bytes: () => number;
  deadlineMs: number;
}

const streams: StreamSpec[] = [
  { name: 'audio', intervalMs: 20, bytes: () => 160, deadlineMs: 200 },
  {
    name: 'video',
    intervalMs: 1000 / 30,
    bytes: () => 2000 + Math.floor(Math.random() * 2000),
    deadlineMs: 300,
  },
];

/** A frame on the wire: sequence (4 bytes), capture time on the sender's clock (8 bytes), payload. */
function frame(sequence: number, captureMs: number, size: number): Uint8Array {
  const bytes = new Uint8Array(12 + size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, sequence);
  view.setFloat64(4, captureMs);
  return bytes;
}

const keys = generateKeyPair();
// FEC (spec §11) in short blocks with extra repair (§11.9): the client asks for more parity of what the first
// shards could not rebuild; video leaves its repair to that (no retransmission), audio also retransmits.
const fec = {
  fecClass: 'media' as const,
  maxBlockDelayMs: 8,
  protectAckOnly: false,
  policy: { maxRepairRatio: 0.6 },
  extraRepair: { requests: { waitMs: 25 } }, // the path's delay spread (±5 ms each way) plus the block's 8 ms
};
const server = await listen({ staticKey: keys.privateKey, host: '127.0.0.1', fec });
const profile = { lossPercent, delayMs: 30, jitterMs: 5 };
const relay = await ImpairmentRelay.open({
  target: { host: '127.0.0.1', port: server.address().port },
  upstream: profile,
  downstream: profile,
  seed: 1,
});

const timers: NodeJS.Timeout[] = [];
server.on('connection', (connection) => {
  streams.forEach((spec, index) => {
    const channel = connection.openChannel({
      mode: 'deadline',
      id: 8 * index + 4 + 2,
      deadlineMs: spec.deadlineMs,
      retransmit: spec.name !== 'video',
    });
    let sequence = 0;
    const start = performance.now();
    const tick = (): void => {
      // Send every frame that is due (timers drift; frames keep their nominal capture times).
      while (start + sequence * spec.intervalMs <= performance.now()) {
        const captureMs = start + sequence * spec.intervalMs;
        channel.send(frame(sequence++, captureMs, spec.bytes())).catch(() => {}); // expired: the receiver conceals
      }
    };
    timers.push(setInterval(tick, 5));
  });
});

const client = await connect(`127.0.0.1:${relay.address().port}`, { serverPublicKey: keys.publicKey, fec });
console.log(`streaming for ${seconds} s through ${lossPercent}% loss each way, 30 ± 5 ms one way, encrypted`);
const buffers = new Map<
  number,
  { spec: StreamSpec; buffer: PlayoutBuffer; played: number; concealed: number }
>();
streams.forEach((spec, index) => {
  buffers.set(8 * index + 4 + 2, {
    spec,
    buffer: new PlayoutBuffer({ maxDelayMs: spec.deadlineMs, quantile: 0.99 }),
    played: 0,
    concealed: 0,
  });
});
client.on('channel', (channel: FerryChannel) => {
  const entry = buffers.get(channel.id);
  if (!entry) return;
  channel.on('message', (data: Uint8Array) => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    entry.buffer.push(performance.now(), {
      sequence: view.getUint32(0),
      captureTimeMs: view.getFloat64(4),
      payload: data.subarray(12),
    });
  });
});
const playout = setInterval(() => {
  const now = performance.now();
  for (const entry of buffers.values()) {
    for (let e: PlayoutEvent | undefined = entry.buffer.pop(now); e; e = entry.buffer.pop(now)) {
      if (e.kind === 'frame') entry.played++;
      else entry.concealed++;
    }
  }
}, 2);
const report = setInterval(() => {
  const line = [...buffers.values()].map(({ spec, buffer, played, concealed }) => {
    const s = buffer.stats;
    const share = played + concealed > 0 ? ((100 * concealed) / (played + concealed)).toFixed(1) : '0.0';
    return `${spec.name}: played ${played}, concealed ${concealed} (${share}%), late ${s.lateDrops}, target ${s.currentTargetDelayMs.toFixed(0)} ms, jitter ${s.interarrivalJitterMs.toFixed(1)} ms`;
  });
  console.log(line.join(' | '));
}, 1000);

await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
for (const t of [...timers, playout, report]) clearInterval(t);
const stats = client.stats();
console.log(
  `done: ${stats.messagesReceived} frames received, smoothed RTT ${stats.smoothedRttMs.toFixed(0)} ms; relay dropped ${relay.stats().upstream.dropped.loss ?? 0} up, ${relay.stats().downstream.dropped.loss ?? 0} down`,
);
await client.close({ graceful: false });
await server.close({ graceful: false });
await relay.close();
