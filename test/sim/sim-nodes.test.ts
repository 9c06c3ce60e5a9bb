import { describe, expect, it } from 'vitest';
import { bagLoss } from '../../src/sim/link/bag-loss.ts';
import { bernoulliLoss } from '../../src/sim/link/bernoulli-loss.ts';
import { corrupt } from '../../src/sim/link/corrupt.ts';
import { duplicate } from '../../src/sim/link/duplicate.ts';
import { fixedDelay } from '../../src/sim/link/fixed-delay.ts';
import { gilbertLoss } from '../../src/sim/link/gilbert-loss.ts';
import { inFlightLimit } from '../../src/sim/link/in-flight-limit.ts';
import { mtu } from '../../src/sim/link/mtu.ts';
import type { DropCause, LinkNode, SimPacket } from '../../src/sim/link/node.ts';
import { normalJitter } from '../../src/sim/link/normal-jitter.ts';
import { rateLimit } from '../../src/sim/link/rate-limit.ts';
import { uniformDelay } from '../../src/sim/link/uniform-delay.ts';
import { Link, linkFromProfile, profileNodes } from '../../src/sim/link.ts';
import { SeededRandom } from '../../src/sim/random.ts';

/** Feeds packets (sizes and arrival times) through one node and records what comes out. */
function feed(node: LinkNode, packets: { size: number; at: number }[]) {
  const out: SimPacket[] = [];
  const drops: { packet: SimPacket; cause: DropCause }[] = [];
  for (const { size, at } of packets) {
    node.process(
      { bytes: new Uint8Array(size).fill(0xaa), sentAt: at, at },
      (p) => out.push(p),
      (packet, cause) => drops.push({ packet, cause }),
    );
  }
  return { out, drops };
}

const many = (n: number, size = 100, gapMs = 1) =>
  Array.from({ length: n }, (_, i) => ({ size, at: i * gapMs }));

describe('link nodes', () => {
  it('mtu drops exactly the datagrams over the limit and counts them', () => {
    const node = mtu(1200);
    const { out, drops } = feed(node, [
      { size: 1200, at: 0 },
      { size: 1201, at: 1 },
      { size: 0, at: 2 },
    ]);
    expect(out.map((p) => p.bytes.length)).toEqual([1200, 0]);
    expect(drops.map((d) => [d.packet.bytes.length, d.cause])).toEqual([[1201, 'mtu']]);
    expect(node.counters).toMatchObject({ received: 3, delivered: 2, bytesIn: 2401, bytesOut: 1200 });
    expect(node.counters.dropped).toEqual({ mtu: 1 });
  });

  it('bernoulli 0 keeps everything, 1 drops everything', () => {
    const random = new SeededRandom(1);
    expect(feed(bernoulliLoss(0, random), many(500)).out).toHaveLength(500);
    const all = bernoulliLoss(1, random);
    expect(feed(all, many(500)).drops).toHaveLength(500);
    expect(all.counters.droppedTotal).toBe(500);
  });

  it('rejects out-of-range parameters with a RangeError', () => {
    expect(() => bernoulliLoss(1.5)).toThrow(RangeError);
    expect(() => bagLoss(30.5)).toThrow(RangeError);
    expect(() => bagLoss(101)).toThrow(RangeError);
    expect(() => gilbertLoss({ meanLoss: 0.9, meanBurst: 2 })).toThrow(RangeError);
    expect(() => gilbertLoss({ meanLoss: 0.3, meanBurst: 0.5 })).toThrow(RangeError);
    expect(() => uniformDelay(10, 5)).toThrow(RangeError);
    expect(() => rateLimit({ rateBps: 0, queueBytes: 1000 })).toThrow(RangeError);
    expect(() => fixedDelay(Number.NaN)).toThrow(RangeError);
  });

  it('a random node outside a link without a stream fails loudly', () => {
    expect(() => feed(bernoulliLoss(0.5), many(1))).toThrow(/no random stream/);
  });

  it('bag drops exactly L of every aligned 100', () => {
    for (const lossPerHundred of [0, 1, 5, 15, 30, 99, 100]) {
      const { drops } = feed(bagLoss(lossPerHundred, new SeededRandom(lossPerHundred)), many(1000));
      const dropped = new Set(drops.map((d) => d.packet.at));
      for (let w = 0; w < 10; w++) {
        let inWindow = 0;
        for (let i = w * 100; i < (w + 1) * 100; i++) if (dropped.has(i)) inWindow++;
        expect(inWindow).toBe(lossPerHundred);
      }
    }
  });

  it('fixed delay adds its delay and keeps order', () => {
    const { out } = feed(fixedDelay(25), many(5));
    expect(out.map((p) => p.at)).toEqual([25, 26, 27, 28, 29]);
    expect(out.map((p) => p.sentAt)).toEqual([0, 1, 2, 3, 4]);
  });

  it('uniform delay stays within [min, max); FIFO never reorders; non-FIFO does', () => {
    const reorder = feed(uniformDelay(10, 60, {}, new SeededRandom(2)), many(2000, 100, 0.5)).out;
    for (const p of reorder) {
      expect(p.at - p.sentAt).toBeGreaterThanOrEqual(10);
      expect(p.at - p.sentAt).toBeLessThan(60);
    }
    const overtakes = reorder.filter((p, i) => i > 0 && p.at < (reorder[i - 1]?.at ?? 0)).length;
    expect(overtakes).toBeGreaterThan(0);
    const fifo = feed(uniformDelay(10, 60, { fifo: true }, new SeededRandom(2)), many(2000, 100, 0.5)).out;
    for (let i = 1; i < fifo.length; i++) expect(fifo[i]!.at).toBeGreaterThanOrEqual(fifo[i - 1]!.at);
    for (const p of fifo) expect(p.at - p.sentAt).toBeGreaterThanOrEqual(10);
  });

  it('normal jitter never produces a negative delay', () => {
    const { out } = feed(normalJitter(5, 10, {}, new SeededRandom(4)), many(5000));
    expect(out.some((p) => p.at === p.sentAt)).toBe(true);
    for (const p of out) expect(p.at).toBeGreaterThanOrEqual(p.sentAt);
  });

  it('duplicate emits twins with their own buffer and the same times', () => {
    const node = duplicate(1, new SeededRandom(1));
    const { out } = feed(node, many(3));
    expect(out).toHaveLength(6);
    expect(out[0]!.bytes).not.toBe(out[1]!.bytes);
    expect(out[0]!.bytes).toEqual(out[1]!.bytes);
    expect(out[1]!.at).toBe(out[0]!.at);
    expect(node.counters).toMatchObject({ received: 3, delivered: 6 });
  });

  it('corrupt flips between 1 and maxBitFlips distinct bits of a copy', () => {
    const node = corrupt(1, 4, new SeededRandom(9));
    const original = new Uint8Array(64).fill(0x55);
    const flips = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const packet = { bytes: original, sentAt: 0, at: 0 };
      node.process(
        packet,
        () => {},
        () => {},
      );
      expect(packet.bytes).not.toBe(original);
      let bits = 0;
      for (let j = 0; j < 64; j++) {
        let x = (packet.bytes[j] ?? 0) ^ 0x55;
        for (; x; x &= x - 1) bits++;
      }
      expect(bits).toBeGreaterThanOrEqual(1);
      expect(bits).toBeLessThanOrEqual(4);
      flips.add(bits);
    }
    expect([...flips].sort()).toEqual([1, 2, 3, 4]);
    expect(original.every((b) => b === 0x55)).toBe(true);
    // An empty datagram cannot be corrupted and passes through.
    expect(feed(node, [{ size: 0, at: 0 }]).out).toHaveLength(1);
  });

  it('rate limit serialises back to back and drops at the tail', () => {
    // 8 Mbit/s = 1000 bytes/ms; queue holds 2500 bytes.
    const node = rateLimit({ rateBps: 8e6, queueBytes: 2500 });
    const { out, drops } = feed(node, [
      { size: 1000, at: 0 },
      { size: 1000, at: 0 },
      { size: 1000, at: 0 },
      { size: 500, at: 0 },
      { size: 1000, at: 5 },
    ]);
    expect(out.map((p) => p.at)).toEqual([1, 2, 2.5, 6]);
    expect(drops.map((d) => [d.packet.bytes.length, d.cause])).toEqual([[1000, 'queue']]);
    expect(node.maxBacklogBytes).toBe(2500);
  });

  it('in-flight limit refuses a send while maxPackets earlier ones are still in the link', () => {
    const node = inFlightLimit(2);
    const sent: number[] = [];
    const refused: number[] = [];
    // (send time, delivery time): the cap counts packets whose delivery time is after the send time.
    for (const [sentAt, at] of [
      [0, 10],
      [1, 5],
      [2, 12],
      [5, 15],
      [6, 7],
      [10, 20],
      [11, 13],
    ] as const) {
      node.process(
        { bytes: new Uint8Array(1), sentAt, at },
        (p) => sent.push(p.sentAt),
        (p) => refused.push(p.sentAt),
      );
    }
    expect(sent).toEqual([0, 1, 5, 10]);
    expect(refused).toEqual([2, 6, 11]);
    expect(node.counters.dropped).toEqual({ queue: 3 });
    expect(node.inFlight(100)).toBe(0);
  });

  it('Link runs nodes in order, forks a stream per node, and keeps counters', () => {
    const nodes = [mtu(1000), bernoulliLoss(0.5), fixedDelay(10)];
    const link = new Link(nodes, new SeededRandom(1));
    const delivered: SimPacket[] = [];
    const dropped: [DropCause, number][] = [];
    link.attach({
      deliver: (p) => delivered.push(p),
      drop: (_p, cause, node) => dropped.push([cause, node]),
    });
    for (let i = 0; i < 100; i++) link.send(new Uint8Array(i % 2 ? 2000 : 100), i);
    expect(dropped.filter(([c, n]) => c === 'mtu' && n === 0)).toHaveLength(50);
    expect(dropped.filter(([c, n]) => c === 'loss' && n === 1).length + delivered.length).toBe(50);
    expect(link.counters.sent).toBe(100);
    expect(link.counters.delivered).toBe(delivered.length);
    expect(link.counters.dropped.mtu).toBe(50);
    for (const p of delivered) expect(p.at).toBe(p.sentAt + 10);
  });

  it('adding a node of another kind does not change what the loss node draws', () => {
    const lossPattern = (nodes: LinkNode[]) => {
      const link = new Link(nodes, new SeededRandom(42));
      const kept: number[] = [];
      link.attach({ deliver: (p) => kept.push(p.sentAt), drop: () => {} });
      for (let i = 0; i < 300; i++) link.send(new Uint8Array(10), i);
      return kept;
    };
    const alone = lossPattern([bernoulliLoss(0.3)]);
    // Random nodes of other kinds before and after it (none changes how many packets reach it).
    const withJitter = lossPattern([uniformDelay(0, 5), bernoulliLoss(0.3), duplicate(0.2)]);
    expect([...new Set(withJitter)].sort((x, y) => x - y)).toEqual(alone);
  });

  it('profileNodes builds the documented chain and leaves out unused knobs', () => {
    expect(profileNodes({}).map((n) => n.kind)).toEqual([]);
    const full = profileNodes({
      mtu: 1400,
      rateMbps: 10,
      lossPercent: 30,
      lossModel: 'gilbert',
      burst: 3,
      duplicatePercent: 1,
      delayMs: 40,
      jitterMs: 10,
      corruptPercent: 1,
      maxInFlight: 1000,
    });
    expect(full.map((n) => n.kind)).toEqual([
      'mtu',
      'rate-limit',
      'gilbert-loss',
      'duplicate',
      'uniform-delay',
      'corrupt',
      'in-flight-limit',
    ]);
    expect(profileNodes({ lossPercent: 30, lossModel: 'bag', delayMs: 5 }).map((n) => n.kind)).toEqual([
      'bag-loss',
      'fixed-delay',
    ]);
    expect(profileNodes({ delayMs: 50, jitterMs: 15, jitterModel: 'normal' }).map((n) => n.kind)).toEqual([
      'normal-jitter',
    ]);
    expect(linkFromProfile({ lossPercent: 5 }).nodes[0]?.kind).toBe('bernoulli-loss');
  });
});
