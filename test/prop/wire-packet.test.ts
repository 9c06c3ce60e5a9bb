import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AckRange,
  decodeHeader,
  decodePacket,
  encodedPacketLength,
  encodeHeader,
  encodePacket,
  type Frame,
  type Packet,
  type PacketHeader,
} from '../../src/protocol/wire/index.ts';

// Properties of the packet codec (spec §3–§4, design.md rule 5), 10k runs each:
// random bytes never throw; decode(encode(x)) = x; encode(decode(b)) = b whenever b decodes.

const runs = { numRuns: 10_000 };
const max = 2 ** 53 - 1;

const varintValue = fc.oneof(
  { weight: 4, arbitrary: fc.nat(63) },
  { weight: 2, arbitrary: fc.integer({ min: 64, max: 16_383 }) },
  { weight: 1, arbitrary: fc.integer({ min: 16_384, max: 2 ** 30 - 1 }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 30n, max: BigInt(max) }).map(Number) },
  { weight: 1, arbitrary: fc.constantFrom(0, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, max) },
);

const headerArb: fc.Arbitrary<PacketHeader> = fc.record({
  type: fc.constant(0 as const),
  connectionId: fc
    .constantFrom(0, 4, 8, 16)
    .chain((length) => fc.uint8Array({ minLength: length, maxLength: length })),
  keyPhase: fc.boolean(),
  packetNumber: varintValue,
});

/** Descending, disjoint, non-adjacent ranges, built upwards from `base` and reversed. */
const rangesArb: fc.Arbitrary<AckRange[]> = fc
  .tuple(
    fc.oneof(fc.nat(100), fc.nat(max - 100_000)),
    fc.array(fc.tuple(fc.nat(20), fc.nat(20)), { minLength: 1, maxLength: 24 }),
  )
  .map(([base, steps]) => {
    const ranges: AckRange[] = [];
    let next = base;
    for (const [gap, length] of steps) {
      ranges.push({ smallest: next, largest: next + length });
      next += length + 2 + gap;
    }
    return ranges.reverse();
  });

const messageArb: fc.Arbitrary<Frame> = fc
  .record({
    channelId: varintValue,
    messageId: varintValue,
    payload: fc.uint8Array({ maxLength: 40 }),
    fragment: fc.option(fc.tuple(fc.oneof(fc.nat(5000), varintValue), fc.nat(5000)), { freq: 2 }),
    lengthPresent: fc.boolean(),
  })
  .map(({ channelId, messageId, payload, fragment, lengthPresent }) => {
    let offset = 0;
    let totalLength = payload.length;
    if (fragment !== null) {
      offset = Math.min(fragment[0], max - payload.length);
      totalLength = Math.min(offset + payload.length + fragment[1], max);
    }
    return { type: 'message', channelId, messageId, offset, totalLength, payload, lengthPresent };
  });

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.integer({ min: 1, max: 24 }).map((length): Frame => ({ type: 'padding', length })),
  fc.constant<Frame>({ type: 'ping' }),
  fc.record({ ackDelayUs: varintValue, ranges: rangesArb }).map((f): Frame => ({ type: 'ack', ...f })),
  fc
    .record({ code: varintValue, reason: fc.string({ unit: 'binary', maxLength: 12 }) })
    .map((f): Frame => ({ type: 'close', ...f })),
  varintValue.map((maximumBytes): Frame => ({ type: 'max_data', maximumBytes })),
  fc
    .record({ channelId: varintValue, maximumBytes: varintValue })
    .map((f): Frame => ({ type: 'max_channel_data', ...f })),
  fc
    .record({ channelId: varintValue, forwardMessageId: varintValue })
    .map((f): Frame => ({ type: 'expired', ...f })),
  messageArb,
  messageArb,
);

/**
 * A valid DATA packet: adjacent PADDING frames merged (a decoder folds them, R-FRAME-4) and LENGTH set on every
 * MESSAGE except possibly the last (R-FRAME-14).
 */
const packetArb: fc.Arbitrary<Packet> = fc
  .tuple(headerArb, fc.array(frameArb, { minLength: 1, maxLength: 6 }))
  .map(([header, raw]) => {
    const frames: Frame[] = [];
    for (const [i, frame] of raw.entries()) {
      const last = frames[frames.length - 1];
      if (frame.type === 'padding' && last?.type === 'padding') {
        frames[frames.length - 1] = { type: 'padding', length: last.length + frame.length };
      } else if (frame.type === 'message' && i < raw.length - 1) {
        frames.push({ ...frame, lengthPresent: true });
      } else {
        frames.push(frame);
      }
    }
    return { header, frames };
  });

function encode(packet: Packet): Uint8Array {
  const buf = new Uint8Array(encodedPacketLength(packet));
  expect(encodePacket(packet, buf, 0)).toBe(buf.length);
  return buf;
}

/** Decodes `bytes` (must not throw); if they decode, re-encoding must give the same bytes. */
function checkCanonical(bytes: Uint8Array): boolean {
  const result = decodePacket(bytes);
  if (!result.ok) {
    expect(result.error.offset).toBeGreaterThanOrEqual(0);
    expect(result.error.offset).toBeLessThanOrEqual(bytes.length);
    return false;
  }
  expect(Buffer.from(encode(result.value)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  return true;
}

/** A byte-level edit of a valid encoding: reaches deeper than random bytes. */
type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  const out = [...bytes];
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + (m.kind === 'insert' ? 1 : 0));
    if (m.kind === 'set' && out.length > 0) out[at] = m.byte;
    else if (m.kind === 'insert') out.splice(at, 0, m.byte);
    else if (m.kind === 'delete') out.splice(at, 1);
    else if (m.kind === 'truncate') out.length = at;
  }
  return Uint8Array.from(out);
}

describe('packet codec properties', () => {
  it('decode(encode(x)) = x for arbitrary valid packets', () => {
    fc.assert(
      fc.property(packetArb, (packet) => {
        expect(decodePacket(encode(packet))).toEqual({ ok: true, value: packet });
      }),
      runs,
    );
  });

  it('random bytes never throw, and whatever decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        checkCanonical(bytes);
      }),
      runs,
    );
  });

  it('random frame bytes behind a valid DATA header never throw, and re-encode canonically', () => {
    const body = fc.array(
      fc.oneof(
        fc.nat(255),
        fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x11, 0x12, 0x13, 0x40, 0x80, 0xc0),
      ),
      { maxLength: 48 },
    );
    let decoded = 0;
    fc.assert(
      fc.property(headerArb, body, (header, frames) => {
        const buf = new Uint8Array(32);
        const end = encodeHeader(header, buf, 0);
        if (checkCanonical(Uint8Array.from([...buf.subarray(0, end), ...frames]))) decoded++;
      }),
      runs,
    );
    // The generator must reach the frame decoders, not only fail at the first byte.
    expect(decoded).toBeGreaterThan(100);
  });

  it('mutated valid encodings never throw, and whatever still decodes re-encodes to the same bytes', () => {
    let decoded = 0;
    fc.assert(
      fc.property(packetArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (packet, mutations) => {
        if (checkCanonical(mutate(encode(packet), mutations))) decoded++;
      }),
      runs,
    );
    expect(decoded).toBeGreaterThan(100);
  });

  it('any header bytes decode without throwing, and re-encode to the same prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 26 }), (bytes) => {
        const result = decodeHeader(bytes);
        if (!result.ok) return;
        const buf = new Uint8Array(result.value.bodyOffset);
        expect(encodeHeader(result.value.header, buf, 0)).toBe(buf.length);
        expect([...buf]).toEqual([...bytes.subarray(0, buf.length)]);
      }),
      runs,
    );
  });
});
