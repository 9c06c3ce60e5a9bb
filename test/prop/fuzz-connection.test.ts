import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyMutation,
  captureCorpus,
  corpusPool,
  fuzzCaseArb,
  fuzzStates,
  mutationArb,
  runFuzzCase,
} from '../support/fuzz-harness.ts';

// R-LIMIT-5 (spec §14): hostile datagrams — mutations of what the live peer just sent (replayed, bit-flipped,
// truncated, spliced, overwritten, extended, bodies repeated) and of packets captured from FerryPair runs, plus
// noise — at every connection state. Nothing throws out of the core, every buffer stays within its configured
// bound and the connection's internal invariants hold after every datagram, and no message is delivered twice.
// `npm run fuzz` runs the same cases for a million datagrams and more.

const corpus = corpusPool(2);

describe('fuzz: the connection state machine under hostile datagrams (R-LIMIT-5)', () => {
  it('the FerryPair corpus holds real traffic of both sides, and every mutation yields a datagram', () => {
    const { client, server } = captureCorpus(0);
    expect(client.length).toBeGreaterThan(50);
    expect(server.length).toBeGreaterThan(50);
    fc.assert(
      fc.property(mutationArb, (m) => {
        const bytes = applyMutation(corpus, m);
        expect(bytes).toBeInstanceOf(Uint8Array);
        if (m.op === 'replay') expect(bytes).toEqual(corpus[m.base % corpus.length]);
        if (m.op === 'truncate') expect(bytes.length).toBeLessThan(corpus[m.base % corpus.length]!.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('nothing throws, bounds and invariants hold after every datagram, at every state', () => {
    let datagrams = 0;
    let accepted = 0;
    const states = new Set<string>();
    fc.assert(
      fc.property(fuzzCaseArb(500), (fuzzCase) => {
        const outcome = runFuzzCase(fuzzCase, corpus);
        datagrams += outcome.datagrams;
        accepted += outcome.accepted;
        states.add(fuzzCase.state);
      }),
      { numRuns: 120 },
    );
    // The run must really have reached every state and the decoders' depths (not only dropped noise).
    expect([...states].sort()).toEqual([...fuzzStates].sort());
    expect(datagrams).toBeGreaterThan(20_000);
    expect(accepted).toBeGreaterThan(datagrams / 50);
  });
});
