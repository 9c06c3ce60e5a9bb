import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrames,
  decodeHeader,
  decodePacket,
  encodedFrameLength,
  encodedPacketLength,
  encodeFrame,
  encodeHeader,
  encodePacket,
  type Frame,
  isAckEliciting,
  maxAckRanges,
  type Packet,
  type PacketHeader,
  reservedFrameTypes,
  seqAdd32,
  seqDiff32,
  seqLessThan32,
  WireReader,
  writeVarint,
} from '../../src/protocol/wire/index.ts';

// One test per requirement of spec.md §2–§4, named after its id (design.md rule 10).

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

function encodeFrameHex(frame: Frame): string {
  const buf = new Uint8Array(encodedFrameLength(frame));
  expect(encodeFrame(frame, buf, 0)).toBe(buf.length);
  return hex(buf);
}

function packetBytes(packet: Packet): Uint8Array {
  const buf = new Uint8Array(encodedPacketLength(packet));
  encodePacket(packet, buf, 0);
  return buf;
}

function decodeVarintHex(text: string): number | string {
  const reader = new WireReader(fromHex(text));
  const value = reader.varint();
  return value < 0 ? reader.error!.reason : value;
}

function failure(bytes: Uint8Array): { reason: string; offset: number } | undefined {
  const result = decodePacket(bytes);
  return result.ok ? undefined : { reason: result.error.reason, offset: result.error.offset };
}

/** DATA header with no connection id and packet number 5, then `frames` (hex). */
const dataPacket = (frames: string): Uint8Array => fromHex(`0005${frames}`);

const header = (overrides: Partial<PacketHeader> = {}): PacketHeader => ({
  type: 0,
  connectionId: new Uint8Array(0),
  keyPhase: false,
  packetNumber: 5,
  ...overrides,
});

describe('spec §2 conventions', () => {
  it('R-WIRE-1: integers are QUIC varints with a 2-bit length prefix, big-endian (RFC 9000 §A.1 examples)', () => {
    expect(decodeVarintHex('9d7f3e7d')).toBe(494_878_333);
    expect(decodeVarintHex('7bbd')).toBe(15_293);
    expect(decodeVarintHex('25')).toBe(37);
    expect(decodeVarintHex('c000000040000000')).toBe(2 ** 30);
    const buf = new Uint8Array(8);
    expect(hex(buf.subarray(0, writeVarint(buf, 0, 494_878_333)))).toBe('9d7f3e7d');
    expect(hex(buf.subarray(0, writeVarint(buf, 0, 15_293)))).toBe('7bbd');
  });

  it('R-WIRE-2: non-minimal varints are rejected', () => {
    expect(decodeVarintHex('4025')).toBe('non-minimal-varint'); // RFC 9000 §A.1's two-byte 37
    expect(decodeVarintHex('403f')).toBe('non-minimal-varint');
    expect(decodeVarintHex('4040')).toBe(64);
    expect(decodeVarintHex('80003fff')).toBe('non-minimal-varint');
    expect(decodeVarintHex('80004000')).toBe(16_384);
    expect(decodeVarintHex('c00000003fffffff')).toBe('non-minimal-varint');
    expect(decodeVarintHex('c000000040000000')).toBe(2 ** 30);
    expect(failure(fromHex('00400501'))).toEqual({ reason: 'non-minimal-varint', offset: 1 });
  });

  it('R-WIRE-3: values above 2^53-1 are never encoded and are rejected when decoded', () => {
    expect(decodeVarintHex('c01fffffffffffff')).toBe(2 ** 53 - 1);
    expect(decodeVarintHex('c020000000000000')).toBe('value-too-large');
    expect(decodeVarintHex('ffffffffffffffff')).toBe('value-too-large');
    expect(() => writeVarint(new Uint8Array(8), 0, 2 ** 53)).toThrow(RangeError);
  });

  it('R-WIRE-4: 32-bit serial numbers compare through the signed difference (RFC 1982)', () => {
    expect(seqLessThan32(0xffff_ffff, 0)).toBe(true);
    expect(seqLessThan32(0, 0xffff_ffff)).toBe(false);
    expect(seqDiff32(2, 0xffff_fffe)).toBe(4);
    expect(seqAdd32(0xffff_ffff, 2)).toBe(1);
    // Exactly half the space apart counts as "before".
    expect(seqLessThan32(0, 2 ** 31)).toBe(true);
    expect(seqLessThan32(2 ** 31, 0)).toBe(true);
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (a, n) => {
        const b = seqAdd32(a, n);
        return seqLessThan32(a, b) && !seqLessThan32(b, a) && seqDiff32(b, a) === n;
      }),
      { numRuns: 10_000 },
    );
  });

  it('R-WIRE-5: a field that runs past the end of the packet is truncated', () => {
    const whole = fromHex('0005 02 4064 800061a8 02 05 01 02 4058 00'); // spec A.3
    expect(decodePacket(whole).ok).toBe(true);
    for (let cut = 3; cut < whole.length; cut++) {
      expect(failure(whole.subarray(0, cut))?.reason, `cut at ${cut}`).toBe('truncated');
    }
    expect(failure(fromHex('10 0102'))).toEqual({ reason: 'truncated', offset: 1 });
  });
});

describe('spec §3 packet format', () => {
  it('R-WIRE-6: bits 7-6 of the first byte are the packet type', () => {
    for (const type of [0, 1, 2, 3] as const) {
      const buf = new Uint8Array(8);
      encodeHeader(header({ type }), buf, 0);
      expect(buf[0]! >> 6).toBe(type);
      const decoded = decodeHeader(buf);
      expect(decoded.ok && decoded.value.header.type).toBe(type);
    }
  });

  it('R-WIRE-7: bits 5-4 give the connection id length 0, 4, 8 or 16', () => {
    for (const [code, length] of [0, 4, 8, 16].entries()) {
      const connectionId = Uint8Array.from({ length }, (_, i) => i + 1);
      const buf = new Uint8Array(32);
      const end = encodeHeader(header({ connectionId }), buf, 0);
      expect((buf[0]! >> 4) & 3).toBe(code);
      expect(hex(buf.subarray(1, 1 + length))).toBe(hex(connectionId));
      const decoded = decodeHeader(buf.subarray(0, end));
      expect(decoded.ok && hex(decoded.value.header.connectionId)).toBe(hex(connectionId));
    }
    for (const length of [1, 2, 3, 5, 12, 17, 20]) {
      expect(() =>
        encodeHeader(header({ connectionId: new Uint8Array(length) }), new Uint8Array(32), 0),
      ).toThrow(RangeError);
    }
  });

  it('R-WIRE-8: any reserved bit set makes the packet malformed', () => {
    for (const bit of [0x01, 0x02, 0x04]) {
      expect(failure(Uint8Array.of(bit, 0x05, 0x01))).toEqual({ reason: 'reserved-bits', offset: 0 });
    }
    const buf = new Uint8Array(8);
    encodeHeader(header({ type: 3, keyPhase: true, connectionId: new Uint8Array(4) }), buf, 0);
    expect(buf[0]! & 0x07).toBe(0);
  });

  it('R-WIRE-9: the key phase bit (bit 3) is carried unchanged', () => {
    for (const keyPhase of [false, true]) {
      const bytes = packetBytes({ header: header({ keyPhase }), frames: [{ type: 'ping' }] });
      expect((bytes[0]! & 0x08) !== 0).toBe(keyPhase);
      const decoded = decodePacket(bytes);
      expect(decoded.ok && decoded.value.header.keyPhase).toBe(keyPhase);
    }
  });

  it('R-WIRE-10: the packet number is a full varint after the connection id', () => {
    for (const [packetNumber, varint] of [
      [0, '00'],
      [16_383, '7fff'],
      [16_384, '80004000'],
      [2 ** 53 - 1, 'c01fffffffffffff'],
    ] as const) {
      const bytes = packetBytes({
        header: header({ packetNumber, connectionId: Uint8Array.of(9, 9, 9, 9) }),
        frames: [{ type: 'ping' }],
      });
      expect(hex(bytes)).toBe(`1009090909${varint}01`);
      const decoded = decodePacket(bytes);
      expect(decoded.ok && decoded.value.header.packetNumber).toBe(packetNumber);
    }
  });

  it('R-WIRE-11: non-DATA headers decode; their bodies are left to other sections', () => {
    for (const type of [1, 2, 3] as const) {
      const bytes = Uint8Array.of(type << 6, 0x05, 0xaa, 0xbb);
      const decoded = decodeHeader(bytes);
      expect(decoded).toEqual({
        ok: true,
        value: { header: header({ type }), bodyOffset: 2 },
      });
      expect(failure(bytes)).toEqual({ reason: 'unsupported-packet-type', offset: 0 });
      expect(() => packetBytes({ header: header({ type }), frames: [{ type: 'ping' }] })).toThrow(RangeError);
    }
  });

  it('R-WIRE-12: a DATA packet carries at least one frame', () => {
    expect(failure(dataPacket(''))).toEqual({ reason: 'empty-packet', offset: 2 });
    expect(decodeFrames(new Uint8Array(0)).ok).toBe(false);
    expect(() => packetBytes({ header: header(), frames: [] })).toThrow(RangeError);
    const decoded = decodePacket(dataPacket('01 01'));
    expect(decoded.ok && decoded.value.frames).toEqual([{ type: 'ping' }, { type: 'ping' }]);
  });

  it('R-WIRE-13: a malformed packet is dropped whole, with a reason and an offset, never a throw', () => {
    // Valid PING and MAX_DATA frames before an unknown frame: nothing of the packet is returned.
    const result = decodePacket(dataPacket('01 04 05 ff'));
    expect(result).toEqual({
      ok: false,
      error: expect.objectContaining({ reason: 'unknown-frame', offset: 5 }),
    });
    expect('value' in result).toBe(false);
    expect(String(!result.ok && result.error)).toBe('malformed packet: unknown-frame at byte 5');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const decoded = decodePacket(bytes);
        return decoded.ok || (decoded.error.offset >= 0 && decoded.error.offset <= bytes.length);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('spec §4 frames', () => {
  const known = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x11, 0x12, 0x13]);

  it('R-FRAME-1: every frame starts with a one-byte type; unknown types drop the packet', () => {
    for (let type = 0; type < 256; type++) {
      const bytes = dataPacket(`01 ${type.toString(16).padStart(2, '0')} 00 00 00 00`);
      const reason = failure(bytes)?.reason;
      if (known.has(type)) expect(reason, `type ${type}`).not.toBe('unknown-frame');
      else expect(failure(bytes), `type ${type}`).toEqual({ reason: 'unknown-frame', offset: 3 });
    }
  });

  it('R-FRAME-2: the reserved type ranges are unknown until defined, and never sent', () => {
    const ranges = Object.values(reservedFrameTypes);
    expect(ranges).toEqual([
      [0x07, 0x0f],
      [0x20, 0x2f],
      [0x30, 0x3f],
    ]);
    for (const [low, high] of ranges) {
      for (let type = low; type <= high; type++) {
        expect(known.has(type)).toBe(false);
        expect(failure(dataPacket(type.toString(16).padStart(2, '0')))?.reason).toBe('unknown-frame');
      }
    }
  });

  it('R-FRAME-3: every frame except PADDING, ACK and CLOSE is ack-eliciting', () => {
    const frames: Frame[] = [
      { type: 'padding', length: 1 },
      { type: 'ping' },
      { type: 'ack', ackDelayUs: 0, ranges: [{ smallest: 0, largest: 0 }] },
      { type: 'close', code: 0, reason: '' },
      { type: 'max_data', maximumBytes: 1 },
      { type: 'max_channel_data', channelId: 1, maximumBytes: 1 },
      {
        type: 'message',
        channelId: 0,
        messageId: 0,
        offset: 0,
        totalLength: 0,
        payload: new Uint8Array(0),
        lengthPresent: true,
      },
    ];
    expect(frames.map((frame) => [frame.type, isAckEliciting(frame)])).toEqual([
      ['padding', false],
      ['ping', true],
      ['ack', false],
      ['close', false],
      ['max_data', true],
      ['max_channel_data', true],
      ['message', true],
    ]);
  });

  it('R-FRAME-4: PADDING is zero bytes; a run of them decodes as one frame', () => {
    expect(encodeFrameHex({ type: 'padding', length: 3 })).toBe('000000');
    const decoded = decodePacket(dataPacket('00 00 01 0000 00'));
    expect(decoded.ok && decoded.value.frames).toEqual([
      { type: 'padding', length: 2 },
      { type: 'ping' },
      { type: 'padding', length: 3 },
    ]);
    expect(() => encodedFrameLength({ type: 'padding', length: 0 })).toThrow(RangeError);
  });

  it('R-FRAME-5: PING is a lone type byte 0x01', () => {
    expect(encodeFrameHex({ type: 'ping' })).toBe('01');
    const decoded = decodePacket(dataPacket('01'));
    expect(decoded.ok && decoded.value.frames).toEqual([{ type: 'ping' }]);
  });

  it('R-FRAME-6: ACK ranges are encoded as in RFC 9000 §19.3.1 and decoded in descending order', () => {
    const frame: Frame = {
      type: 'ack',
      ackDelayUs: 7,
      ranges: [
        { smallest: 95, largest: 100 },
        { smallest: 90, largest: 92 },
        { smallest: 0, largest: 0 },
      ],
    };
    // largest 100, delay 7, 2 more ranges, first 5; gap 95-92-2 = 1, length 2; gap 90-0-2 = 88, length 0.
    expect(encodeFrameHex(frame)).toBe('02 4064 07 02 05 01 02 4058 00'.replace(/ /g, ''));
    const decoded = decodePacket(dataPacket(encodeFrameHex(frame)));
    expect(decoded.ok && decoded.value.frames).toEqual([frame]);
    // Ranges that touch, overlap or ascend cannot be encoded.
    for (const ranges of [
      [
        { smallest: 5, largest: 6 },
        { smallest: 3, largest: 4 },
      ],
      [
        { smallest: 1, largest: 2 },
        { smallest: 5, largest: 6 },
      ],
      [{ smallest: 3, largest: 2 }],
      [],
    ]) {
      expect(() => encodedFrameLength({ type: 'ack', ackDelayUs: 0, ranges })).toThrow(RangeError);
    }
  });

  it('R-FRAME-7: an ACK that goes below packet 0 is invalid', () => {
    expect(failure(dataPacket('02 05 00 00 06'))).toEqual({ reason: 'invalid-ack', offset: 6 });
    expect(failure(dataPacket('02 05 00 00 05'))).toBeUndefined(); // [0, 5] is fine
    // Second range: smallest of first range 3; gap 0 -> largest 1, length 2 -> -1.
    expect(failure(dataPacket('02 05 00 01 02 00 02'))).toEqual({ reason: 'invalid-ack', offset: 7 });
    expect(failure(dataPacket('02 05 00 01 02 00 01'))).toBeUndefined();
    // Gap that jumps below 0.
    expect(failure(dataPacket('02 05 00 01 02 02 00'))).toEqual({ reason: 'invalid-ack', offset: 7 });
  });

  it('R-FRAME-8: an ACK carries at most 256 ranges', () => {
    expect(maxAckRanges).toBe(256);
    const ranges = (count: number) =>
      Array.from({ length: count }, (_, i) => ({
        smallest: 2 * (count - 1 - i),
        largest: 2 * (count - 1 - i),
      }));
    const max: Frame = { type: 'ack', ackDelayUs: 0, ranges: ranges(256) };
    const decoded = decodePacket(dataPacket(encodeFrameHex(max)));
    expect(decoded.ok && decoded.value.frames).toEqual([max]);
    expect(() => encodedFrameLength({ type: 'ack', ackDelayUs: 0, ranges: ranges(257) })).toThrow(RangeError);
    // Range count 256 (0x4100) is rejected before any range is read.
    expect(failure(dataPacket('02 4400 00 4100 00'))).toEqual({ reason: 'invalid-ack', offset: 6 });
  });

  it('R-FRAME-9: ACK Delay is in microseconds, unscaled', () => {
    const frame: Frame = { type: 'ack', ackDelayUs: 25_000, ranges: [{ smallest: 1, largest: 1 }] };
    expect(encodeFrameHex(frame)).toBe('02 01 800061a8 00 00'.replace(/ /g, ''));
  });

  it('R-FRAME-10: CLOSE carries a code and a UTF-8 reason; invalid UTF-8 is malformed', () => {
    expect(encodeFrameHex({ type: 'close', code: 300, reason: 'é' })).toBe('03412c02c3a9');
    for (const reason of ['', 'bye', '\uFEFFbom kept', 'emoji 😀', 'ünïcödé ✓']) {
      const decoded = decodePacket(dataPacket(encodeFrameHex({ type: 'close', code: 1, reason })));
      expect(decoded.ok && decoded.value.frames).toEqual([{ type: 'close', code: 1, reason }]);
    }
    expect(failure(dataPacket('03 00 02 c328'))).toEqual({ reason: 'invalid-utf8', offset: 5 });
    expect(failure(dataPacket('03 00 03 eda080'))?.reason).toBe('invalid-utf8'); // encoded surrogate
    expect(() => encodedFrameLength({ type: 'close', code: 0, reason: '\uD800' })).toThrow(RangeError);
    expect(() => encodedFrameLength({ type: 'close', code: 0, reason: 'a\uDC00b' })).toThrow(RangeError);
  });

  it('R-FRAME-11: MAX_DATA is type 0x04 then the credit', () => {
    expect(encodeFrameHex({ type: 'max_data', maximumBytes: 1_048_576 })).toBe('0480100000');
    const decoded = decodePacket(dataPacket('04 3f'));
    expect(decoded.ok && decoded.value.frames).toEqual([{ type: 'max_data', maximumBytes: 63 }]);
  });

  it('R-FRAME-12: MAX_CHANNEL_DATA is type 0x05, channel id, credit', () => {
    expect(encodeFrameHex({ type: 'max_channel_data', channelId: 64, maximumBytes: 1 })).toBe('05404001');
    const decoded = decodePacket(dataPacket('05 02 4100'));
    expect(decoded.ok && decoded.value.frames).toEqual([
      { type: 'max_channel_data', channelId: 2, maximumBytes: 256 },
    ]);
  });

  it('R-FRAME-17: EXPIRED is type 0x06, channel id, forward message id', () => {
    expect(encodeFrameHex({ type: 'expired', channelId: 66, forwardMessageId: 300 })).toBe('06404241' + '2c');
    const decoded = decodePacket(dataPacket('06 0a 4100'));
    expect(decoded.ok && decoded.value.frames).toEqual([
      { type: 'expired', channelId: 10, forwardMessageId: 256 },
    ]);
    expect(decodePacket(dataPacket('06 0a'))).toMatchObject({ ok: false });
  });

  it('R-FRAME-13: MESSAGE without OFFSET is a whole message from offset 0', () => {
    const payload = fromHex('0102030405060708');
    const whole: Frame = {
      type: 'message',
      channelId: 1,
      messageId: 100,
      offset: 0,
      totalLength: 8,
      payload,
      lengthPresent: false,
    };
    expect(encodeFrameHex(whole)).toBe(`10014064${hex(payload)}`);
    const fragment: Frame = { ...whole, offset: 8, totalLength: 16 };
    expect(encodeFrameHex(fragment)).toBe(`110140640810${hex(payload)}`);
    for (const frame of [whole, fragment]) {
      const decoded = decodePacket(dataPacket(encodeFrameHex(frame)));
      expect(decoded.ok && decoded.value.frames).toEqual([frame]);
    }
  });

  it('R-FRAME-14: without LENGTH the payload runs to the end of the packet, so only the last frame omits it', () => {
    const decoded = decodePacket(dataPacket('10 00 00 010203'));
    expect(decoded.ok && decoded.value.frames).toEqual([
      {
        type: 'message',
        channelId: 0,
        messageId: 0,
        offset: 0,
        totalLength: 3,
        payload: fromHex('010203'),
        lengthPresent: false,
      },
    ]);
    // With LENGTH, the next frame follows the payload.
    const followed = decodePacket(dataPacket('12 00 00 02 0102 01'));
    expect(followed.ok && followed.value.frames.map((frame) => frame.type)).toEqual(['message', 'ping']);
    const open: Frame = {
      type: 'message',
      channelId: 0,
      messageId: 0,
      offset: 0,
      totalLength: 1,
      payload: Uint8Array.of(7),
      lengthPresent: false,
    };
    expect(() => packetBytes({ header: header(), frames: [open, { type: 'ping' }] })).toThrow(RangeError);
    expect(hex(packetBytes({ header: header(), frames: [{ type: 'ping' }, open] }))).toBe(
      '0005011000' + '0007',
    );
  });

  it('R-FRAME-15: a fragment must lie inside its message', () => {
    expect(failure(dataPacket('11 00 00 05 06 aabb'))).toEqual({ reason: 'invalid-message', offset: 2 });
    expect(failure(dataPacket('11 00 00 04 06 aabb'))).toBeUndefined(); // [4, 6) of 6
    expect(failure(dataPacket('13 00 00 00 01 02 aabb'))).toEqual({ reason: 'invalid-message', offset: 2 });
    expect(() =>
      encodedFrameLength({
        type: 'message',
        channelId: 0,
        messageId: 0,
        offset: 5,
        totalLength: 6,
        payload: new Uint8Array(2),
        lengthPresent: true,
      }),
    ).toThrow(RangeError);
  });

  it('R-FRAME-16: OFFSET is set exactly when needed; a redundant OFFSET is malformed', () => {
    expect(failure(dataPacket('11 00 00 00 02 aabb'))).toEqual({ reason: 'invalid-message', offset: 2 });
    expect(failure(dataPacket('13 00 00 00 00 00'))).toEqual({ reason: 'invalid-message', offset: 2 });
    // Offset 0 of a longer message needs OFFSET (it is the first fragment).
    expect(failure(dataPacket('11 00 00 00 03 aabb'))).toBeUndefined();
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), fc.nat(100), (offset, length, extra) => {
        const bytes = encodeFrameHex({
          type: 'message',
          channelId: 0,
          messageId: 0,
          offset,
          totalLength: offset + length + extra,
          payload: new Uint8Array(length),
          lengthPresent: true,
        });
        const offsetFlag = (Number.parseInt(bytes.slice(0, 2), 16) & 1) === 1;
        return offsetFlag === (offset !== 0 || extra !== 0);
      }),
      { numRuns: 10_000 },
    );
  });
});
