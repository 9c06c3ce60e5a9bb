/**
 * FEC layer cost per packet (spec §11, issue 5): the `FecEncoder` (grouping into blocks, Reed-Solomon parity,
 * REPAIR packet encoding) and the `FecDecoder` (storing sources, parsing REPAIR packets, rebuilding lost
 * sources), one block per benchmark call, reported as µs per source packet and source packets per second.
 * Workloads: IM-sized datagrams (40 B) in blocks of 4 + 2 (kcp-echo at 30% loss), and full datagrams
 * (1200 B) in blocks of 10 + 3 and 16 + 5; the decoder loses min(m, ⌊k/3⌋) sources of every block (30%) and
 * rebuilds them from the repairs. Deterministic data; no randomness. Run: `node --import tsx bench/fec-layer.ts`.
 */
import b from 'benny';
import { FecDecoder } from '../src/fec/fec-decoder.ts';
import { FecEncoder } from '../src/fec/fec-encoder.ts';

const connectionId = Uint8Array.of(1, 2, 3, 4);
const options = { minSamples: 10, maxTime: 1 };

/** One workload: k sources of `bytes` bytes, m repairs per block. */
interface Workload {
  name: string;
  k: number;
  m: number;
  bytes: number;
}

const workloads: Workload[] = [
  { name: 'IM 40 B, 4 + 2', k: 4, m: 2, bytes: 40 },
  { name: 'bulk 1200 B, 10 + 3', k: 10, m: 3, bytes: 1200 },
  { name: 'bulk 1200 B, 16 + 5', k: 16, m: 5, bytes: 1200 },
];

/** Deterministic source datagrams (a linear congruential fill). */
function sources(count: number, bytes: number): Uint8Array[] {
  let x = 12_345;
  return Array.from({ length: count }, () =>
    Uint8Array.from({ length: bytes }, () => {
      x = (Math.imul(x, 1_103_515_245) + 12_345) | 0;
      return x >>> 24;
    }),
  );
}

/** An encoder whose blocks close by count (the delay is never reached: time stands still). */
function encoderFor(w: Workload): FecEncoder {
  return new FecEncoder({
    connectionId,
    maxRepairBytes: 1400,
    maxBlockSources: w.k,
    maxBlockDelayMs: 1e9,
    parityFor: () => w.m,
  });
}

/** Encodes one block of `w` starting at packet number `first`; returns its REPAIR packets. */
function encodeBlock(encoder: FecEncoder, data: Uint8Array[], first: number): Uint8Array[] {
  for (let i = 0; i < data.length; i++) encoder.onSourcePacket(0, first + i, data[i]!);
  const repairs: Uint8Array[] = [];
  for (let r = encoder.pollRepair(0); r; r = encoder.pollRepair(0)) repairs.push(r);
  return repairs;
}

let sink = 0;
const rows: { name: string; encodeUs: number; decodeUs: number; recovered: number }[] = [];

for (const w of workloads) {
  const data = sources(w.k, w.bytes);
  const lost = Math.min(w.m, Math.floor(w.k / 3));
  let encodeOps = 0;
  let decodeOps = 0;
  let recovered = 0;
  // The decoder's input: blocks encoded ahead of time, numbered consecutively (the benchmark reuses them with
  // fresh packet numbers so every block is new to the decoder).
  const template = encodeBlock(encoderFor(w), data, 0);
  await b.suite(
    `FEC layer: ${w.name}`,
    b.add('encode (per block)', () => {
      const encoder = encoderFor(w);
      return () => {
        sink += encodeBlock(encoder, data, sink).length;
      };
    }),
    b.add(`decode, ${lost} of ${w.k} lost (per block)`, () => {
      const decoder = new FecDecoder();
      const encoder = encoderFor(w);
      let first = 0;
      return () => {
        // Each call needs REPAIR packets for its own packet numbers: encode outside the timed part is not
        // possible with benny, so the encode cost is measured above and subtracted below.
        const repairs = encodeBlock(encoder, data, first);
        for (let i = lost; i < w.k; i++) decoder.onSourcePacket(0, first + i, data[i]!);
        for (const repair of repairs) recovered += decoder.onRepairPacket(0, repair).length;
        first += w.k;
      };
    }),
    b.cycle(),
    b.complete((summary) => {
      encodeOps = summary.results[0]!.ops;
      decodeOps = summary.results[1]!.ops;
    }),
    b.configure({ cases: options }),
  );
  const encodeUs = 1e6 / encodeOps / w.k;
  const decodeUs = Math.max(1e6 / decodeOps / w.k - encodeUs, 0);
  rows.push({ name: w.name, encodeUs, decodeUs, recovered });
  if (template.length !== w.m) throw new Error(`expected ${w.m} repairs, got ${template.length}`);
}

console.log(
  '\nFEC layer, per source packet (decode = store + parse repairs + rebuild, encode cost removed):',
);
console.log('workload               encode µs/pkt  encode pkts/s  decode µs/pkt  decode pkts/s');
for (const r of rows) {
  console.log(
    `${r.name.padEnd(22)} ${r.encodeUs.toFixed(2).padStart(13)}  ${Math.round(1e6 / r.encodeUs)
      .toLocaleString('en-US')
      .padStart(13)}  ${r.decodeUs.toFixed(2).padStart(13)}  ${Math.round(1e6 / Math.max(r.decodeUs, 1e-9))
      .toLocaleString('en-US')
      .padStart(13)}`,
  );
  if (r.recovered === 0) console.log(`  (${r.name}: nothing recovered — the decode case is broken)`);
}
if (sink === 0) console.log('(no work done)');
