/**
 * The sending end of a loopback benchmark in a worker thread (bench/loopback-harness.ts, two-thread placement):
 * the sender and the receiver then each have an event loop and a core, as two hosts would, instead of sharing one.
 * Started with {@link SenderJob} as `workerData`; posts `'sending'` once it sends, stops on any message.
 *
 * - raw: 1200-byte datagrams in bursts of 32 per event-loop turn to `port`, exactly as the one-thread raw sender.
 * - ferry: connects to `port` and keeps 64 messages of 64 KiB queued on a reliable-ordered channel.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { type ConnectOptions, connect } from '../src/node/api.ts';

/** What the worker sends, and to where. */
export interface SenderJob {
  kind: 'raw' | 'ferry';
  host: string;
  port: number;
  socketBufferBytes: number;
  datagramBytes: number;
  /** Client options of a Ferry sender (structured-clonable: keys are Uint8Arrays). */
  client?: Omit<ConnectOptions, 'socketBufferBytes'>;
}

const job = workerData as SenderJob;
const port = parentPort;
if (port) {
  const stopped = new Promise<void>((resolve) => port.once('message', () => resolve()));
  if (job.kind === 'raw') await rawSender(stopped);
  else await ferrySender(stopped);
  port.close();
}

async function rawSender(stopped: Promise<void>): Promise<void> {
  const socket = createSocket('udp4');
  socket.bind(0, job.host);
  await once(socket, 'listening');
  socket.setSendBufferSize(job.socketBufferBytes);
  socket.setRecvBufferSize(job.socketBufferBytes);
  const payload = new Uint8Array(job.datagramBytes);
  let running = true;
  const pump = (): void => {
    if (!running) return;
    for (let i = 0; i < 32; i++) socket.send(payload, job.port, job.host);
    setImmediate(pump);
  };
  pump();
  parentPort?.postMessage('sending');
  await stopped;
  running = false;
  socket.close();
}

async function ferrySender(stopped: Promise<void>): Promise<void> {
  const connection = await connect(`${job.host}:${job.port}`, {
    ...job.client,
    socketBufferBytes: job.socketBufferBytes,
  } as ConnectOptions);
  const channel = connection.openChannel({ mode: 'reliable-ordered' });
  const message = new Uint8Array(64 * 1024);
  let running = true;
  const keepSending = (): void => {
    if (running) void channel.send(message).then(keepSending, () => {});
  };
  for (let i = 0; i < 64; i++) keepSending();
  parentPort?.postMessage('sending');
  await stopped;
  running = false;
  await connection.close({ graceful: false });
}
