import { describe, expect, it } from 'vitest';
import { FerryPair } from '../../src/harness/ferry-pair.ts';

describe('reliable delivery smoke', () => {
  it('delivers 200 messages in order over a 30% lossy jittery link', () => {
    const received: number[] = [];
    const delivered = new Set<number>();
    const pair = new FerryPair({
      seed: 7,
      forward: { lossPercent: 30, delayMs: 40, jitterMs: 10 },
      reverse: { lossPercent: 30, delayMs: 40, jitterMs: 10 },
      onMessage: (_side, _now, m) =>
        received.push(new DataView(m.data.buffer, m.data.byteOffset).getUint32(0)),
      onEvent: (side, _now, e) => {
        if (side === 'client' && e.type === 'delivered') delivered.add(e.messageId);
      },
    });
    for (let i = 0; i < 200; i++) {
      pair.at(i * 20, (now) => {
        const data = new Uint8Array(8 + (i % 5) * 700);
        new DataView(data.buffer).setUint32(0, i);
        pair.client.send(now, 0, data);
      });
    }
    pair.sim.run({ untilMs: 60_000, stopWhen: () => delivered.size === 200 });
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(delivered.size).toBe(200);
  });
});
