import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/protocol/event-queue.ts';
import { EventRecorder } from '../../src/sim/events.ts';
import { bagLoss } from '../../src/sim/link/bag-loss.ts';
import { inFlightLimit } from '../../src/sim/link/in-flight-limit.ts';
import type { LinkNode, SimPacket } from '../../src/sim/link/node.ts';
import { normalJitter } from '../../src/sim/link/normal-jitter.ts';
import { rateLimit } from '../../src/sim/link/rate-limit.ts';
import { uniformDelay } from '../../src/sim/link/uniform-delay.ts';
import { type LinkProfile, linkFromProfile } from '../../src/sim/link.ts';
import { SeededRandom } from '../../src/sim/random.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { EchoClient, EchoServer } from '../../src/sim/toy-endpoints.ts';

/** Arrivals as (gap before it in ms, size in bytes); times are the running sum of gaps. */
const arrivals = fc.array(
  fc.record({ gapMs: fc.double({ min: 0, max: 20, noNaN: true }), size: fc.nat(1500) }),
  {
    minLength: 1,
    maxLength: 300,
  },
);

function push(node: LinkNode, list: { gapMs: number; size: number }[]) {
  const out: SimPacket[] = [];
  const dropped: SimPacket[] = [];
  let at = 0;
  for (const { gapMs, size } of list) {
    at += gapMs;
    node.process(
      { bytes: new Uint8Array(size), sentAt: at, at },
      (p) => out.push(p),
      (p) => dropped.push(p),
    );
  }
  return { out, dropped };
}

describe('link node properties', () => {
  it('a FIFO delay never lets a packet overtake an earlier one', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        arrivals,
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.boolean(),
        (seed, list, a, b, normal) => {
          const node = normal
            ? normalJitter(a, b, { fifo: true }, new SeededRandom(seed))
            : uniformDelay(Math.min(a, b), Math.max(a, b), { fifo: true }, new SeededRandom(seed));
          const { out } = push(node, list);
          expect(out).toHaveLength(list.length);
          for (let i = 1; i < out.length; i++) expect(out[i]!.at).toBeGreaterThanOrEqual(out[i - 1]!.at);
          for (const p of out) expect(p.at).toBeGreaterThanOrEqual(p.sentAt + (normal ? 0 : Math.min(a, b)));
        },
      ),
    );
  });

  it('the rate limiter never queues more than queueBytes and drops only when it must', () => {
    fc.assert(
      fc.property(
        arrivals,
        fc.double({ min: 1e4, max: 1e9, noNaN: true }),
        fc.integer({ min: 0, max: 200_000 }),
        (list, rateBps, queueBytes) => {
          const node = rateLimit({ rateBps, queueBytes });
          const bytesPerMs = rateBps / 8000;
          const admitted: { arrival: number; departure: number; size: number }[] = [];
          let at = 0;
          for (const { gapMs, size } of list) {
            at += gapMs;
            // Reference backlog: bytes of admitted packets not yet serialised at `at`.
            let backlog = 0;
            for (const q of admitted)
              backlog += Math.min(q.size, Math.max(0, (q.departure - at) * bytesPerMs));
            const tolerance = 1e-6 * (queueBytes + size + 1);
            node.process(
              { bytes: new Uint8Array(size), sentAt: at, at },
              (p) => {
                expect(backlog + size).toBeLessThanOrEqual(queueBytes + tolerance);
                expect(p.at - at).toBeLessThanOrEqual(queueBytes / bytesPerMs + 1e-9 * (p.at + 1));
                admitted.push({ arrival: at, departure: p.at, size });
              },
              () => expect(backlog + size).toBeGreaterThan(queueBytes - tolerance),
            );
          }
          for (let i = 1; i < admitted.length; i++) {
            const prev = admitted[i - 1]!;
            const cur = admitted[i]!;
            expect(cur.departure - Math.max(prev.departure, cur.arrival)).toBeGreaterThanOrEqual(
              cur.size / bytesPerMs - 1e-9 * (cur.departure + 1),
            );
          }
        },
      ),
    );
  });

  it('the in-flight cap never lets more than maxPackets be inside the link, and refuses only when full', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gapMs: fc.nat(5), delayMs: fc.nat(30) }), { maxLength: 300 }),
        fc.nat(20),
        (list, maxPackets) => {
          const node = inFlightLimit(maxPackets);
          const admitted: { sentAt: number; at: number }[] = [];
          let sentAt = 0;
          for (const { gapMs, delayMs } of list) {
            sentAt += gapMs;
            // Reference: admitted packets still inside the link at this send time.
            const inside = admitted.filter((p) => p.at > sentAt).length;
            node.process(
              { bytes: new Uint8Array(1), sentAt, at: sentAt + delayMs },
              (p) => {
                expect(inside).toBeLessThan(maxPackets);
                admitted.push({ sentAt, at: p.at });
              },
              () => expect(inside).toBe(maxPackets),
            );
          }
        },
      ),
    );
  });

  it('bag loss drops exactly L of every aligned 100 datagrams', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 100 }), (seed, lossPerHundred) => {
        const node = bagLoss(lossPerHundred, new SeededRandom(seed));
        const lost: boolean[] = [];
        for (let i = 0; i < 300; i++) {
          node.process(
            { bytes: new Uint8Array(1), sentAt: i, at: i },
            () => lost.push(false),
            () => lost.push(true),
          );
        }
        for (let w = 0; w < 3; w++) {
          expect(lost.slice(w * 100, (w + 1) * 100).filter(Boolean)).toHaveLength(lossPerHundred);
        }
      }),
    );
  });
});

describe('event queue', () => {
  it('pops in (time, insertion) order, like a stable sort', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 400 }),
        (ops) => {
          const queue = new EventQueue<{ at: number; seq: number; id: number }>();
          const reference: { at: number; id: number }[] = [];
          let id = 0;
          for (const op of ops) {
            if (op >= 0) {
              queue.push({ at: op, seq: 0, id });
              reference.push({ at: op, id: id++ });
            } else {
              reference.sort((x, y) => x.at - y.at || x.id - y.id);
              expect(queue.pop()?.id).toBe(reference.shift()?.id);
            }
            expect(queue.size).toBe(reference.length);
          }
        },
      ),
    );
  });
});

const profiles: fc.Arbitrary<LinkProfile> = fc.record(
  {
    lossPercent: fc.integer({ min: 0, max: 60 }),
    lossModel: fc.constantFrom('bernoulli' as const, 'bag' as const, 'gilbert' as const),
    burst: fc.integer({ min: 2, max: 5 }),
    delayMs: fc.integer({ min: 0, max: 80 }),
    jitterMs: fc.integer({ min: 0, max: 40 }),
    jitterModel: fc.constantFrom('uniform' as const, 'normal' as const),
    fifo: fc.boolean(),
    rateMbps: fc.double({ min: 0.01, max: 10, noNaN: true }),
    queueBytes: fc.integer({ min: 0, max: 20_000 }),
    mtu: fc.integer({ min: 20, max: 70 }),
    duplicatePercent: fc.integer({ min: 0, max: 10 }),
    corruptPercent: fc.integer({ min: 0, max: 10 }),
  },
  { requiredKeys: [] },
);

function echo(seed: number, forward: LinkProfile, backward: LinkProfile) {
  const recorder = new EventRecorder();
  const sim = new Simulation({ seed, onEvent: recorder.record });
  const client = new EchoClient('b', sim.forkRandom('a'), 60, 7, 30);
  sim.addEndpoint('a', client);
  sim.addEndpoint('b', new EchoServer());
  sim.connect('a', 'b', linkFromProfile(forward), linkFromProfile(backward));
  sim.run();
  return { log: recorder.text(), sim };
}

describe('simulation properties', () => {
  it('any setup replays identically from its seed', () => {
    fc.assert(
      fc.property(fc.integer(), profiles, profiles, (seed, forward, backward) => {
        expect(echo(seed, forward, backward).log).toBe(echo(seed, forward, backward).log);
      }),
      { numRuns: 60 },
    );
  });

  it('every datagram sent is delivered or dropped exactly once (plus duplicates)', () => {
    fc.assert(
      fc.property(fc.integer(), profiles, (seed, profile) => {
        const { sim } = echo(seed, profile, profile);
        for (const [from, to] of [
          ['a', 'b'],
          ['b', 'a'],
        ] as const) {
          const link = sim.linkBetween(from, to)!;
          const duplicates = link.nodes.find((n) => n.kind === 'duplicate');
          const extra = duplicates ? duplicates.counters.delivered - duplicates.counters.received : 0;
          const dropped = Object.values(link.counters.dropped).reduce((x, y) => x + (y ?? 0), 0);
          expect(link.counters.delivered + dropped).toBe(link.counters.sent + extra);
        }
        expect(sim.counters.deliveries).toBe(
          (sim.linkBetween('a', 'b')?.counters.delivered ?? 0) +
            (sim.linkBetween('b', 'a')?.counters.delivered ?? 0),
        );
      }),
      { numRuns: 60 },
    );
  });
});
