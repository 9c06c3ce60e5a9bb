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

  it('extra repair (R-FEC-14, R-PR-8): a deadline channel without retransmission is repaired by asked-for parity', async () => {
    const fec = {
      fecClass: 'media' as const,
      maxBlockDelayMs: 8,
      protectAckOnly: false,
      policy: { maxRepairRatio: 0.5 },
      extraRepair: {},
    };
    const { client, served } = await openRelayPath(cleanups, {
      profile: { lossPercent: 30, delayMs: 10, jitterMs: 2 },
      seed: 5,
      fec,
    });
    const count = 200;
    const seen = new Set<number>();
    let duplicates = 0;
    const arrived = nextChannel(served).then(
      (channel) =>
        new Promise<void>((resolve) => {
          channel.on('message', (data: Uint8Array) => {
            const seq = seqOf(data);
            if (seen.has(seq)) duplicates++;
            seen.add(seq);
            if (seen.size >= 0.97 * count) resolve();
          });
        }),
    );
    const channel = client.openChannel({ mode: 'deadline', deadlineMs: 2000, retransmit: false });
    const settled: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      settled.push(channel.send(numbered(i, 4000)).catch(() => undefined)); // 4 packets each; expiry rejects
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 20));
    }
    await within(30_000, '97% of the messages', arrived);
    await within(30_000, 'every send settled', Promise.all(settled));
    expect(duplicates).toBe(0);
    const stats = client.stats();
    expect(stats.fragmentRetransmissions).toBe(0); // nothing retransmitted: FEC repaired what arrived
    expect(stats.fec?.extraParitySent).toBeGreaterThan(0);
    expect(served.stats().fec?.feedbackSent).toBeGreaterThan(0);
  });
});
