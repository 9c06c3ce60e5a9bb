import { describe, expect, it } from 'vitest';
import {
  type AckRange,
  decodeFrames,
  encodedFrameLength,
  encodeFrame,
  type Frame,
  maxAckRanges,
} from '../../src/protocol/wire/index.ts';

const edges = [0, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, 2 ** 53 - 1];

/** `count` single-packet ranges, descending, each one apart from the next, topped at `top`. */
function sparseRanges(count: number, top: number): AckRange[] {
  return Array.from({ length: count }, (_, i) => ({ smallest: top - 2 * i, largest: top - 2 * i }));
}

const message = (fields: Partial<Extract<Frame, { type: 'message' }>>): Frame => ({
  type: 'message',
  channelId: 0,
  messageId: 0,
  offset: 0,
  totalLength: 0,
  payload: new Uint8Array(0),
  lengthPresent: true,
  ...fields,
});

/** The edge-value table: every frame codec with 0, varint boundaries and the largest values. */
const table: [string, Frame][] = [
  ['padding 1', { type: 'padding', length: 1 }],
  ['padding 1200', { type: 'padding', length: 1200 }],
  ['ping', { type: 'ping' }],
  ...edges.map((v): [string, Frame] => [`max_data ${v}`, { type: 'max_data', maximumBytes: v }]),
  ...edges.map((v): [string, Frame] => [
    `max_channel_data ${v}`,
    { type: 'max_channel_data', channelId: v, maximumBytes: edges[edges.length - 1 - edges.indexOf(v)]! },
  ]),
  ...edges.map((v): [string, Frame] => [
    `expired ${v}`,
    { type: 'expired', channelId: v, forwardMessageId: edges[edges.length - 1 - edges.indexOf(v)]! },
  ]),
  ...edges.map((v): [string, Frame] => [`close code ${v}`, { type: 'close', code: v, reason: 'r' }]),
  ['close empty reason', { type: 'close', code: 0, reason: '' }],
  ['close long reason', { type: 'close', code: 1, reason: 'é'.repeat(100) }],
  ...edges.map((v): [string, Frame] => [
    `ack single packet ${v}`,
    { type: 'ack', ackDelayUs: v, ranges: [{ smallest: v, largest: v }] },
  ]),
  ...edges.map((v): [string, Frame] => [
    `ack [0, ${v}]`,
    { type: 'ack', ackDelayUs: 0, ranges: [{ smallest: 0, largest: v }] },
  ]),
  [
    'ack widest gap',
    {
      type: 'ack',
      ackDelayUs: 0,
      ranges: [
        { smallest: 2 ** 53 - 1, largest: 2 ** 53 - 1 },
        { smallest: 0, largest: 0 },
      ],
    },
  ],
  ['ack max ranges', { type: 'ack', ackDelayUs: 1, ranges: sparseRanges(maxAckRanges, 2 ** 53 - 1) }],
  ['ack max ranges to 0', { type: 'ack', ackDelayUs: 1, ranges: sparseRanges(maxAckRanges, 510) }],
  ['message empty', message({})],
  ['message empty, no length', message({ lengthPresent: false })],
  ...edges.map((v): [string, Frame] => [`message ids ${v}`, message({ channelId: v, messageId: v })]),
  ...edges.map((v): [string, Frame] => [
    `message offset ${v} of ${v + 3 <= 2 ** 53 - 1 ? v + 3 : v}`,
    v + 3 <= 2 ** 53 - 1
      ? message({ offset: v, totalLength: v + 3, payload: Uint8Array.of(1, 2, 3) })
      : message({ offset: v - 3, totalLength: v, payload: Uint8Array.of(1, 2, 3), lengthPresent: false }),
  ]),
  [
    'message last byte of a huge message',
    message({ offset: 2 ** 53 - 2, totalLength: 2 ** 53 - 1, payload: Uint8Array.of(9) }),
  ],
  ['message 1200-byte payload', message({ totalLength: 1200, payload: new Uint8Array(1200).fill(0xab) })],
  ['message first fragment', message({ totalLength: 5000, payload: new Uint8Array(100) })],
];

describe('frame codecs: round-trip table of edge values (spec §4)', () => {
  it.each(table)('%s', (_name, frame) => {
    const length = encodedFrameLength(frame);
    const buf = new Uint8Array(length + 5).fill(0xee);
    expect(encodeFrame(frame, buf, 2)).toBe(2 + length);
    expect(buf[2 + length]).toBe(0xee);
    const decoded = decodeFrames(buf.subarray(0, 2 + length), 2);
    expect(decoded).toEqual({ ok: true, value: [frame] });
    // One byte short is local misuse, never a silent partial write past the end.
    expect(() => encodeFrame(frame, new Uint8Array(length - 1), 0)).toThrow(
      expect.objectContaining({ name: 'WireEncodeError', reason: 'buffer-too-small' }),
    );
  });

  it('decoded payloads are views of the packet, not copies', () => {
    const frame = message({ totalLength: 3, payload: Uint8Array.of(1, 2, 3), lengthPresent: false });
    const bytes = new Uint8Array(encodedFrameLength(frame));
    encodeFrame(frame, bytes, 0);
    const decoded = decodeFrames(bytes);
    if (!decoded.ok) throw new Error(String(decoded.error));
    const payload = (decoded.value[0] as Extract<Frame, { type: 'message' }>).payload;
    expect(payload.buffer).toBe(bytes.buffer);
    bytes[bytes.length - 1] = 42;
    expect(payload[2]).toBe(42);
  });

  it.each([
    ['a negative channel id', message({ channelId: -1 })],
    ['a fractional message id', message({ messageId: 1.5 })],
    ['a total length above 2^53-1', message({ offset: 2 ** 53, totalLength: 2 ** 53 + 2 })],
    [
      'an ACK delay above 2^53-1',
      { type: 'ack', ackDelayUs: 2 ** 53, ranges: [{ smallest: 0, largest: 0 }] },
    ],
    ['an ACK range with NaN', { type: 'ack', ackDelayUs: 0, ranges: [{ smallest: Number.NaN, largest: 1 }] }],
    ['a fractional padding', { type: 'padding', length: 1.5 }],
    ['a close code of -1', { type: 'close', code: -1, reason: '' }],
    ['a MAX_DATA of Infinity', { type: 'max_data', maximumBytes: Number.POSITIVE_INFINITY }],
  ] as [string, Frame][])('refuses to encode %s', (_name, frame) => {
    expect(() => encodedFrameLength(frame)).toThrow(RangeError);
    expect(() => encodeFrame(frame, new Uint8Array(64), 0)).toThrow(RangeError);
  });

  it('decodeFrames reports offsets from the start of the buffer', () => {
    const result = decodeFrames(Uint8Array.of(0xaa, 0xbb, 0x01, 0xff), 2);
    expect(result).toEqual({
      ok: false,
      error: expect.objectContaining({ reason: 'unknown-frame', offset: 3 }),
    });
  });
});
