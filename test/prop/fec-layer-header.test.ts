import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRepairPacket,
  encodeRepairPacket,
  type RepairPacket,
  repairPacketLength,
} from '../../src/fec/fec-header.ts';
import { varintMax } from '../../src/protocol/wire/index.ts';

// The REPAIR packet codec (spec §11.3, R-FEC-3): random bytes never throw, whatever decodes re-encodes to the same
// bytes, valid packets round-trip, and a table of edge values (design.md rule 5).

/** A valid REPAIR packet: span 1..40 with zero gaps inside, m and index in range, any loss report. */
const repairArb: fc.Arbitrary<RepairPacket> = fc
  .record({
    connectionId: fc.constantFrom(0, 4, 8, 16).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    lengths: fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 12, arbitrary: fc.integer({ min: 1, max: 70 }) },
        { weight: 1, arbitrary: fc.constantFrom(63, 64, 16_383, 16_384) },
      ),
      {
        minLength: 1,
        maxLength: 40,
      },
    ),
    first: fc.oneof(fc.nat({ max: 100 }), fc.constant(varintMax - 300), fc.nat()),
    m: fc.integer({ min: 1, max: 40 }),
    indexSeed: fc.nat(),
    report: fc.option(
      fc.record({
        lossPermyriad: fc.integer({ min: 0, max: 10_000 }),
        meanBurstTenths: fc.integer({ min: 10, max: 16_383 }),
      }),
      { nil: undefined },
    ),
    paritySeed: fc.nat({ max: 255 }),
  })
  .map(({ connectionId, lengths, first, m, indexSeed, report, paritySeed }) => {
    const sourceLengths = lengths.slice();
    if (sourceLengths[0] === 0) sourceLengths[0] = 1;
    if (sourceLengths[sourceLengths.length - 1] === 0) sourceLengths[sourceLengths.length - 1] = 1;
    const longest = Math.max(...sourceLengths);
    const parity = new Uint8Array(longest).map((_, i) => (i * 31 + paritySeed) & 0xff);
    return {
      connectionId,
      firstSourcePacketNumber: first,
      repairCount: m,
      repairIndex: indexSeed % m,
      lossReport: report,
      sourceLengths,
      parity,
    };
  });

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function encode(packet: RepairPacket): Uint8Array {
  const buf = new Uint8Array(repairPacketLength(packet));
  expect(encodeRepairPacket(packet, buf, 0)).toBe(buf.length);
  return buf;
}

describe('REPAIR packet codec (R-FEC-3)', () => {
  it('valid packets round-trip exactly', () => {
    fc.assert(
      fc.property(repairArb, (packet) => {
        const bytes = encode(packet);
        const decoded = decodeRepairPacket(bytes);
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        const { connectionId, parity, ...rest } = decoded.value;
        const { connectionId: id, parity: shard, ...expected } = packet;
        expect(rest).toEqual(expected);
        expect(hex(connectionId)).toBe(hex(id));
        expect(hex(parity)).toBe(hex(shard));
      }),
      { numRuns: 10_000 },
    );
  });

  it('random bytes never throw, and whatever decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat({ max: 3 }), (raw, flags) => {
        // Half the inputs get a REPAIR flags byte so the body decoder is exercised, not only the header.
        const bytes = raw.slice();
        if (bytes.length > 0 && flags < 2) bytes[0] = 0x80 | (bytes[0]! & 0x30);
        const decoded = decodeRepairPacket(bytes);
        if (decoded.ok) expect(hex(encode(decoded.value))).toBe(hex(bytes));
        else expect(decoded.error.offset).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 20_000 },
    );
  });

  it('a mutated valid packet never throws and never decodes to different bytes', () => {
    fc.assert(
      fc.property(repairArb, fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 8 }), (packet, at, value, cut) => {
        const bytes = encode(packet).slice();
        bytes[at % bytes.length] = value;
        const mutated = bytes.subarray(0, Math.max(0, bytes.length - cut));
        const decoded = decodeRepairPacket(mutated);
        if (decoded.ok) expect(hex(encode(decoded.value))).toBe(hex(mutated));
      }),
      { numRuns: 10_000 },
    );
  });

  it('edge values round-trip: span 1 and 256, m up to 256 − k, packet numbers 0 and 2^53 − 256', () => {
    const table: RepairPacket[] = [
      {
        connectionId: new Uint8Array(0),
        firstSourcePacketNumber: 0,
        repairCount: 1,
        repairIndex: 0,
        lossReport: undefined,
        sourceLengths: [1],
        parity: new Uint8Array([0]),
      },
      {
        connectionId: new Uint8Array(16).fill(0xff),
        firstSourcePacketNumber: varintMax - 255,
        repairCount: 255,
        repairIndex: 254,
        lossReport: { lossPermyriad: 10_000, meanBurstTenths: 16_383 },
        sourceLengths: [65_536],
        parity: new Uint8Array(65_536).fill(1),
      },
      {
        connectionId: new Uint8Array(8),
        firstSourcePacketNumber: 16_383,
        repairCount: 127,
        repairIndex: 126,
        lossReport: { lossPermyriad: 0, meanBurstTenths: 10 },
        // Span 256: 129 sources (even positions and the last) and 127 skipped numbers; k + m = 256.
        sourceLengths: [...new Array<number>(255).keys()]
          .map((i): number => (i % 2 === 0 ? 63 : 0))
          .concat([64]),
        parity: new Uint8Array(64),
      },
    ];
    for (const packet of table) {
      const decoded = decodeRepairPacket(encode(packet));
      expect(decoded.ok && decoded.value.sourceLengths).toEqual(packet.sourceLengths);
      expect(decoded.ok && decoded.value.firstSourcePacketNumber).toBe(packet.firstSourcePacketNumber);
    }
    // Local misuse throws a RangeError, never writes garbage.
    const bad = { ...table[0]!, repairIndex: 1 };
    expect(() => repairPacketLength(bad)).toThrow(RangeError);
    expect(() => encodeRepairPacket({ ...table[0]!, sourceLengths: [0, 1] }, new Uint8Array(64), 0)).toThrow(
      RangeError,
    );
    expect(() =>
      encodeRepairPacket({ ...table[0]!, firstSourcePacketNumber: varintMax }, new Uint8Array(64), 0),
    ).not.toThrow();
    expect(() =>
      encodeRepairPacket(
        { ...table[0]!, firstSourcePacketNumber: varintMax, sourceLengths: [1, 1] },
        new Uint8Array(64),
        0,
      ),
    ).toThrow(RangeError);
  });
});
