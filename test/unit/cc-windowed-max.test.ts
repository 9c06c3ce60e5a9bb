import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowedMax } from '../../src/protocol/cc/windowed-max.ts';

// The bandwidth filter of the loss-tolerant controller (spec §9.3, R-CC-5: max over the last 10 rounds).

describe('WindowedMax', () => {
  it('keeps the best value of each round and the maximum over the window', () => {
    const filter = new WindowedMax(3);
    expect(filter.best(0)).toBe(0);
    filter.update(5, 1);
    filter.update(3, 1); // lower in the same round: ignored
    filter.update(9, 2);
    filter.update(4, 3);
    expect(filter.best(3)).toBe(9);
    filter.update(11, 3); // higher in the same round: replaces
    expect(filter.best(3)).toBe(11);
  });

  it('forgets values older than the window, even without new samples', () => {
    const filter = new WindowedMax(3);
    filter.update(9, 1);
    filter.update(4, 2);
    expect(filter.best(3)).toBe(9); // rounds 1..3
    expect(filter.best(4)).toBe(4); // round 1 expired
    expect(filter.best(5)).toBe(0); // everything expired
    filter.update(2, 4); // overwrites the ring slot of round 1
    expect(filter.best(4)).toBe(4);
  });

  it('reset forgets every sample', () => {
    const filter = new WindowedMax(10);
    for (let round = 0; round < 5; round++) filter.update(100 + round, round);
    filter.reset();
    expect(filter.best(4)).toBe(0);
    filter.update(7, 4);
    expect(filter.best(4)).toBe(7);
  });

  it('matches a naive maximum over the last `window` rounds for any non-decreasing sequence of rounds', () => {
    const step = fc.record({ advance: fc.integer({ min: 0, max: 4 }), value: fc.nat({ max: 1_000_000 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(step, { maxLength: 200 }), (window, steps) => {
        const filter = new WindowedMax(window);
        const seen: { round: number; value: number }[] = [];
        let round = 0;
        for (const s of steps) {
          round += s.advance;
          filter.update(s.value, round);
          seen.push({ round, value: s.value });
          for (const query of [round, round + 1, round + window - 1, round + window]) {
            const expected = seen
              .filter((x) => query - x.round < window)
              .reduce((best, x) => Math.max(best, x.value), 0);
            expect(filter.best(query)).toBe(expected);
          }
        }
      }),
    );
  });
});
