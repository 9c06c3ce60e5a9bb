/**
 * Micro-benchmark of the wire codec (spec §3–§4): encode and decode of typical packets.
 * Run: `npx tsx bench/wire-codec.ts`. Prints ops/s per case (benny).
 */
import b from 'benny';
import { decodePacket, encodedPacketLength, encodePacket, type Packet } from '../src/protocol/wire/index.ts';

/** The spec §3.4 / Appendix A.1 packet: an 8-byte message with a piggybacked one-range ACK. */
const imPacket: Packet = {
  header: { type: 0, connectionId: Uint8Array.of(1, 2, 3, 4), keyPhase: false, packetNumber: 300 },
  frames: [
    { type: 'ack', ackDelayUs: 1000, ranges: [{ smallest: 280, largest: 290 }] },
    {
      type: 'message',
      channelId: 1,
      messageId: 100,
      offset: 0,
      totalLength: 8,
      payload: new Uint8Array(8).fill(7),
      lengthPresent: false,
    },
  ],
};

/** A full-size fragment of a bulk transfer under loss: a 4-range ACK and a 1150-byte fragment. */
const bulkPacket: Packet = {
  header: {
    type: 0,
    connectionId: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    keyPhase: false,
    packetNumber: 123_456,
  },
  frames: [
    {
      type: 'ack',
      ackDelayUs: 20_000,
      ranges: [
        { smallest: 98_000, largest: 98_010 },
        { smallest: 97_990, largest: 97_995 },
        { smallest: 97_950, largest: 97_980 },
        { smallest: 97_900, largest: 97_940 },
      ],
    },
    {
      type: 'message',
      channelId: 2,
      messageId: 7_000,
      offset: 1_150_000,
      totalLength: 20_000_000,
      payload: new Uint8Array(1150).fill(0xab),
      lengthPresent: false,
    },
  ],
};

const scratch = new Uint8Array(1500);

function encoded(packet: Packet): Uint8Array {
  const bytes = new Uint8Array(encodedPacketLength(packet));
  encodePacket(packet, bytes, 0);
  return bytes;
}

const imBytes = encoded(imPacket);
const bulkBytes = encoded(bulkPacket);
let sink = 0;

await b.suite(
  'wire codec',
  b.add(`encode IM packet (${imBytes.length} B)`, () => {
    sink += encodePacket(imPacket, scratch, 0);
  }),
  b.add(`decode IM packet (${imBytes.length} B)`, () => {
    const result = decodePacket(imBytes);
    if (result.ok) sink += result.value.frames.length;
  }),
  b.add(`encode + decode IM packet (${imBytes.length} B)`, () => {
    const end = encodePacket(imPacket, scratch, 0);
    const result = decodePacket(scratch.subarray(0, end));
    if (result.ok) sink += result.value.frames.length;
  }),
  b.add(`encode + decode bulk packet (${bulkBytes.length} B)`, () => {
    const end = encodePacket(bulkPacket, scratch, 0);
    const result = decodePacket(scratch.subarray(0, end));
    if (result.ok) sink += result.value.frames.length;
  }),
  b.cycle(),
  b.complete((summary) => {
    for (const result of summary.results) {
      console.log(
        `${result.name}: ${Math.round(result.ops).toLocaleString('en-US')} ops/s ±${result.margin}%`,
      );
    }
    if (sink === 0) console.log('(no work done)');
  }),
);
