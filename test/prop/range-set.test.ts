import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IntRange, RangeSet } from '../../src/protocol/ack/range-set.ts';

/** The naive reference: a plain set of integers, turned into maximal ranges on demand. */
function modelRanges(model: Set<number>): IntRange[] {
  const sorted = [...model].sort((a, b) => a - b);
  const ranges: { start: number; end: number }[] = [];
  for (const v of sorted) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && v === last.end + 1) last.end = v;
    else ranges.push({ start: v, end: v });
  }
  return ranges;
}

type Op =
  | { op: 'add'; value: number }
  | { op: 'addRange'; start: number; length: number }
  | { op: 'append'; step: number }
  | { op: 'removeBelow'; value: number }
  | { op: 'limitRanges'; maxRanges: number }
  | { op: 'clear' };

const value = fc.integer({ min: 0, max: 300 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('add' as const), value }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('addRange' as const),
      start: value,
      length: fc.integer({ min: 1, max: 40 }),
    }),
  },
  // Mostly-increasing arrivals: the packet-number hot path.
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('append' as const), step: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeBelow' as const), value }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('limitRanges' as const),
      maxRanges: fc.integer({ min: 0, max: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

/** Applies `op` to both; returns what each reported. */
function apply(set: RangeSet, model: Set<number>, op: Op): { actual: unknown; expected: unknown } {
  switch (op.op) {
    case 'add': {
      const expected = !model.has(op.value);
      model.add(op.value);
      return { actual: set.add(op.value), expected };
    }
    case 'append': {
      const v = (set.max() ?? -1) + op.step;
      const expected = !model.has(v);
      model.add(v);
      return { actual: set.add(v), expected };
    }
    case 'addRange': {
      const end = op.start + op.length - 1;
      let expected = false;
      for (let v = op.start; v <= end; v++) {
        if (!model.has(v)) expected = true;
        model.add(v);
      }
      return { actual: set.addRange(op.start, end), expected };
    }
    case 'removeBelow': {
      let expected = 0;
      for (const v of [...model]) {
        if (v < op.value) {
          model.delete(v);
          expected++;
        }
      }
      return { actual: set.removeBelow(op.value), expected };
    }
    case 'limitRanges': {
      const ranges = modelRanges(model);
      let expected = 0;
      for (const r of ranges.slice(0, Math.max(0, ranges.length - op.maxRanges))) {
        for (let v = r.start; v <= r.end; v++) model.delete(v);
        expected += r.end - r.start + 1;
      }
      return { actual: set.limitRanges(op.maxRanges), expected };
    }
    case 'clear':
      model.clear();
      set.clear();
      return { actual: undefined, expected: undefined };
  }
}

function expectSame(set: RangeSet, model: Set<number>, probes: number[]): void {
  const ranges = modelRanges(model);
  expect([...set.rangesAscending()]).toEqual(ranges);
  expect([...set.rangesDescending()]).toEqual([...ranges].reverse());
  const fromTop = ranges.map((_, k) => ({ start: set.startFromTop(k), end: set.endFromTop(k) }));
  expect(fromTop).toEqual([...ranges].reverse());
  expect(set.size).toBe(ranges.length);
  expect(set.count).toBe(model.size);
  expect(set.min()).toBe(ranges[0]?.start);
  expect(set.max()).toBe(ranges[ranges.length - 1]?.end);
  expect(set.coveredUpTo()).toBe(ranges[0]?.end);
  for (const p of probes) {
    expect(set.has(p)).toBe(model.has(p));
    let gap = p;
    while (model.has(gap)) gap++;
    expect(set.firstGapFrom(p)).toBe(gap);
  }
}

describe('RangeSet against a Set<number> model', () => {
  it('agrees after every operation of any sequence', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.array(value, { maxLength: 6 }), (ops, probes) => {
        const set = new RangeSet();
        const model = new Set<number>();
        for (const op of ops) {
          const { actual, expected } = apply(set, model, op);
          expect(actual).toEqual(expected);
          expectSame(set, model, probes);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('forEachGap visits exactly the missing integers of the window, as maximal runs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(value, fc.integer({ min: 1, max: 20 })), { maxLength: 30 }),
        value,
        fc.integer({ min: 0, max: 100 }),
        (adds, start, length) => {
          const set = new RangeSet();
          const model = new Set<number>();
          for (const [s, len] of adds) {
            set.addRange(s, s + len - 1);
            for (let v = s; v < s + len; v++) model.add(v);
          }
          const end = start + length;
          const gaps: [number, number][] = [];
          set.forEachGap(start, end, (a, b) => gaps.push([a, b]));
          const missing = new Set<number>();
          for (let v = start; v <= end; v++) if (!model.has(v)) missing.add(v);
          expect(gaps.map(([a, b]) => ({ start: a, end: b }))).toEqual(modelRanges(missing));
        },
      ),
      { numRuns: 300 },
    );
  });
});
