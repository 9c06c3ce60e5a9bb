import { describe, expect, it } from 'vitest';
import { FerryPair } from '../../src/harness/ferry-pair.ts';
import type { ConnectionConfig } from '../../src/protocol/connection-config.ts';
import { FerryUsageError } from '../../src/protocol/errors.ts';
import type { LinkProfile } from '../../src/sim/link.ts';

// A receiver that does not read (spec §8, R-FLOW-1…3): the sender sees backpressure instead of buffers growing.
// The server does not read until `readFromMs`; the client sends 1000-byte messages every 2 ms on one ordered
// channel. Checked: the server's buffered bytes stay within the window rule, the client's `send` throws
// 'send-buffer-full', and once the server reads, everything arrives once and in order and `writable` fires.

const messageBytes = 1000;
const config: Partial<ConnectionConfig> = {
  channelWindowBytes: 16 * 1024,
  connectionWindowBytes: 32 * 1024,
  sendBufferBytes: 64 * 1024,
};
/**
 * The receive window rule ('message-start' admission, see ReceiveChannel): a new message is admitted while the
 * buffered bytes are below the window, so buffered < window + one message (the documented bound for any peer is
 * window + 2 × the largest message).
 */
const receiveBoundBytes = (config.channelWindowBytes ?? 0) + 2 * messageBytes;
/** The reader wakes up here (virtual ms), long after the sender hit the full send buffer. */
const readFromMs = 20_000;

const scenarios: { seed: number; link: LinkProfile }[] = [
  { seed: 1, link: { delayMs: 20 } },
  { seed: 2, link: { lossPercent: 20, delayMs: 40, jitterMs: 10 } },
  { seed: 3, link: { lossPercent: 40, lossModel: 'gilbert', burst: 3, delayMs: 30, jitterMs: 20 } },
];

describe('slow reader: flow control pushes back to the sender', () => {
  it.each(scenarios)('seed $seed, link $link', ({ seed, link }) => {
    const receipts: number[] = [];
    let writableAtMs: number | undefined;
    let fullAtMs: number | undefined;
    let peakBufferedBytes = 0;
    const sentIds: number[] = [];
    const pair = new FerryPair({
      seed,
      forward: link,
      reverse: link,
      config,
      readEagerly: false,
      onEvent: (side, nowMs, event) => {
        if (side !== 'client') return;
        if (event.type === 'delivered') receipts.push(event.messageId);
        if (event.type === 'writable' && fullAtMs !== undefined) writableAtMs ??= nowMs;
      },
    });
    const payload = (id: number): Uint8Array => new Uint8Array(messageBytes).fill(id & 0xff);

    // The writer: one message every 2 ms until the send buffer is full, then it waits for `writable`.
    const write = (nowMs: number): void => {
      if (fullAtMs === undefined || writableAtMs !== undefined) {
        try {
          sentIds.push(pair.client.send(nowMs, 0, payload(sentIds.length)));
        } catch (error) {
          expect(error).toBeInstanceOf(FerryUsageError);
          expect((error as FerryUsageError).reason).toBe('send-buffer-full');
          fullAtMs ??= nowMs;
        }
      }
      if (sentIds.length < 200) pair.at(nowMs + 2, write);
    };
    pair.at(0, write);

    // The reader: samples the server's buffer every 5 ms and, from `readFromMs` on, drains it.
    const received: { id: number; data: Uint8Array }[] = [];
    const read = (nowMs: number): void => {
      const server = pair.server;
      if (server) {
        peakBufferedBytes = Math.max(peakBufferedBytes, server.bufferSizes().receiveBufferedBytes);
        if (nowMs >= readFromMs) {
          for (let m = server.receive(); m; m = server.receive())
            received.push({ id: m.messageId, data: m.data });
        }
      }
      pair.at(nowMs + 5, read);
    };
    pair.at(0, read);

    const result = pair.sim.run({
      untilMs: 10 * 60_000,
      stopWhen: () => receipts.length === 200 && received.length === 200,
    });

    expect(result.reason, `seed ${seed}: completes`).toBe('stopped');
    expect(fullAtMs, 'send reported send-buffer-full before the reader started').toBeLessThan(readFromMs);
    expect(peakBufferedBytes, 'receiver buffer within the window rule').toBeLessThan(receiveBoundBytes);
    // Before reading, the receiver holds about a window: the sender was stopped by credit, not by loss.
    expect(peakBufferedBytes).toBeGreaterThan((config.channelWindowBytes ?? 0) / 2);
    expect(writableAtMs, 'writable after the reader started').toBeGreaterThanOrEqual(readFromMs);
    expect(received.map((r) => r.id)).toEqual(sentIds);
    for (const r of received) expect(r.data).toEqual(payload(r.id));
    expect([...receipts].sort((a, b) => a - b)).toEqual(sentIds);
  });
});
