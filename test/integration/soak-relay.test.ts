import { afterEach, describe, expect, it } from 'vitest';
import type { FerryChannel } from '../../src/node/channel.ts';
import type { LinkProfile } from '../../src/sim/link.ts';
import { envCount, nextChannel, numbered, openRelayPath, seqOf, sleep, within } from './helpers.ts';

// Real-socket soak (spec §14, R-LIMIT-7): encrypted loopback UDP through the impairment relay at 30% loss each way,
// IM both ways (reliable-ordered) plus a 50 message/s stream of 1000-byte messages (reliable-unordered, standing in
// for media in the Node API), for FERRY_SOAK_SECONDS (default 20, at most 60 in npm test). Every message arrives
// exactly once (in order where ordered), every receipt resolves, and the heap stays flat.

const seconds = Math.min(envCount('FERRY_SOAK_SECONDS', 20), 600);
const lossy: LinkProfile = { lossPercent: 30, delayMs: 10, jitterMs: 3 };

const cleanups: (() => Promise<unknown> | undefined)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Counts `channel`'s messages by sequence, recording duplicates, corrupt ones and (when ordered) reordering. Message
 * 0 opened the channel and may have been delivered before this listener existed: it is not counted.
 */
function tally(channel: FerryChannel, ordered: boolean) {
  const t = { received: 0, duplicates: 0, corrupt: 0, outOfOrder: 0, seen: new Set<number>(), last: 0 };
  channel.on('message', (data: Uint8Array) => {
    const seq = seqOf(data);
    if (seq === 0) return;
    if (seq < 0) t.corrupt++;
    else if (t.seen.has(seq)) t.duplicates++;
    else {
      t.seen.add(seq);
      t.received++;
      if (ordered && seq !== t.last + 1) t.outOfOrder++;
      t.last = seq;
    }
  });
  return t;
}

describe('real-socket soak through the impairment relay (R-LIMIT-7)', () => {
  it(
    `${seconds} s at 30% loss: IM both ways and a message stream, exactly once, receipts, flat heap`,
    async () => {
      const { relay, client, served } = await openRelayPath(cleanups, { profile: lossy, seed: 7 });
      const serverChannels: FerryChannel[] = [];
      served.on('channel', (channel: FerryChannel) => serverChannels.push(channel));
      const imUp = client.openChannel({ mode: 'reliable-ordered' });
      const streamUp = client.openChannel({ mode: 'reliable-unordered' });
      const firstChannel = nextChannel(client);
      const imDown = served.openChannel({ mode: 'reliable-ordered' });

      const receipts: Promise<void>[] = [];
      const sent = { imUp: 0, streamUp: 0, imDown: 0 };
      // Give the server its channel objects before data flows (the first message opens them).
      receipts.push(imUp.send(numbered(sent.imUp++, 40)), streamUp.send(numbered(sent.streamUp++, 1000)));
      receipts.push(imDown.send(numbered(sent.imDown++, 40)));
      await within(
        10_000,
        'channels open',
        (async () => {
          while (serverChannels.length < 2) await sleep(5);
        })(),
      );
      const byId = new Map(serverChannels.map((c) => [c.id, c]));
      const upIm = tally(byId.get(imUp.id)!, true);
      const upStream = tally(byId.get(streamUp.id)!, false);
      const downIm = tally(await firstChannel, true);
      const heap: number[] = [];
      const startMs = performance.now();
      let tick = 0;
      while (performance.now() - startMs < seconds * 1000) {
        // Every 10 ms: 2 IM up, 1 IM down, and a stream message every 20 ms.
        for (let i = 0; i < 2; i++)
          receipts.push(imUp.send(numbered(sent.imUp++, 20 + ((sent.imUp * 37) % 300))));
        receipts.push(imDown.send(numbered(sent.imDown++, 20 + ((sent.imDown * 53) % 300))));
        if (tick % 2 === 0) receipts.push(streamUp.send(numbered(sent.streamUp++, 1000)));
        if (tick % 100 === 0) heap.push(process.memoryUsage().heapUsed);
        tick++;
        await sleep(10);
      }
      await within(30_000, 'every receipt', Promise.all(receipts));
      // Message 0 of each channel is not counted (see tally).
      const done = (): boolean =>
        upIm.received === sent.imUp - 1 &&
        upStream.received === sent.streamUp - 1 &&
        downIm.received === sent.imDown - 1;
      for (const untilMs = performance.now() + 10_000; !done() && performance.now() < untilMs; )
        await sleep(20);
      for (const [t, n] of [
        [upIm, sent.imUp],
        [upStream, sent.streamUp],
        [downIm, sent.imDown],
      ] as const) {
        expect(t.received).toBe(n - 1); // all but message 0 (see tally)
        expect(t.duplicates).toBe(0);
        expect(t.corrupt).toBe(0);
        expect(t.outOfOrder).toBe(0);
      }
      const stats = relay.stats();
      expect((stats.upstream.dropped.loss ?? 0) / stats.upstream.received).toBeGreaterThan(0.2);
      expect(client.stats().sendBufferedBytes).toBe(0);
      expect(client.stats().queuedSends).toBe(0);
      // Flat heap: the second half of the run holds no more than the first half plus a margin for the collector.
      const half = Math.floor(heap.length / 2);
      const maxFirst = Math.max(...heap.slice(0, Math.max(1, half)));
      const maxSecond = Math.max(...heap.slice(half));
      expect(maxSecond).toBeLessThan(maxFirst + 64 * 1024 * 1024);
      console.log(
        `real soak ${seconds} s: IM up ${sent.imUp}, IM down ${sent.imDown}, stream ${sent.streamUp}, all exactly once; ` +
          `relay dropped ${stats.upstream.dropped.loss ?? 0}/${stats.upstream.received} upstream; ` +
          `heap ${(Math.min(...heap) / 2 ** 20).toFixed(0)}–${(Math.max(...heap) / 2 ** 20).toFixed(0)} MiB`,
      );
    },
    (seconds + 60) * 1000,
  );
});
