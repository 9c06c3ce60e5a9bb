import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyDatagram, DatagramSlab } from '../../src/protocol/datagram-slab.ts';

describe('DatagramSlab', () => {
  it('every copy keeps its bytes however many copies follow, and never aliases its source', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 400 }), { minLength: 1, maxLength: 120 }),
        fc.constantFrom(512, 1024, 4096),
        (datagrams, bytesPerSlab) => {
          const slab = new DatagramSlab(bytesPerSlab);
          const scratch = new Uint8Array(400);
          const copies = datagrams.map((d) => {
            // Encoded in a reused scratch buffer, as the connection does, then copied out.
            scratch.set(d);
            const copy = slab.copy(scratch.subarray(0, d.length));
            scratch.fill(0xee);
            return copy;
          });
          expect(copies.map((c) => [...c])).toEqual(datagrams.map((d) => [...d]));
          for (const c of copies) expect(c.buffer === scratch.buffer).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('distinct copies never overlap in a shared slab', () => {
    const views = Array.from({ length: 100 }, (_, i) => copyDatagram(new Uint8Array(1 + (i % 37)).fill(i)));
    for (const [i, v] of views.entries()) expect(v.every((b) => b === i)).toBe(true);
  });
});
