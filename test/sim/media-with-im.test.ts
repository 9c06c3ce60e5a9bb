import { describe, expect, it } from 'vitest';
import { FerryPair } from '../../src/harness/ferry-pair.ts';
import { encodeMediaFrame, MediaReceiver, type MediaStreamSpec } from '../../src/harness/media-stream.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';

// Issue 6: media and a reliable IM channel share one connection at 30 % loss with jitter and reordering. IM
// stays exactly-once and in order while every media frame that plays does so within its deadline (R-PLAY-4),
// and the media stream loses only a few frames.

describe('media beside IM on one connection (issue 6)', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: IM exactly-once in order; media frames play within the deadline`, () => {
      const im = makeChannelId(0, 'client', ChannelMode.reliableOrdered);
      const media = makeChannelId(1, 'client', ChannelMode.deadline);
      const spec: MediaStreamSpec = {
        name: 'audio',
        frameIntervalMs: 20,
        frameBytes: () => 160,
        deadlineMs: 250,
      };
      const link = {
        lossPercent: 30,
        delayMs: 40,
        jitterMs: 10,
        fifo: false,
        rateMbps: 5,
        queueBytes: 64 * 1024,
      };
      const imReceived: number[] = [];
      const imSent: number[] = [];
      const delays: number[] = [];
      let receiver: MediaReceiver | undefined;
      const pair: FerryPair = new FerryPair({
        seed,
        forward: link,
        reverse: link,
        fec: { fecClass: 'media', maxBlockDelayMs: 8, protectAckOnly: false },
        onMessage: (side, nowMs, m) => {
          if (side !== 'server') return;
          if (m.channelId === im) imReceived.push(m.messageId);
          else receiver?.onFrame(nowMs, m.data);
        },
      });
      receiver = new MediaReceiver(
        spec,
        (at, hook) => pair.sim.schedule(at, hook),
        { clockOffsetMs: 0, quantile: 0.99 }, // the quantile default (0.95) aims to drop ~5% late
        (_now, e) => {
          if (e.kind === 'frame') delays.push(e.playoutDelayMs);
        },
      );
      pair.client.configureChannel(media, { deadlineMs: spec.deadlineMs });
      const frames = 1000;
      for (let i = 0; i < frames; i++) {
        pair.at(i * spec.frameIntervalMs, (now) =>
          pair.client.send(now, media, encodeMediaFrame(i, now, 160)),
        );
        // An IM message every 100 ms, some spanning several packets.
        if (i % 5 === 0) {
          pair.at(i * spec.frameIntervalMs + 3, (now) => {
            imSent.push(pair.client.send(now, im, new Uint8Array(16 + ((i * 97) % 5000))));
          });
        }
      }
      pair.sim.run({
        untilMs: frames * spec.frameIntervalMs + 20_000,
        stopWhen: () => imReceived.length >= imSent.length && pair.sim.now > frames * 20 + 500,
      });
      expect(imReceived).toEqual(imSent);
      expect(Math.max(...delays)).toBeLessThanOrEqual(spec.deadlineMs);
      expect(delays.length).toBeGreaterThan(0.95 * frames);
    });
  }
});
