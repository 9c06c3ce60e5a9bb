import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from '../../src/node/api.ts';
import type { FerryChannel } from '../../src/node/channel.ts';
import { FerryExpiredError } from '../../src/node/errors.ts';
import { FerryUsageError } from '../../src/protocol/errors.ts';
import {
  clientSecurity,
  loopback,
  numbered,
  openRelayPath,
  seqOf,
  serverSecurity,
  sleep,
  within,
} from './helpers.ts';

const cleanups: (() => Promise<unknown> | undefined)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Encrypted client → relay (30% loss each way) → server. */
const lossyPath = () =>
  openRelayPath(cleanups, { profile: { lossPercent: 30, delayMs: 10, jitterMs: 2 }, seed: 11 });

/** Sends `count` numbered messages 10 ms apart; resolves with how each send settled. */
async function stream(channel: FerryChannel, count: number) {
  const outcomes: Promise<'delivered' | 'expired'>[] = [];
  for (let i = 0; i < count; i++) {
    outcomes.push(
      channel.send(numbered(i, 200)).then(
        () => 'delivered' as const,
        (error: unknown) => {
          if (error instanceof FerryExpiredError) return 'expired' as const;
          throw error;
        },
      ),
    );
    await sleep(10);
  }
  return Promise.all(outcomes);
}

describe('deadline and unreliable channels over encrypted loopback at 30% loss', () => {
  it('every send settles once (delivered or FerryExpiredError); the receiver gets each message at most once', async () => {
    const { client, served } = await lossyPath();
    const deadline = client.openChannel({ mode: 'deadline', deadlineMs: 150 });
    const unreliable = client.openChannel({ mode: 'unreliable' });
    const got = new Map<number, number[]>();
    served.on('channel', (channel: FerryChannel) => {
      const list: number[] = [];
      got.set(channel.id, list);
      channel.on('message', (data: Uint8Array) => list.push(seqOf(data)));
    });
    const [d, u] = await within(
      20_000,
      'all settled',
      Promise.all([stream(deadline, 100), stream(unreliable, 100)]),
    );
    await sleep(300);
    for (const [channel, outcomes] of [
      [deadline, d],
      [unreliable, u],
    ] as const) {
      const received = got.get(channel.id) ?? [];
      expect(new Set(received).size).toBe(received.length); // never twice
      expect(received.every((s) => s >= 0 && s < 100)).toBe(true);
      const delivered = outcomes.filter((o) => o === 'delivered').length;
      expect(delivered).toBeLessThanOrEqual(received.length); // a receipt means it arrived
      expect(outcomes.length).toBe(100);
    }
    // Retransmission within the deadline recovers most deadline messages; unreliable ones are lost at ~30%.
    expect((got.get(deadline.id) ?? []).length).toBeGreaterThan((got.get(unreliable.id) ?? []).length);
    expect(u.filter((o) => o === 'expired').length).toBeGreaterThan(0);
  }, 40_000);

  it('refuses deadline options on reliable channels and a Duplex on non-ordered ones', async () => {
    const server = await listen({ ...serverSecurity, host: loopback });
    cleanups.push(() => server.close({ graceful: false }));
    const client = await connect(`${loopback}:${server.address().port}`, clientSecurity);
    cleanups.push(() => client.close({ graceful: false }));
    expect(() => client.openChannel({ mode: 'reliable-ordered', deadlineMs: 10 })).toThrow(FerryUsageError);
    expect(() => client.openChannel({ mode: 'deadline' }).stream()).toThrow(FerryUsageError);
    const unreliable = client.openChannel({ mode: 'unreliable', sequenced: true });
    expect(unreliable.mode).toBe('unreliable');
    expect(unreliable.id % 4).toBe(3);
  });
});
