/**
 * Opt-in long fuzz run (`npm run fuzz`, spec §14): datagrams mutated (bit flips, truncation, splicing,
 * overwrites, insertions, repeated bodies, replays, pure noise) from what a live peer just sent and from packets
 * captured in FerryPair runs, fed to a connection at every state while a legitimate exchange goes on, with every
 * invariant checked after every datagram (the cases of test/prop/fuzz-connection.test.ts, many more of them).
 * A failure prints fast-check's seed and shrunk case.
 *
 * Then the security layer (spec §13) the same way, at every handshake stage, from the peer's and spoofed addresses.
 * Then the FEC layer's FEEDBACK decoder (spec §11.9, R-FEC-15): random, mutated and forged FEEDBACK packets fed to a
 * FEC sender with extra repair (test/support/feedback-fuzz.ts).
 *
 * Usage: node --import tsx scripts/fuzz.ts [--datagrams N] [--handshake-datagrams H] [--feedback-datagrams F]
 * [--seed S] (defaults: 1,000,000 connection datagrams, 50,000 security-layer datagrams, 20,000 FEEDBACK
 * datagrams, random seed)
 */
import fc from 'fast-check';
import { feedbackFuzzCaseArb, runFeedbackFuzzCase } from '../test/support/feedback-fuzz.ts';
import { corpusPool, type FuzzState, fuzzCaseArb, runFuzzCase } from '../test/support/fuzz-harness.ts';
import { runSecureFuzzCase, secureFuzzCaseArb } from '../test/support/secure-fuzz.ts';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

const target = argument('--datagrams', 1_000_000);
const handshakeTarget = argument('--handshake-datagrams', 50_000);
const feedbackTarget = argument('--feedback-datagrams', 20_000);
const seed = argument('--seed', Math.floor(Math.random() * 2 ** 31));
const corpus = corpusPool(4);
console.log(
  `fuzz: seed ${seed}, FerryPair corpus of ${corpus.length} datagrams, target ${target.toLocaleString('en')}`,
);

const byState = new Map<FuzzState, number>();
let datagrams = 0;
let accepted = 0;
let rebuilt = 0;
let cases = 0;
let peakHeapBytes = 0;
const startMs = performance.now();
let lastReportMs = startMs;
for (let batch = 0; datagrams < target; batch++) {
  fc.assert(
    fc.property(fuzzCaseArb(2000), (fuzzCase) => {
      const outcome = runFuzzCase(fuzzCase, corpus);
      datagrams += outcome.datagrams;
      accepted += outcome.accepted;
      rebuilt += outcome.rebuilt;
      cases++;
      byState.set(fuzzCase.state, (byState.get(fuzzCase.state) ?? 0) + outcome.datagrams);
    }),
    { seed: seed + batch, numRuns: 50 },
  );
  peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
  const nowMs = performance.now();
  if (nowMs - lastReportMs > 5000) {
    lastReportMs = nowMs;
    const rate = datagrams / ((nowMs - startMs) / 1000);
    console.log(`  ${datagrams.toLocaleString('en')} datagrams, ${Math.round(rate).toLocaleString('en')}/s`);
  }
}
const seconds = (performance.now() - startMs) / 1000;
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
console.log(
  `fuzzed ${datagrams.toLocaleString('en')} datagrams in ${cases.toLocaleString('en')} cases, ${seconds.toFixed(1)} s: ` +
    `${Math.round(datagrams / seconds).toLocaleString('en')} datagrams/s, peak heap ${mib(peakHeapBytes)} MiB`,
);
console.log(
  `by starting state: ${[...byState].map(([s, n]) => `${s} ${n.toLocaleString('en')}`).join(', ')}`,
);
console.log(
  `decoded and processed by the target: ${accepted.toLocaleString('en')}; ` +
    `target closed by a well-formed forgery and rebuilt: ${rebuilt.toLocaleString('en')} times (a bare connection is unauthenticated: §13 protection sits outside it)`,
);
console.log('no exception, every invariant held after every datagram, no message delivered twice');

let secureDatagrams = 0;
let rejected = 0;
const secureStartMs = performance.now();
for (let batch = 0; secureDatagrams < handshakeTarget; batch++) {
  fc.assert(
    fc.property(secureFuzzCaseArb(500), (fuzzCase) => {
      const outcome = runSecureFuzzCase(fuzzCase);
      secureDatagrams += outcome.datagrams;
      rejected += outcome.forgedOrReplayed;
    }),
    { seed: seed + 1_000_000 + batch, numRuns: 20 },
  );
}
const secureSeconds = (performance.now() - secureStartMs) / 1000;
console.log(
  `security layer: fuzzed ${secureDatagrams.toLocaleString('en')} datagrams in ${secureSeconds.toFixed(1)} s ` +
    `(${Math.round(secureDatagrams / secureSeconds).toLocaleString('en')}/s), ${rejected.toLocaleString('en')} ` +
    'rejected as forged or replayed; no forgery delivered, no state or >3× answer for spoofed sources',
);

let feedbackDatagrams = 0;
let feedbackDecoded = 0;
let extraRepairs = 0;
const feedbackStartMs = performance.now();
for (let batch = 0; feedbackDatagrams < feedbackTarget; batch++) {
  fc.assert(
    fc.property(feedbackFuzzCaseArb(100), (inputs) => {
      const outcome = runFeedbackFuzzCase(inputs);
      feedbackDatagrams += outcome.datagrams;
      feedbackDecoded += outcome.decoded;
      extraRepairs += outcome.extraRepairs;
    }),
    { seed: seed + 2_000_000 + batch, numRuns: 20 },
  );
}
const feedbackSeconds = (performance.now() - feedbackStartMs) / 1000;
console.log(
  `FEEDBACK: fuzzed ${feedbackDatagrams.toLocaleString('en')} datagrams in ${feedbackSeconds.toFixed(1)} s ` +
    `(${Math.round(feedbackDatagrams / feedbackSeconds).toLocaleString('en')}/s), ${feedbackDecoded.toLocaleString('en')} ` +
    `decoded, ${extraRepairs.toLocaleString('en')} extra REPAIR packets sent; malformed ones counted, every answer ` +
    'well formed, no block past 256 shards',
);
