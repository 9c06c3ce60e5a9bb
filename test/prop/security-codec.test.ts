import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cookieBytes } from '../../src/protocol/security/cookie.ts';
import {
  decodeControlPayload,
  decodeHandshakeBody,
  decodeTransportParams,
  encodeControlPayload,
  encodeHandshakeBody,
  encodeTransportParams,
  HandshakeKind,
  type HandshakeMessage,
  handshakeBodyLength,
  maxListedVersions,
  pathDataBytes,
  resetTokenBytes,
  type TransportParams,
} from '../../src/protocol/security/handshake-codec.ts';

// R-HS-10: every security decoder takes random bytes without throwing, and decode∘encode is the identity.

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const mode = fc.constantFrom(0 as const, 1 as const, 2 as const);

const message: fc.Arbitrary<HandshakeMessage> = fc.oneof(
  fc
    .record({
      version: u32,
      mode,
      ephemeralKey: bytes(32),
      cookie: fc.oneof(bytes(0), bytes(cookieBytes)),
      params: fc.uint8Array({ maxLength: 80 }),
      pad: fc.nat(1300),
    })
    .map(({ pad, ...m }) => {
      const partial = { kind: HandshakeKind.initial, ...m, paddedBodyBytes: 0 } as const;
      return { ...partial, paddedBodyBytes: handshakeBodyLength(partial) + pad };
    }),
  fc.record({ kind: fc.constant(HandshakeKind.retry), version: u32, cookie: bytes(cookieBytes) }),
  fc.record({
    kind: fc.constant(HandshakeKind.serverHello),
    version: u32,
    mode,
    ephemeralKey: bytes(32),
    params: fc.uint8Array({ maxLength: 80 }),
  }),
  fc.record({
    kind: fc.constant(HandshakeKind.versionNegotiation),
    versions: fc.array(u32, { minLength: 1, maxLength: maxListedVersions }),
  }),
  fc.record({ kind: fc.constant(HandshakeKind.statelessReset), token: bytes(resetTokenBytes) }),
  fc.record({ kind: fc.constant(HandshakeKind.control), sealed: fc.uint8Array({ maxLength: 64 }) }),
);

const params: fc.Arbitrary<TransportParams> = fc.record({
  maxMessageBytes: fc.nat(2 ** 40),
  maxChannels: fc.nat(1 << 20),
  idleTimeoutMs: fc.nat(1 << 30),
  fec: fc.boolean(),
  resetToken: fc.oneof(bytes(0), bytes(resetTokenBytes)),
});

function encode(m: HandshakeMessage): Uint8Array {
  const out = new Uint8Array(handshakeBodyLength(m));
  expect(encodeHandshakeBody(m, out, 0)).toBe(out.length);
  return out;
}

describe('security codecs', () => {
  it('R-HS-10: random bytes never throw any decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), fc.nat(8), (raw, offset) => {
        decodeHandshakeBody(raw, Math.min(offset, raw.length));
        decodeTransportParams(raw);
        decodeControlPayload(raw);
      }),
      { numRuns: 2000 },
    );
  });

  it('handshake bodies: decode(encode(m)) = m, and whatever decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(message, (m) => {
        const encoded = encode(m);
        const decoded = decodeHandshakeBody(encoded, 0);
        expect(decoded).toEqual({ ok: true, value: m });
        if (decoded.ok) expect(encode(decoded.value)).toEqual(encoded);
      }),
    );
  });

  it('whatever decodes from random bytes re-encodes to the same bytes', () => {
    const kinded = fc
      .tuple(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 120 }))
      .map(([k, rest]) => Uint8Array.of(k, ...rest));
    fc.assert(
      fc.property(kinded, (raw) => {
        const decoded = decodeHandshakeBody(raw, 0);
        if (decoded.ok) expect(encode(decoded.value)).toEqual(raw);
        const p = decodeTransportParams(raw);
        if (p.ok) expect(encodeTransportParams(p.value)).toEqual(raw);
      }),
      { numRuns: 3000 },
    );
  });

  it('transport parameters and control payloads round-trip', () => {
    fc.assert(
      fc.property(params, (p) => {
        expect(decodeTransportParams(encodeTransportParams(p))).toEqual({ ok: true, value: p });
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(1 as const, 2 as const), bytes(pathDataBytes), (type, data) => {
        expect(decodeControlPayload(encodeControlPayload({ type, data }))).toEqual({
          ok: true,
          value: { type, data },
        });
      }),
    );
  });

  it('truncating any encoded message makes it fail to decode (or decode as a shorter valid one only for padding)', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const encoded = encode(m);
        const n = cut % encoded.length;
        const decoded = decodeHandshakeBody(encoded.subarray(0, n), 0);
        const shortensOk =
          m.kind === HandshakeKind.initial ||
          m.kind === HandshakeKind.serverHello ||
          m.kind === HandshakeKind.control;
        if (!shortensOk) expect(decoded.ok).toBe(false);
      }),
    );
  });
});
