import { afterEach, describe, expect, it } from 'vitest';
import { nextChannel, numbered, openRelayPath, seqOf, within } from './helpers.ts';

// Issue 7 API: FEC (spec §11) inside packet protection in the Node binding, chosen per channel (R-FEC-13).

const cleanups: (() => Promise<unknown> | undefined)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('FEC in the Node binding', () => {
  it('repairs losses under encryption at 30% loss each way; delivery stays exactly-once and in order', async () => {
    const { relay, client, served } = await openRelayPath(cleanups, {
      profile: { lossPercent: 30, delayMs: 5, jitterMs: 1 },
      seed: 11,
      fec: true,
    });
    const count = 1500;
    const arrived = nextChannel(served).then(
      (channel) =>
        new Promise<number[]>((resolve, reject) => {
          const seen: number[] = [];
          channel.on('message', (data: Uint8Array) => {
            const seq = seqOf(data);
            if (seq !== seen.length) reject(new Error(`message ${seq} arrived at position ${seen.length}`));
            seen.push(seq);
            if (seen.length === count) resolve(seen);
          });
        }),
    );
    const channel = client.openChannel({ mode: 'reliable-ordered', fec: 'interactive' });
    const receipts: Promise<void>[] = [];
    for (let i = 0; i < count; i++) receipts.push(channel.send(numbered(i, 64)));
    expect(await within(30_000, 'all messages', arrived)).toEqual([...Array(count).keys()]);
    await within(30_000, 'receipts', Promise.all(receipts));
    const sent = client.stats().fec;
    const received = served.stats().fec;
    expect(sent?.paritySent).toBeGreaterThan(0);
    expect(received?.packetsRecovered).toBeGreaterThan(0);
    const upstream = relay.stats().upstream;
    expect(upstream.received - upstream.forwarded).toBeGreaterThan(0); // the relay did drop
  });
});
