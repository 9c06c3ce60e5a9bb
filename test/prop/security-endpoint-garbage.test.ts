import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drainSeqs, SecurePair, seqMessage, serverAddress, testChannel } from '../spec/security-pair.ts';

// R-HS-10: garbage, truncated, mutated, replayed or misdirected datagrams at every stage of a connection are
// dropped and counted; they never throw, never open a connection, and never break the genuine one.

const garbage = fc.oneof(
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 1400 }) }),
  fc.record({
    kind: fc.constant('mutated' as const),
    index: fc.nat(),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('replayed' as const), index: fc.nat() }),
);

const stages = [0, 12, 25, 35, 60, 500] as const;

describe('secure endpoint under hostile input', () => {
  it('R-HS-10: never throws, never opens a connection for garbage, and the real connection still delivers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom(...stages),
        fc.array(garbage, { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        (seed, stageMs, junk, toClient) => {
          const pair = new SecurePair({ seed });
          const client = pair.connect();
          pair.run(stageMs);
          const before = pair.serverInner.connectionCount;
          for (const g of junk) {
            let bytes: Uint8Array;
            if (g.kind === 'random') bytes = g.bytes;
            else {
              const source = pair.wire[g.index % pair.wire.length]!.bytes;
              bytes = source.slice();
              if (g.kind === 'mutated') {
                for (const [at, x] of g.flips) bytes[at % bytes.length]! ^= x;
                if (g.cut !== undefined) bytes = bytes.subarray(0, g.cut % (bytes.length + 1));
              }
            }
            if (toClient) pair.inject(serverAddress, bytes, pair.clientAddress);
            else pair.inject(`mallory:${g.kind}`, bytes);
          }
          // Garbage from other addresses opens nothing (a valid cookie is bound to the genuine client's address).
          if (!toClient) expect(pair.serverInner.connectionCount).toBe(before);
          expect(pair.run(20_000, () => pair.clientEvents.some((e) => e.type === 'established'))).toBe(true);
          client.send(pair.nowMs, testChannel, seqMessage(42));
          const got: number[] = [];
          pair.run(pair.nowMs + 20_000, () => {
            const conn = pair.serverInner.connections.find((c) => c.state === 'open');
            if (conn) got.push(...drainSeqs(conn));
            return got.length > 0;
          });
          expect(got).toEqual([42]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
