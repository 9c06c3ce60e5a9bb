import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSecureFuzzCase, secureFuzzCaseArb, secureFuzzStates } from '../support/secure-fuzz.ts';

// Handshake-stage fuzzing (spec §13, §14; R-LIMIT-5): mutations of everything seen on the wire — Initials, Retries,
// ServerHellos and protected packets — sent to a secure client or server before, during and after the handshake,
// from the peer's address or from spoofed ones. Nothing throws, no forged or replayed packet reaches an application
// (every message delivered is one the client sent, exactly once), spoofed sources get no connection state and at
// most 3× the bytes they sent, and an established connection survives any hostile datagram.

describe('fuzz: the security layer under hostile datagrams at every handshake stage (R-LIMIT-5)', () => {
  it('no throw, no forgery delivered, no state or amplification for spoofed sources, connections survive', () => {
    let datagrams = 0;
    let rejected = 0;
    let delivered = 0;
    const states = new Set<string>();
    fc.assert(
      fc.property(secureFuzzCaseArb(200), (fuzzCase) => {
        const outcome = runSecureFuzzCase(fuzzCase);
        datagrams += outcome.datagrams;
        rejected += outcome.forgedOrReplayed;
        delivered += outcome.delivered;
        states.add(fuzzCase.state);
      }),
      { numRuns: 30 },
    );
    expect([...states].sort()).toEqual([...secureFuzzStates].sort());
    expect(datagrams).toBeGreaterThan(2000);
    expect(rejected).toBeGreaterThan(0); // mutated protected packets reached the AEAD check and failed it
    expect(delivered).toBeGreaterThan(0); // legitimate traffic flowed beside the garbage
  });
});
