import { WireEncodeError } from './errors.ts';
import { type AckFrame, type AckRange, FrameType, maxAckRanges } from './frame-types.ts';
import type { WireReader } from './reader.ts';
import { varintLength } from './varint.ts';
import { writeU8, writeVarint } from './writer.ts';

/** Throws {@link WireEncodeError} unless `ranges` are 1–256 descending, disjoint, non-adjacent ranges ≥ 0. */
function checkRanges(ranges: readonly AckRange[]): void {
  if (ranges.length === 0 || ranges.length > maxAckRanges) {
    throw new WireEncodeError(
      'invalid-frame',
      `an ACK carries 1..${maxAckRanges} ranges, got ${ranges.length}`,
    );
  }
  let floor = Number.POSITIVE_INFINITY;
  for (const range of ranges) {
    // R-FRAME-6: the gap encoding needs at least one unacknowledged packet between ranges.
    if (!(range.smallest >= 0 && range.smallest <= range.largest && range.largest <= floor - 2)) {
      throw new WireEncodeError(
        'invalid-frame',
        `ACK ranges must be descending, disjoint and non-adjacent: [${range.smallest}, ${range.largest}]`,
      );
    }
    floor = range.smallest;
  }
}

/** Encoded size of an ACK frame (spec §4.4). Throws {@link WireEncodeError} if it is invalid. */
export function ackFrameLength(frame: AckFrame): number {
  const ranges = frame.ranges;
  checkRanges(ranges);
  const first = ranges[0]!;
  let length =
    1 +
    varintLength(first.largest) +
    varintLength(frame.ackDelayUs) +
    varintLength(ranges.length - 1) +
    varintLength(first.largest - first.smallest);
  for (let i = 1; i < ranges.length; i++) {
    const range = ranges[i]!;
    length +=
      varintLength(ranges[i - 1]!.smallest - range.largest - 2) +
      varintLength(range.largest - range.smallest);
  }
  return length;
}

/** Encodes an ACK frame (R-FRAME-6, RFC 9000 §19.3.1) at `offset`; returns the offset after it. */
export function encodeAckFrame(frame: AckFrame, buf: Uint8Array, offset: number): number {
  const ranges = frame.ranges;
  checkRanges(ranges);
  const first = ranges[0]!;
  let at = writeU8(buf, offset, FrameType.ack);
  at = writeVarint(buf, at, first.largest);
  at = writeVarint(buf, at, frame.ackDelayUs);
  at = writeVarint(buf, at, ranges.length - 1);
  at = writeVarint(buf, at, first.largest - first.smallest);
  for (let i = 1; i < ranges.length; i++) {
    const range = ranges[i]!;
    at = writeVarint(buf, at, ranges[i - 1]!.smallest - range.largest - 2);
    at = writeVarint(buf, at, range.largest - range.smallest);
  }
  return at;
}

/**
 * Decodes an ACK frame body (the type byte already read), or returns `undefined` with the reader's error set:
 * `invalid-ack` when a range would go below packet 0 (R-FRAME-7) or there are too many ranges (R-FRAME-8).
 */
export function decodeAckFrame(reader: WireReader): AckFrame | undefined {
  const largest = reader.varint();
  const ackDelayUs = largest < 0 ? -1 : reader.varint();
  const countAt = reader.offset;
  const count = ackDelayUs < 0 ? -1 : reader.varint();
  if (count < 0) return undefined;
  if (count > maxAckRanges - 1) {
    reader.fail('invalid-ack', countAt);
    return undefined;
  }
  const firstAt = reader.offset;
  const firstLength = reader.varint();
  if (firstLength < 0) return undefined;
  let smallest = largest - firstLength;
  if (smallest < 0) {
    reader.fail('invalid-ack', firstAt);
    return undefined;
  }
  const ranges: AckRange[] = [{ smallest, largest }];
  for (let i = 0; i < count; i++) {
    const gapAt = reader.offset;
    const gap = reader.varint();
    const rangeLength = gap < 0 ? -1 : reader.varint();
    if (rangeLength < 0) return undefined;
    const rangeLargest = smallest - gap - 2;
    smallest = rangeLargest - rangeLength;
    if (smallest < 0) {
      reader.fail('invalid-ack', gapAt);
      return undefined;
    }
    ranges.push({ smallest, largest: rangeLargest });
  }
  return { type: 'ack', ackDelayUs, ranges };
}
