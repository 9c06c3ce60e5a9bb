import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageReassembly } from '../../src/protocol/channel/reassembly.ts';

/** A message and arbitrary fragments of it: any offsets and lengths, overlapping, duplicated, in any order. */
const caseArb = fc.uint8Array({ minLength: 1, maxLength: 300 }).chain((message) =>
  fc.record({
    message: fc.constant(message),
    fragments: fc.array(
      fc
        .tuple(fc.integer({ min: 0, max: message.length - 1 }), fc.integer({ min: 0, max: 80 }))
        .map(([offset, length]) => [offset, Math.min(message.length, offset + length)] as const),
      { maxLength: 40 },
    ),
    finish: fc.boolean(),
  }),
);

describe('MessageReassembly properties (spec §7)', () => {
  it('agrees with a byte-set model: new iff a byte was missing, complete iff all bytes held, bytes intact', () => {
    fc.assert(
      fc.property(caseArb, ({ message, fragments, finish }) => {
        const r = new MessageReassembly(message.length);
        const held = new Set<number>();
        const all: (readonly [number, number])[] = finish ? [...fragments, [0, message.length]] : fragments;
        for (const [offset, end] of all) {
          let missing = false;
          for (let b = offset; b < end; b++) {
            if (!held.has(b)) missing = true;
            held.add(b);
          }
          // A copy, so that reassembly cannot keep a view of the caller's buffer.
          const payload = message.slice(offset, end);
          expect(r.add({ offset, totalLength: message.length, payload })).toBe(missing ? 'new' : 'duplicate');
          payload.fill(0xee);
          expect(r.receivedBytes).toBe(held.size);
          expect(r.isComplete).toBe(held.size === message.length);
        }
        if (r.isComplete) expect(r.bytes()).toEqual(message);
        else expect(() => r.bytes()).toThrow(Error);
      }),
      { numRuns: 500 },
    );
  });
});
