import { describe, expect, it } from 'vitest';
import { decodeRepairPacket } from '../../src/fec/fec-header.ts';
import { type FecOptions, FecSession } from '../../src/fec/fec-session.ts';
import type { FecClass } from '../../src/fec/redundancy-controller.ts';
import { encodedPacketLength, encodePacket, type Frame, type Packet } from '../../src/protocol/wire/index.ts';

// spec.md §11.6 R-FEC-13: FEC policy per channel.

const cid = Uint8Array.of(7, 7, 7, 7);
const bulkChannel = 8;
const mediaChannel = 10;
const imChannel = 0;

function packet(pn: number, channels: number[]): Uint8Array {
  const frames: Frame[] =
    channels.length === 0
      ? [{ type: 'ping' }]
      : channels.map((channelId, i) => ({
          type: 'message',
          channelId,
          messageId: pn,
          offset: 0,
          totalLength: 300,
          payload: new Uint8Array(300).fill(pn),
          lengthPresent: i < channels.length - 1,
        }));
  const p: Packet = { header: { type: 0, connectionId: cid, keyPhase: false, packetNumber: pn }, frames };
  const buf = new Uint8Array(encodedPacketLength(p));
  encodePacket(p, buf, 0);
  return buf;
}

/** Sends `packets` (channels per packet) as one block through a session and returns its REPAIR count. */
function repairsFor(packets: number[][], options: FecOptions): number {
  const classes: Record<number, FecClass> = { [bulkChannel]: 'bulk', [mediaChannel]: 'media' };
  const session = new FecSession(cid, 1200, {
    maxBlockSources: 64,
    maxBlockDelayMs: 5,
    channelClass: (id) => classes[id],
    ...options,
  });
  for (const [pn, channels] of packets.entries()) session.onTransmit(0, packet(pn, channels));
  let repairs = 0;
  for (let r = session.pollRepair(10); r; r = session.pollRepair(10)) {
    expect(decodeRepairPacket(r).ok).toBe(true);
    repairs++;
  }
  return repairs;
}

describe('spec §11.6 per-channel FEC policy', () => {
  it('R-FEC-13: bulk-only packets are not protected; a block gets the most parity its sources ask for', () => {
    const im = repairsFor([[imChannel], [imChannel], [imChannel], [imChannel]], {});
    expect(im).toBeGreaterThan(0);
    // Only bulk channels: nothing is a source, so no repair at all.
    expect(repairsFor([[bulkChannel], [bulkChannel], [bulkChannel], [bulkChannel]], {})).toBe(0);
    // A bulk packet beside an IM one is protected with the IM class (the packet takes both classes).
    expect(repairsFor([[bulkChannel, imChannel], [imChannel], [imChannel], [imChannel]], {})).toBe(im);
    // Packets without messages take the connection's class.
    expect(repairsFor([[], [], [], []], {})).toBe(im);
    // Media's cap (1 per source) is below interactive's (3); with the media class raised by the application
    // above interactive, a block mixing both gets the media parity.
    const mediaOnly = repairsFor([[mediaChannel], [mediaChannel], [mediaChannel], [mediaChannel]], {});
    expect(mediaOnly).toBeLessThanOrEqual(4);
    const strict = { media: { targetResidualLoss: 1e-6, maxRepairRatio: 4 } };
    const mixed = repairsFor([[mediaChannel], [imChannel], [imChannel], [imChannel]], {
      classPolicies: strict,
    });
    expect(mixed).toBeGreaterThan(im);
    expect(mixed).toBe(
      repairsFor([[mediaChannel], [mediaChannel], [mediaChannel], [mediaChannel]], { classPolicies: strict }),
    );
  });
});
