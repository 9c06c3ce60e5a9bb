import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type OutgoingFragment, OutgoingMessage } from '../../src/protocol/channel/outgoing-message.ts';
import { defaultConnectionConfig } from '../../src/protocol/connection-config.ts';
import { RedundancyPlanner } from '../../src/protocol/recovery/redundancy.ts';

// The thin-stream deadline scans (spec §6.5, R-LOSS-9) stop early while real sends come in time order; whatever
// the order, they must give what a scan of every tracked fragment gives.

type Op =
  | { op: 'first'; dtMs: number }
  | { op: 'retransmit'; pick: number; dtMs: number }
  | { op: 'ack'; pick: number }
  | { op: 'queue'; pick: number; queued: boolean }
  | { op: 'overdue'; dtMs: number };

// Time mostly moves forward (the early stop applies), now and then back (the full scan takes over).
const dtMs = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 50 }) },
  { weight: 3, arbitrary: fc.constant(0.1) },
  { weight: 1, arbitrary: fc.integer({ min: -20, max: -1 }) },
);
const pick = fc.nat({ max: 400 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('first' as const), dtMs }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('retransmit' as const), pick, dtMs }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('ack' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('queue' as const), pick, queued: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('overdue' as const), dtMs }) },
);

/** Tracked fragments in the planner's order, after a prune (acknowledged ones left out). */
function trackedInOrder(order: OutgoingFragment[]): OutgoingFragment[] {
  return order.filter((f) => f.tracked && !f.acked);
}

function naiveDeadline(order: OutgoingFragment[], thinRtoMs: number): number | undefined {
  let t: number | undefined;
  for (const f of order) {
    if (!f.tracked || f.acked || f.queuedForRetransmit) continue;
    const at = f.lastRealSendMs + thinRtoMs;
    if (t === undefined || at < t) t = at;
  }
  return t;
}

describe('RedundancyPlanner deadline scans against a full scan (R-LOSS-9)', () => {
  it('nextDeadlineMs and overdue agree with scanning every tracked fragment, in or out of time order', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 100, maxLength: 700, size: 'max' }),
        fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(0.3)),
        // First sends before the mix, so the 256-candidate cap evicts the oldest in many runs.
        fc.integer({ min: 0, max: 320 }),
        (mix, thinRtoMs, prefill) => {
          const ops: Op[] = [
            ...Array.from({ length: prefill }, () => ({ op: 'first' as const, dtMs: 1 })),
            ...mix,
          ];
          const planner = new RedundancyPlanner(defaultConnectionConfig);
          // Every fragment ever tracked, in tracking order (a re-tracked one moves to the end).
          let order: OutgoingFragment[] = [];
          let nowMs = 1000;
          const sent: OutgoingFragment[] = [];
          for (const op of ops) {
            const f = sent.length > 0 ? sent[('pick' in op ? op.pick : 0) % sent.length]! : undefined;
            switch (op.op) {
              case 'first': {
                nowMs += op.dtMs;
                const fragment = new OutgoingMessage(0, sent.length, new Uint8Array(100), 1134, 0)
                  .fragments[0]!;
                fragment.lastSentMs = nowMs;
                sent.push(fragment);
                planner.onFirstSent(fragment);
                order.push(fragment);
                break;
              }
              case 'retransmit': {
                if (!f || f.acked) break;
                nowMs += op.dtMs;
                const wasTracked = f.tracked;
                f.lastSentMs = nowMs;
                f.queuedForRetransmit = false;
                planner.onRetransmitted(f);
                if (!wasTracked && f.tracked) order = [...order.filter((g) => g !== f), f];
                break;
              }
              case 'ack':
                if (f) f.acked = true;
                break;
              case 'queue':
                if (f) f.queuedForRetransmit = op.queued;
                break;
              case 'overdue': {
                nowMs += op.dtMs;
                const expected = trackedInOrder(order).filter(
                  (g) => !g.queuedForRetransmit && g.lastRealSendMs + thinRtoMs <= nowMs,
                );
                expect(planner.overdue(nowMs, thinRtoMs)).toEqual(expected);
                break;
              }
            }
            expect(planner.nextDeadlineMs(thinRtoMs)).toBe(naiveDeadline(order, thinRtoMs));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
