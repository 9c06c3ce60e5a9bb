import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FecDecoder } from '../../src/fec/fec-decoder.ts';
import { FecEncoder } from '../../src/fec/fec-encoder.ts';
import { decodeRepairPacket, encodeRepairPacket, repairPacketLength } from '../../src/fec/fec-header.ts';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';

// Encoder → erasure → decoder (spec §11.2–§11.5): any erasure pattern of at most m shards in a block rebuilds
// exactly the missing sources, byte-identical (R-FEC-5, R-FEC-6); more than m rebuilds nothing and the block is
// counted unrecoverable when it ages out (R-FEC-8). The decoder is also fuzzed with random and mutated repair
// packets: it never throws and its memory stays within its bounds (R-FEC-3, R-FEC-8).

const codec = new ReedSolomonCodec();
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A block: k sources of random sizes and bytes at packet numbers with gaps, m repairs, and what is lost. */
const blockArb = fc
  .record({
    first: fc.nat({ max: 1_000_000 }),
    sources: fc.array(
      fc.record({ gap: fc.nat({ max: 3 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
      { minLength: 1, maxLength: 24 },
    ),
    m: fc.integer({ min: 1, max: 12 }),
    lostSeed: fc.array(fc.boolean(), { minLength: 36, maxLength: 36 }),
    order: fc.nat(),
  })
  .map(({ first, sources, m, lostSeed, order }) => {
    let pn = first;
    const numbered = sources.map((s, i) => {
      if (i > 0) pn += 1 + s.gap;
      return { pn, bytes: s.bytes };
    });
    return { numbered, m, lost: lostSeed.slice(0, numbered.length + m), order };
  });

/** Encodes one block: every source in one encoder block (no count, time or size limit reached). */
function encodeBlock(numbered: { pn: number; bytes: Uint8Array }[], m: number): Uint8Array[] {
  const encoder = new FecEncoder({
    connectionId: new Uint8Array([1, 2, 3, 4]),
    maxRepairBytes: 4096,
    maxBlockSources: 200,
    maxBlockDelayMs: 1000,
    parityFor: () => m,
    codec,
  });
  for (const { pn, bytes } of numbered) encoder.onSourcePacket(0, pn, bytes);
  encoder.flush(0);
  const repairs: Uint8Array[] = [];
  for (let r = encoder.pollRepair(0); r; r = encoder.pollRepair(0)) repairs.push(r);
  expect(repairs.length).toBe(m);
  expect(encoder.stats.blocks).toBe(1);
  return repairs;
}

describe('FEC encoder → erasures → decoder', () => {
  it('≤ m erasures rebuild exactly the missing sources, byte-identical; > m rebuild none and count', () => {
    fc.assert(
      fc.property(blockArb, ({ numbered, m, lost, order }) => {
        const repairs = encodeBlock(numbered, m);
        const decoder = new FecDecoder({ codec, maxAgeMs: 100 });
        const erased = lost.filter(Boolean).length;
        // Deliver what survives, repairs first or sources first (late sources can complete a block too).
        const deliveries: (() => Uint8Array[])[] = [];
        numbered.forEach(({ pn, bytes }, i) => {
          if (!lost[i]) deliveries.push(() => decoder.onSourcePacket(0, pn, bytes));
        });
        repairs.forEach((r, j) => {
          if (!lost[numbered.length + j]) deliveries.push(() => decoder.onRepairPacket(0, r));
        });
        if (order % 2 === 1) deliveries.reverse();
        const rebuilt = deliveries.flatMap((deliver) => deliver());
        const missing = numbered.filter((_, i) => lost[i]);
        const repairsArrived = repairs.filter((_, j) => !lost[numbered.length + j]).length;
        if (erased <= m) {
          if (order % 2 === 0) {
            // Sources first: exactly the lost ones are rebuilt.
            expect(rebuilt.map(hex).sort()).toEqual(missing.map((s) => hex(s.bytes)).sort());
          } else {
            // Repairs first: sources still on their way may be rebuilt before they arrive (reordering), once.
            const all = numbered.map((s) => hex(s.bytes));
            for (const s of missing) expect(rebuilt.map(hex)).toContain(hex(s.bytes));
            for (const r of rebuilt) expect(all).toContain(hex(r));
            expect(rebuilt.length).toBeLessThanOrEqual(numbered.length);
          }
          expect(decoder.stats.packetsRecovered).toBe(rebuilt.length);
        } else {
          expect(rebuilt).toEqual([]);
          decoder.onSourcePacket(1000, 2 ** 40, new Uint8Array(1)); // ages the block out
          expect(decoder.stats.blocksUnrecoverable).toBe(repairsArrived > 0 && missing.length > 0 ? 1 : 0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a decoder fed random and mutated repair packets never throws and stays within its bounds', () => {
    const bounds = { maxStoredSources: 64, maxBlocks: 8, maxStoredBytes: 32 * 1024, maxAgeMs: 500 };
    const valid = encodeBlock(
      [
        { pn: 10, bytes: new Uint8Array(200).fill(1) },
        { pn: 11, bytes: new Uint8Array(90).fill(2) },
        { pn: 13, bytes: new Uint8Array(250).fill(3) },
      ],
      3,
    );
    const inputArb = fc.oneof(
      fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 600 }) }),
      fc.record({
        kind: fc.constant('mutated' as const),
        which: fc.nat({ max: 2 }),
        edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        cut: fc.nat({ max: 4 }),
      }),
      fc.record({
        kind: fc.constant('forged' as const),
        first: fc.nat({ max: 40 }),
        lengths: fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 6 }),
        m: fc.integer({ min: 1, max: 6 }),
      }),
      fc.record({
        kind: fc.constant('source' as const),
        pn: fc.nat({ max: 40 }),
        size: fc.integer({ min: 0, max: 3000 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(inputArb, fc.nat({ max: 50 })), { maxLength: 120 }), (inputs) => {
        const decoder = new FecDecoder({ codec, ...bounds });
        let nowMs = 0;
        for (const [input, dt] of inputs) {
          nowMs += dt;
          let out: Uint8Array[];
          if (input.kind === 'random') out = decoder.onRepairPacket(nowMs, input.bytes);
          else if (input.kind === 'source')
            out = decoder.onSourcePacket(nowMs, input.pn, new Uint8Array(input.size));
          else if (input.kind === 'mutated') {
            const bytes = valid[input.which]!.slice();
            for (const [at, value] of input.edits) bytes[at % bytes.length] = value;
            out = decoder.onRepairPacket(nowMs, bytes.subarray(0, bytes.length - input.cut));
          } else {
            const longest = Math.max(...input.lengths);
            const packet = {
              connectionId: new Uint8Array(0),
              firstSourcePacketNumber: input.first,
              repairCount: input.m,
              repairIndex: input.m - 1,
              lossReport: undefined,
              sourceLengths: input.lengths,
              parity: new Uint8Array(longest).fill(0x5a),
            };
            const buf = new Uint8Array(repairPacketLength(packet));
            encodeRepairPacket(packet, buf, 0);
            expect(decodeRepairPacket(buf).ok).toBe(true);
            out = decoder.onRepairPacket(nowMs, buf);
          }
          for (const datagram of out) expect(datagram.length).toBeGreaterThan(0);
          const held = decoder.held;
          expect(held.sources).toBeLessThanOrEqual(bounds.maxStoredSources);
          expect(held.blocks).toBeLessThanOrEqual(bounds.maxBlocks);
          expect(held.bytes).toBeLessThanOrEqual(bounds.maxStoredBytes);
          expect(held.bytes).toBeGreaterThanOrEqual(0);
        }
        const s = decoder.stats;
        for (const value of Object.values(s)) expect(Number.isInteger(value) && value >= 0).toBe(true);
        expect(s.codecErrors).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });
});
