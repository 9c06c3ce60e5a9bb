import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FecDecoder } from '../../src/fec/fec-decoder.ts';
import { FecEncoder } from '../../src/fec/fec-encoder.ts';
import { ExtraRepair } from '../../src/fec/fec-extra-repair.ts';
import {
  decodeFeedbackPacket,
  encodeFeedbackPacket,
  type FeedbackPacket,
  fecMaxFeedbackMissing,
  fecMaxFeedbackRequests,
  isFeedbackPacket,
} from '../../src/fec/fec-feedback.ts';
import { decodeRepairPacket } from '../../src/fec/fec-header.ts';
import { RepairRequester } from '../../src/fec/fec-repair-requests.ts';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';
import { varintMax } from '../../src/protocol/wire/index.ts';
import { feedbackFuzzCaseArb, runFeedbackFuzzCase } from '../support/feedback-fuzz.ts';

// Extra repair (spec §11.9): the FEEDBACK codec (R-FEC-15) round-trips, never throws on random or mutated bytes,
// and has one encoding per packet; encoder → ExtraRepair → decoder (R-FEC-14): more shards of the same code,
// and any k of all a block's shards rebuild its lost sources byte-identically, never a wrong datagram; the
// receiver's requester stays bounded and never asks for a timeout at or before its last poll.

const codec = new ReedSolomonCodec();
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A valid FEEDBACK packet: any reference, requests and missing packets at or below it, any loss report. */
const feedbackArb: fc.Arbitrary<FeedbackPacket> = fc
  .record({
    connectionId: fc.constantFrom(0, 4, 8, 16).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    ref: fc.oneof(
      fc.nat({ max: 100 }),
      fc.nat(),
      fc.constant(varintMax),
      fc.integer({ min: 0, max: varintMax }),
    ),
    report: fc.option(
      fc.record({
        lossPermyriad: fc.integer({ min: 0, max: 10_000 }),
        meanBurstTenths: fc.integer({ min: 10, max: 16_383 }),
      }),
      { nil: undefined },
    ),
    requests: fc.array(fc.record({ below: fc.nat(), needed: fc.integer({ min: 1, max: 255 }) }), {
      maxLength: fecMaxFeedbackRequests,
    }),
    missing: fc.array(fc.oneof(fc.nat({ max: 200 }), fc.nat()), { maxLength: fecMaxFeedbackMissing }),
  })
  .map(({ connectionId, ref, report, requests, missing }) => ({
    connectionId,
    referencePacketNumber: ref,
    lossReport: report,
    requests: requests.map((r) => ({
      firstSourcePacketNumber: ref - (r.below % (ref + 1)),
      needed: r.needed,
    })),
    missing: missing.map((below) => ref - (below % (ref + 1))),
  }));

describe('FEEDBACK codec (R-FEC-15)', () => {
  it('R-FEC-15: valid packets round-trip exactly and are recognised as FEEDBACK, not as a repair', () => {
    fc.assert(
      fc.property(feedbackArb, (packet) => {
        const bytes = encodeFeedbackPacket(packet);
        expect(isFeedbackPacket(bytes)).toBe(true);
        expect(decodeRepairPacket(bytes).ok).toBe(false); // Span 0 is never a valid REPAIR packet
        const decoded = decodeFeedbackPacket(bytes);
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        const { connectionId, ...rest } = decoded.value;
        const { connectionId: id, ...expected } = packet;
        expect(rest).toEqual({
          ...expected,
          requests: [...expected.requests],
          missing: [...expected.missing],
        });
        expect(hex(connectionId)).toBe(hex(id));
      }),
      { numRuns: 3000 },
    );
  });

  it('R-FEC-15: random bytes never throw; whatever decodes re-encodes to the same bytes', () => {
    const bodyArb = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.nat({ max: 3 }).map((v) => [v]) },
        { weight: 2, arbitrary: fc.nat({ max: 63 }).map((v) => [v]) },
        { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }).map((b) => [...b]) },
      ),
      { maxLength: 30 },
    );
    let valid = 0;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 60 }),
        fc.nat({ max: 3 }),
        fc.nat({ max: 3 }),
        bodyArb,
        (raw, mode, cidCode, body) => {
          // Mode 0: pure noise. Otherwise a FEEDBACK-shaped start (REPAIR flags, key phase 0, Span 0) followed by
          // noise or by short varints, so the body decoder is reached most of the time.
          let bytes = raw;
          if (mode > 0) {
            const cid = [0, 4, 8, 16][cidCode]!;
            const head = [0x80 | (cidCode << 4), ...new Array<number>(cid).fill(7), 0x7f, 0xff, 0x00]; // packet number 16383, Span 0
            const tail = mode === 1 ? [...raw] : body.flat();
            bytes = Uint8Array.from([...head, ...tail]);
          }
          const decoded = decodeFeedbackPacket(bytes);
          if (decoded.ok) {
            valid++;
            expect(hex(encodeFeedbackPacket(decoded.value))).toBe(hex(bytes));
          } else expect(decoded.offset).toBeLessThanOrEqual(bytes.length);
        },
      ),
      { numRuns: 20_000 },
    );
    expect(valid).toBeGreaterThan(20); // the body decoder's success path was reached, not only its failures
  });

  it('R-FEC-15: a mutated valid packet never throws and never decodes to other bytes', () => {
    fc.assert(
      fc.property(
        feedbackArb,
        fc.nat(),
        fc.nat({ max: 255 }),
        fc.nat({ max: 6 }),
        (packet, at, value, cut) => {
          const bytes = encodeFeedbackPacket(packet).slice();
          // The key phase bit (0x08) is not a FEEDBACK field: keep it clear so only the packet's own fields vary.
          bytes[at % bytes.length] = at % bytes.length === 0 ? value & ~0x08 : value;
          const mutated = bytes.subarray(0, Math.max(0, bytes.length - cut));
          const decoded = decodeFeedbackPacket(mutated);
          if (decoded.ok) expect(hex(encodeFeedbackPacket(decoded.value))).toBe(hex(mutated));
        },
      ),
      { numRuns: 10_000 },
    );
  });
});

/** One block's case: k sources with gaps, initial m, which sources and shards are lost, and the burst's fate. */
const blockCaseArb = fc
  .record({
    first: fc.oneof(fc.nat({ max: 1000 }), fc.nat()),
    sources: fc.array(
      fc.record({ gap: fc.nat({ max: 2 }), bytes: fc.uint8Array({ minLength: 0, maxLength: 120 }) }),
      { minLength: 1, maxLength: 32 },
    ),
    mSeed: fc.nat(),
    lossSeed: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
    lossBias: fc.integer({ min: 0, max: 3 }),
    slack: fc.nat({ max: 3 }),
    burstLoss: fc.array(fc.boolean(), { minLength: 256, maxLength: 256 }),
    rounds: fc.integer({ min: 1, max: 3 }),
    reverse: fc.boolean(),
  })
  .map((c) => {
    const k = c.sources.length;
    let pn = c.first;
    // Each source starts with its index, so a rebuilt datagram can be matched to the one it must equal.
    const numbered = c.sources.map((s, i) => {
      if (i > 0) pn += 1 + s.gap;
      return { pn, bytes: Uint8Array.from([i, ...s.bytes]) };
    });
    const m = c.mSeed % (k + 1);
    // lossBias raises the loss rate: a shard is lost when any of (1 + lossBias) consecutive seeds says so.
    const lost = (i: number): boolean => {
      for (let j = 0; j <= c.lossBias; j++) if (c.lossSeed[(i + j * 17) % 64]) return true;
      return false;
    };
    return {
      ...c,
      k,
      m,
      numbered,
      lostSource: numbered.map((_, i) => lost(i)),
      lostRepair: (j: number) => lost(k + j),
    };
  });

describe('extra repair end to end: FecEncoder → ExtraRepair → FecDecoder (R-FEC-14)', () => {
  it('R-FEC-14: with ≥ k shards held the lost sources come back byte-identical; never a wrong datagram', () => {
    const seen = { rebuiltAfterExtra: 0, short: 0, askedByMissing: 0 };
    fc.assert(
      fc.property(blockCaseArb, (c) => {
        const extra = new ExtraRepair(
          // Every round answered: the byte budget (R-LIMIT-8) has its own test.
          { minBurstSpacingMs: 0, maxBytesRatio: Number.POSITIVE_INFINITY },
          new Uint8Array([1, 2, 3, 4]),
          codec,
          (needed) => needed + c.slack,
          () => undefined,
        );
        const encoder = new FecEncoder({
          connectionId: new Uint8Array([1, 2, 3, 4]),
          maxRepairBytes: 4096,
          maxBlockSources: 64,
          maxBlockDelayMs: 1000,
          parityFor: () => c.m,
          codec,
          extraRepair: extra,
        });
        for (const { pn, bytes } of c.numbered) encoder.onSourcePacket(0, pn, bytes);
        encoder.flush(0);
        const initial: Uint8Array[] = [];
        for (let r = encoder.pollRepair(0); r; r = encoder.pollRepair(0)) initial.push(r);
        expect(initial).toHaveLength(c.m);
        expect(extra.held.blocks).toBe(1);

        const decoder = new FecDecoder({ codec });
        const original = new Map(c.numbered.map((s) => [s.bytes[0]!, s.bytes]));
        const rebuilt: Uint8Array[] = [];
        const received = new Set<number>();
        let nowMs = 0;
        const deliver = (fns: (() => Uint8Array[])[]) => {
          if (c.reverse) fns.reverse();
          for (const fn of fns) rebuilt.push(...fn());
        };
        deliver([
          ...c.numbered
            .filter((_, i) => !c.lostSource[i])
            .map((s) => () => {
              received.add(s.pn);
              return decoder.onSourcePacket(nowMs, s.pn, s.bytes);
            }),
          ...initial.filter((_, j) => !c.lostRepair(j)).map((r) => () => decoder.onRepairPacket(nowMs, r)),
        ]);
        let repairsHeld = initial.filter((_, j) => !c.lostRepair(j)).length;
        let burstIndex = 0;
        for (let round = 0; round < c.rounds; round++) {
          nowMs += 50;
          // What the receiver asks for: the block if a repair made it known, else its missing packets.
          const out: Uint8Array[] = [];
          const incomplete = [...decoder.incompleteBlocks()];
          const missing = c.numbered.filter((s) => !decoder.holds(s.pn)).map((s) => s.pn);
          if (missing.length === 0) break;
          if (incomplete.length > 0) {
            expect(incomplete).toHaveLength(1);
            const [block] = incomplete;
            expect(block!.firstSourcePacketNumber).toBe(c.numbered[0]!.pn);
            expect(block!.needed).toBe(missing.length - repairsHeld);
            extra.onBlockRequest(nowMs, block!.firstSourcePacketNumber, block!.needed, out);
          } else {
            expect(missing.some((pn) => decoder.knowsBlockOf(pn))).toBe(repairsHeld > 0);
            extra.onMissing(nowMs, missing, out);
            seen.askedByMissing++;
          }
          const arrived: Uint8Array[] = [];
          const total = c.m + burstIndex + out.length;
          if (c.k + total <= 256) expect(out.length).toBeGreaterThanOrEqual(1);
          for (const packet of out) {
            const decoded = decodeRepairPacket(packet);
            expect(decoded.ok).toBe(true);
            if (!decoded.ok) return;
            // The burst continues the code: indices after every shard sent so far, Repair Count = the new total.
            expect(decoded.value.repairIndex).toBe(c.m + burstIndex);
            expect(decoded.value.repairCount).toBe(total);
            if (!c.burstLoss[burstIndex++ % 256]) arrived.push(packet);
          }
          repairsHeld += arrived.length;
          deliver(arrived.map((r) => () => decoder.onRepairPacket(nowMs, r)));
        }
        // Never a wrong datagram: each rebuilt one is the original with its index, and one of the lost ones.
        for (const bytes of rebuilt) {
          const index = bytes[0]!;
          expect(hex(bytes)).toBe(hex(original.get(index)!));
          // Repairs delivered first may rebuild a source still on its way (reordering); otherwise only lost ones.
          if (!c.reverse) expect(received.has(c.numbered[index]!.pn)).toBe(false);
        }
        expect(new Set(rebuilt.map((b) => b[0])).size).toBe(rebuilt.length);
        const lostCount = c.numbered.filter((s) => !received.has(s.pn)).length;
        const held = c.k - lostCount + repairsHeld;
        if (held >= c.k) {
          for (const s of c.numbered) expect(decoder.holds(s.pn), `pn ${s.pn}`).toBe(true);
          const rebuiltIndices = new Set(rebuilt.map((b) => b[0]!));
          for (const [i, s] of c.numbered.entries())
            if (!received.has(s.pn)) expect(rebuiltIndices.has(i)).toBe(true);
          if (!c.reverse) expect(rebuilt).toHaveLength(lostCount);
          if (burstIndex > 0 && lostCount > 0) seen.rebuiltAfterExtra++;
        } else {
          expect(rebuilt).toEqual([]);
          seen.short++;
        }
      }),
      { numRuns: 400 },
    );
    // The interesting cases occurred: blocks rebuilt thanks to extra shards, blocks asked for by their missing
    // packets, and blocks left short (every burst shard lost often enough).
    expect(seen.rebuiltAfterExtra).toBeGreaterThan(20);
    expect(seen.askedByMissing).toBeGreaterThan(5);
    expect(seen.short).toBeGreaterThan(5);
  });

  it('R-FEC-14: extra shards of any index equal the shards a larger initial m would have sent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        (sources, m, more) => {
          const longest = Math.max(...sources.map((s) => s.length));
          const padded = sources.map((s) => {
            const shard = new Uint8Array(longest);
            shard.set(s);
            return shard;
          });
          const small = codec.encode(padded, m);
          const large = codec.encode(padded, m + more);
          expect(large.slice(0, m).map(hex)).toEqual(small.map(hex));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('RepairRequester bounds (R-FEC-15)', () => {
  it('R-FEC-15: under arbitrary data, repairs and polls the requester stays bounded and never times out at or before its last poll', () => {
    const eventArb = fc.oneof(
      fc.record({
        kind: fc.constant('data' as const),
        pn: fc.nat({ max: 100_000 }),
        dt: fc.nat({ max: 30 }),
      }),
      fc.record({
        kind: fc.constant('repair' as const),
        first: fc.nat({ max: 100_000 }),
        span: fc.integer({ min: 2, max: 20 }),
        sources: fc.integer({ min: 1, max: 20 }),
        dt: fc.nat({ max: 30 }),
      }),
      fc.record({ kind: fc.constant('poll' as const), dt: fc.nat({ max: 60 }) }),
      fc.record({ kind: fc.constant('timeout' as const), dt: fc.constant(0) }),
    );
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 150 }),
        fc.integer({ min: 10, max: 400 }),
        (events, rtt) => {
          const decoder = new FecDecoder({ codec, maxBlocks: 32 });
          const requester = new RepairRequester(decoder);
          requester.smoothedRttMs = rtt;
          let nowMs = 0;
          let lastPollMs = Number.NEGATIVE_INFINITY;
          const poll = (at: number) => {
            const packet = requester.poll(at, new Uint8Array(0), undefined);
            lastPollMs = at;
            if (packet === undefined) return;
            // Whatever it asks for encodes (R-FEC-15 limits) and round-trips.
            const decoded = decodeFeedbackPacket(encodeFeedbackPacket(packet));
            expect(decoded.ok).toBe(true);
          };
          for (const e of events) {
            nowMs += e.dt;
            if (e.kind === 'data') requester.onDataPacket(nowMs, e.pn);
            else if (e.kind === 'repair') {
              requester.onRepairPacket(e.sources % e.span, e.span);
              const lengths = new Array<number>(e.span).fill(10);
              decoder.onRepair(nowMs, {
                connectionId: new Uint8Array(0),
                firstSourcePacketNumber: e.first,
                repairCount: 1,
                repairIndex: 0,
                lossReport: undefined,
                sourceLengths: lengths,
                parity: new Uint8Array(10),
              });
            } else if (e.kind === 'poll') poll(nowMs);
            else {
              const t = requester.nextTimeout();
              if (t !== undefined && Number.isFinite(t)) {
                expect(t).toBeGreaterThan(lastPollMs);
                nowMs = Math.max(nowMs, t);
                poll(nowMs);
              }
            }
            const t = requester.nextTimeout();
            if (t !== undefined) expect(t).toBeGreaterThanOrEqual(lastPollMs + 1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a FEC sender under random, mutated and forged FEEDBACK (R-FEC-15)', () => {
  it('R-FEC-15: never throws, counts what is malformed, answers only with well-formed repair, ≤ 256 shards a block', () => {
    let decoded = 0;
    let extra = 0;
    fc.assert(
      fc.property(feedbackFuzzCaseArb(60), (inputs) => {
        const outcome = runFeedbackFuzzCase(inputs);
        decoded += outcome.decoded;
        extra += outcome.extraRepairs;
      }),
      { numRuns: 100 },
    );
    // Forged requests reached retained blocks and were answered, not only refused.
    expect(decoded).toBeGreaterThan(100);
    expect(extra).toBeGreaterThan(100);
  });
});
