import { FerryPair, type Side } from '../../src/harness/ferry-pair.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import type { Connection } from '../../src/protocol/connection.ts';
import type { ConnectionEvent, ReceivedMessage } from '../../src/protocol/connection-events.ts';
import type { LinkProfile } from '../../src/sim/link.ts';
import { connectionInvariantViolations } from './invariants.ts';

/** Settings of a soak run (spec §14): IM both ways plus a media-like deadline stream, at 30% loss. */
export interface SoakOptions {
  seed: number;
  /** Simulated time during which messages are sent (ms); the run then drains for up to a minute. */
  durationMs: number;
  /** IM messages over the whole run, both directions together. */
  imMessages: number;
  /** Media frames per second, client → server, on a deadline channel (0: none). */
  mediaFramesPerSecond: number;
  /** Called every simulated minute (and at the end) with the sample just taken. */
  onSample?: (sample: SoakSample) => void;
  /** Sample memory with `global.gc()` first when the process exposes it (node --expose-gc). */
  gc?: () => void;
}

/** Memory and structure sizes at one instant. */
export interface SoakSample {
  atMs: number;
  heapUsedBytes: number;
  imSent: number;
  imReceived: number;
  /** Largest of each `bufferSizes()` figure over both connections, plus their send buffers. */
  sizes: Record<string, number>;
}

/** What a soak run found. */
export interface SoakResult {
  imSent: number;
  imReceived: number;
  imDuplicates: number;
  imOutOfOrder: number;
  imCorrupt: number;
  /** Sent IM messages never received. */
  imLost: number;
  mediaSent: number;
  mediaReceived: number;
  mediaDuplicates: number;
  /** Media messages the sender gave up on (`expired`) and ids the receiver skipped (`skipped`). */
  mediaExpired: number;
  mediaSkipped: number;
  /** Invariant violations seen at any sample (empty when all held). */
  violations: string[];
  samples: SoakSample[];
  closedEarly: boolean;
  datagramsSent: number;
}

/** The 30%-loss path of the soak: both directions lose 30% (Bernoulli), 25 ± 5 ms, 20 Mbit/s bottleneck. */
export const soakLink: LinkProfile = {
  lossPercent: 30,
  delayMs: 25,
  jitterMs: 5,
  rateMbps: 20,
  queueBytes: 131_072,
};

const imChannel: Record<Side, number> = {
  client: makeChannelId(0, 'client', ChannelMode.reliableOrdered),
  server: makeChannelId(0, 'server', ChannelMode.reliableOrdered),
};
const imUnorderedChannel = makeChannelId(1, 'client', ChannelMode.reliableUnordered);
const mediaChannel = makeChannelId(0, 'client', ChannelMode.deadline);

/** An IM payload: its sequence in the first 4 bytes, then a pattern derived from it (checked on receipt). */
function imPayload(sequence: number): Uint8Array {
  const data = new Uint8Array(20 + ((sequence * 37) % 380));
  new DataView(data.buffer).setUint32(0, sequence);
  for (let i = 4; i < data.length; i++) data[i] = (sequence + i) & 255;
  return data;
}

function imIntact(data: Uint8Array): number | undefined {
  if (data.length < 20) return undefined;
  const sequence = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (data.length !== 20 + ((sequence * 37) % 380)) return undefined;
  for (let i = 4; i < data.length; i++) if (data[i] !== ((sequence + i) & 255)) return undefined;
  return sequence;
}

/**
 * Runs the soak: IM messages (20–400 bytes) from both sides — the client on an ordered and an unordered channel,
 * the server on an ordered one — spread evenly over `durationMs`, and media frames (1000 bytes, 400 ms deadline)
 * client → server, over {@link soakLink}. Messages refused by backpressure wait and are sent later (the
 * application's queue); every IM message is checked received exactly once, intact, in order on ordered channels.
 */
export function runSoak(options: SoakOptions): SoakResult {
  const result: SoakResult = {
    imSent: 0,
    imReceived: 0,
    imDuplicates: 0,
    imOutOfOrder: 0,
    imCorrupt: 0,
    imLost: 0,
    mediaSent: 0,
    mediaReceived: 0,
    mediaDuplicates: 0,
    mediaExpired: 0,
    mediaSkipped: 0,
    violations: [],
    samples: [],
    closedEarly: false,
    datagramsSent: 0,
  };
  // One byte per IM message (a fixed 1 MB for a million): the checker's own state must not grow with traffic.
  const received = new Uint8Array(options.imMessages);
  const lastOrdered = new Map<string, number>();
  const mediaSeen = new Uint8Array(
    Math.ceil((options.durationMs / 1000) * options.mediaFramesPerSecond) + 16,
  );
  const onMessage = (side: Side, _now: number, m: ReceivedMessage): void => {
    if (m.channelId === mediaChannel) {
      if (mediaSeen[m.messageId] === 1) result.mediaDuplicates++;
      mediaSeen[m.messageId] = 1;
      result.mediaReceived++;
      return;
    }
    const sequence = imIntact(m.data);
    if (sequence === undefined) {
      result.imCorrupt++;
      return;
    }
    if (sequence >= received.length) {
      result.imCorrupt++;
      return;
    }
    if (received[sequence] === 1) {
      result.imDuplicates++;
      return;
    }
    received[sequence] = 1;
    result.imReceived++;
    if (m.channelId !== imUnorderedChannel) {
      const key = `${side}:${m.channelId}`;
      if ((lastOrdered.get(key) ?? -1) > m.messageId) result.imOutOfOrder++;
      lastOrdered.set(key, m.messageId);
    }
  };
  const onEvent = (_side: Side, _now: number, e: ConnectionEvent): void => {
    if (e.type === 'expired' && e.channelId === mediaChannel) result.mediaExpired++;
    else if (e.type === 'skipped' && e.channelId === mediaChannel) result.mediaSkipped += e.count;
    else if (e.type === 'closed') result.closedEarly = true;
  };
  const pair = new FerryPair({
    seed: options.seed,
    forward: soakLink,
    reverse: soakLink,
    onMessage,
    onEvent,
    config: { idleTimeoutMs: 120_000 },
  });
  const queues: Record<Side, number[]> = { client: [], server: [] };
  const pump = (side: Side, nowMs: number): void => {
    const connection = pair.connection(side);
    const queue = queues[side];
    while (connection?.state === 'open' && queue.length > 0) {
      const sequence = queue[0]!;
      const data = imPayload(sequence);
      if (!connection.canSend(data.length)) break;
      const channel = side === 'client' && sequence % 3 === 0 ? imUnorderedChannel : imChannel[side];
      connection.send(nowMs, channel, data);
      queue.shift();
    }
  };
  const tickMs = 10;
  const ticks = Math.floor(options.durationMs / tickMs);
  let next = 0;
  // Each tick schedules the next, so the event queue holds one tick, not the whole hour.
  const tick = (index: number): void =>
    pair.at(index * tickMs, (nowMs) => {
      if (index + 1 < ticks) tick(index + 1);
      const due = Math.floor(((index + 1) * options.imMessages) / ticks);
      for (; next < due; next++) {
        queues[next % 10 < 7 ? 'client' : 'server'].push(next);
        result.imSent++;
      }
      const frameEvery = options.mediaFramesPerSecond > 0 ? 1000 / options.mediaFramesPerSecond : 0;
      if (
        frameEvery > 0 &&
        Math.floor((index * tickMs) / frameEvery) !== Math.floor(((index - 1) * tickMs) / frameEvery)
      ) {
        if (pair.client.state === 'open' && pair.client.canSend(1000)) {
          pair.client.send(nowMs, mediaChannel, new Uint8Array(1000), { deadlineMs: 400 });
          result.mediaSent++;
        }
      }
      pump('client', nowMs);
      pump('server', nowMs);
    });
  tick(0);
  const sample = (atMs: number): void => {
    options.gc?.();
    const sizes: Record<string, number> = {};
    for (const c of [pair.client, pair.server]) {
      if (!c) continue;
      for (const [key, value] of Object.entries(c.bufferSizes()))
        sizes[key] = Math.max(sizes[key] ?? 0, value);
      sizes.sendBufferedBytes = Math.max(sizes.sendBufferedBytes ?? 0, c.sendBufferedBytesTotal);
      for (const v of connectionInvariantViolations(c)) result.violations.push(`${atMs} ms: ${v}`);
    }
    const s: SoakSample = {
      atMs,
      heapUsedBytes: process.memoryUsage().heapUsed,
      imSent: result.imSent,
      imReceived: result.imReceived,
      sizes,
    };
    result.samples.push(s);
    options.onSample?.(s);
  };
  for (let t = 60_000; t <= options.durationMs; t += 60_000) pair.at(t, () => sample(t));
  // After the sending period: keep pumping queued messages until both queues and send buffers are empty.
  const drainUntilMs = options.durationMs + 120_000;
  for (let t = options.durationMs; t < drainUntilMs; t += 100) {
    pair.at(t, (nowMs) => {
      pump('client', nowMs);
      pump('server', nowMs);
    });
  }
  const settled = (c: Connection | undefined): boolean => !c || c.sendBufferedBytesTotal === 0;
  pair.sim.run({
    untilMs: drainUntilMs,
    stopWhen: () =>
      pair.sim.now > options.durationMs &&
      queues.client.length + queues.server.length === 0 &&
      settled(pair.client) &&
      settled(pair.server),
  });
  sample(pair.sim.now);
  result.imLost = result.imSent - result.imReceived;
  result.datagramsSent = pair.totalStat('packetsSent');
  return result;
}
