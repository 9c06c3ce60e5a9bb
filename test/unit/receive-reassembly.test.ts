import { describe, expect, it } from 'vitest';
import { MessageReassembly } from '../../src/protocol/channel/reassembly.ts';

const message = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
function part(offset: number, end: number, source: Uint8Array = message) {
  return { offset, totalLength: source.length, payload: source.subarray(offset, end) };
}

describe('MessageReassembly', () => {
  it('copies a whole-message fragment (the fast path), so the packet buffer can be reused', () => {
    const packet = message.slice();
    const r = new MessageReassembly(10);
    expect(r.add(part(0, 10, packet))).toBe('new');
    packet.fill(0);
    expect(r.isComplete).toBe(true);
    expect(r.bytes()).toEqual(message);
    expect(r.add(part(0, 10))).toBe('duplicate');
  });

  it('reassembles out-of-order, overlapping fragments and reports the ones adding nothing', () => {
    const r = new MessageReassembly(10);
    expect(r.add(part(6, 10))).toBe('new');
    expect(r.add(part(7, 9))).toBe('duplicate');
    expect(r.add(part(0, 3))).toBe('new');
    expect(r.receivedBytes).toBe(7);
    expect(r.isComplete).toBe(false);
    expect(() => r.bytes()).toThrow(Error);
    // Re-fragmented retransmission overlapping both held ranges.
    expect(r.add(part(2, 8))).toBe('new');
    expect(r.isComplete).toBe(true);
    expect(r.bytes()).toEqual(message);
  });

  it('keeps the first copy of a byte: later overlapping bytes are ignored', () => {
    const r = new MessageReassembly(4);
    r.add({ offset: 0, totalLength: 4, payload: Uint8Array.of(1, 2) });
    r.add({ offset: 1, totalLength: 4, payload: Uint8Array.of(9, 9, 9) });
    expect(r.bytes()).toEqual(Uint8Array.of(1, 2, 9, 9));
  });

  it('returns typed failures for a different total length or a fragment outside the message', () => {
    const r = new MessageReassembly(10);
    expect(r.add({ offset: 0, totalLength: 11, payload: new Uint8Array(2) })).toBe('length-mismatch');
    expect(r.add({ offset: 9, totalLength: 10, payload: new Uint8Array(2) })).toBe('out-of-range');
    expect(r.add({ offset: -1, totalLength: 10, payload: new Uint8Array(1) })).toBe('out-of-range');
    expect(r.add({ offset: 0.5, totalLength: 10, payload: new Uint8Array(1) })).toBe('out-of-range');
    expect(r.receivedBytes).toBe(0);
  });

  it('completes an empty message on its one empty fragment; empty fragments of other messages add nothing', () => {
    const empty = new MessageReassembly(0);
    expect(empty.add({ offset: 0, totalLength: 0, payload: new Uint8Array(0) })).toBe('new');
    expect(empty.bytes()).toEqual(new Uint8Array(0));
    expect(empty.add({ offset: 0, totalLength: 0, payload: new Uint8Array(0) })).toBe('duplicate');
    const r = new MessageReassembly(3);
    expect(r.add({ offset: 3, totalLength: 3, payload: new Uint8Array(0) })).toBe('duplicate');
    expect(r.isComplete).toBe(false);
  });

  it('refuses a total length that is not a non-negative safe integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53])
      expect(() => new MessageReassembly(bad)).toThrow(RangeError);
  });
});
