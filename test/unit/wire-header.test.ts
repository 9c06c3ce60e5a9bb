import { describe, expect, it } from 'vitest';
import {
  decodeHeader,
  encodeHeader,
  headerLength,
  type PacketHeader,
  PacketType,
  varintLength,
} from '../../src/protocol/wire/index.ts';

const edges = [0, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, 2 ** 53 - 1];
const cases: PacketHeader[] = [0, 4, 8, 16].flatMap((cidLength) =>
  edges.flatMap((packetNumber) =>
    [PacketType.data, PacketType.handshake, PacketType.fecRepair, PacketType.reserved].map((type) => ({
      type,
      connectionId: Uint8Array.from({ length: cidLength }, (_, i) => 0xf0 + i),
      keyPhase: packetNumber % 2 === 1,
      packetNumber,
    })),
  ),
);

describe('packet header codec (spec §3.1)', () => {
  it.each(cases.map((h) => [h.type, h.connectionId.length, h.packetNumber, h] as const))(
    'type %d, %d-byte connection id, packet number %d round-trips',
    (_type, _cid, _pn, header) => {
      const length = headerLength(header);
      expect(length).toBe(1 + header.connectionId.length + varintLength(header.packetNumber));
      const buf = new Uint8Array(length + 3).fill(0xee);
      expect(encodeHeader(header, buf, 0)).toBe(length);
      expect(decodeHeader(buf)).toEqual({ ok: true, value: { header, bodyOffset: length } });
      expect(() => encodeHeader(header, new Uint8Array(length - 1), 0)).toThrow(RangeError);
      for (let cut = 0; cut < length; cut++) {
        const result = decodeHeader(buf.subarray(0, cut));
        expect(result.ok ? 'ok' : result.error.reason).toBe('truncated');
      }
    },
  );

  it('the decoded connection id is a view of the packet', () => {
    const buf = Uint8Array.of(0x10, 1, 2, 3, 4, 0);
    const result = decodeHeader(buf);
    expect(result.ok && result.value.header.connectionId.buffer).toBe(buf.buffer);
  });

  it.each([
    ['a 5-byte connection id', { connectionId: new Uint8Array(5) }],
    ['packet type 4', { type: 4 as PacketType }],
    ['a negative packet number', { packetNumber: -1 }],
    ['a packet number of 2^53', { packetNumber: 2 ** 53 }],
  ])('refuses to encode %s', (_name, fields) => {
    const header: PacketHeader = {
      type: PacketType.data,
      connectionId: new Uint8Array(0),
      keyPhase: false,
      packetNumber: 0,
      ...fields,
    };
    expect(() => headerLength(header)).toThrow(RangeError);
    expect(() => encodeHeader(header, new Uint8Array(32), 0)).toThrow(RangeError);
  });
});
