import { describe, expect, it } from 'vitest';
import { RangeSet } from '../../src/protocol/ack/range-set.ts';

function ranges(set: RangeSet): [number, number][] {
  return [...set.rangesAscending()].map((r) => [r.start, r.end]);
}

describe('RangeSet', () => {
  it('is empty at first', () => {
    const set = new RangeSet();
    expect(set.size).toBe(0);
    expect(set.count).toBe(0);
    expect(set.min()).toBeUndefined();
    expect(set.max()).toBeUndefined();
    expect(set.coveredUpTo()).toBeUndefined();
    expect(set.firstGapFrom(0)).toBe(0);
    expect(set.has(0)).toBe(false);
    expect([...set.rangesDescending()]).toEqual([]);
  });

  it('merges adjacent and overlapping inserts and reports whether anything was new', () => {
    const set = new RangeSet();
    expect(set.add(5)).toBe(true);
    expect(set.add(7)).toBe(true);
    expect(ranges(set)).toEqual([
      [5, 5],
      [7, 7],
    ]);
    expect(set.add(6)).toBe(true);
    expect(ranges(set)).toEqual([[5, 7]]);
    expect(set.add(6)).toBe(false);
    expect(set.addRange(5, 7)).toBe(false);
    expect(set.addRange(0, 3)).toBe(true);
    expect(set.addRange(10, 12)).toBe(true);
    expect(set.addRange(2, 11)).toBe(true);
    expect(ranges(set)).toEqual([[0, 12]]);
    expect(set.count).toBe(13);
  });

  it('appends in-order values into one range (the packet-number hot path)', () => {
    const set = new RangeSet();
    for (let pn = 0; pn < 100_000; pn++) set.add(pn);
    expect(ranges(set)).toEqual([[0, 99_999]]);
    expect(set.count).toBe(100_000);
  });

  it('lists ranges highest first for ACK encoding', () => {
    const set = new RangeSet();
    for (const v of [1, 2, 3, 9, 20, 21]) set.add(v);
    expect([...set.rangesDescending()]).toEqual([
      { start: 20, end: 21 },
      { start: 9, end: 9 },
      { start: 1, end: 3 },
    ]);
  });

  it('removeBelow trims a straddling range and counts what it dropped', () => {
    const set = new RangeSet();
    set.addRange(0, 9);
    set.addRange(20, 29);
    expect(set.removeBelow(5)).toBe(5);
    expect(ranges(set)).toEqual([
      [5, 9],
      [20, 29],
    ]);
    expect(set.removeBelow(25)).toBe(10);
    expect(ranges(set)).toEqual([[25, 29]]);
    expect(set.removeBelow(100)).toBe(5);
    expect(set.size).toBe(0);
    expect(set.count).toBe(0);
  });

  it('stays correct across compaction of many dropped ranges and reuses the freed bottom slot', () => {
    const set = new RangeSet();
    for (let v = 0; v < 400; v += 2) set.add(v);
    expect(set.size).toBe(200);
    for (let cut = 0; cut <= 300; cut += 10) set.removeBelow(cut);
    expect(set.min()).toBe(300);
    expect(set.size).toBe(50);
    expect(set.count).toBe(50);
    // Below the lowest range: must land before it, not after.
    expect(set.add(1)).toBe(true);
    expect(set.min()).toBe(1);
    expect(set.size).toBe(51);
    expect(set.has(1)).toBe(true);
    expect(set.has(300)).toBe(true);
    expect(set.has(301)).toBe(false);
  });

  it('limitRanges drops the lowest ranges and returns the integers dropped', () => {
    const set = new RangeSet();
    set.addRange(0, 4);
    set.addRange(10, 11);
    set.addRange(20, 20);
    expect(set.limitRanges(5)).toBe(0);
    expect(set.limitRanges(1)).toBe(7);
    expect(ranges(set)).toEqual([[20, 20]]);
    expect(set.limitRanges(0)).toBe(1);
    expect(set.size).toBe(0);
  });

  it('coveredUpTo and firstGapFrom answer "received contiguously up to"', () => {
    const set = new RangeSet();
    set.addRange(0, 99);
    set.addRange(200, 299);
    expect(set.coveredUpTo()).toBe(99);
    expect(set.firstGapFrom(0)).toBe(100);
    expect(set.firstGapFrom(150)).toBe(150);
    expect(set.firstGapFrom(250)).toBe(300);
  });

  it('handles values up to Number.MAX_SAFE_INTEGER', () => {
    const set = new RangeSet();
    const top = Number.MAX_SAFE_INTEGER;
    expect(set.addRange(top - 2, top)).toBe(true);
    expect(set.add(top - 3)).toBe(true);
    expect(set.count).toBe(4);
    expect(set.has(top)).toBe(true);
  });

  it('rejects values that are not non-negative safe integers with a RangeError', () => {
    const set = new RangeSet();
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => set.add(bad)).toThrow(RangeError);
      expect(() => set.addRange(bad, 3)).toThrow(RangeError);
    }
    expect(() => set.addRange(5, 4)).toThrow(RangeError);
    expect(set.has(1.5)).toBe(false);
    expect(set.size).toBe(0);
  });

  it('clear empties the set and it can be reused', () => {
    const set = new RangeSet();
    set.addRange(3, 8);
    set.clear();
    expect(set.count).toBe(0);
    expect(set.add(4)).toBe(true);
    expect(ranges(set)).toEqual([[4, 4]]);
  });
});
