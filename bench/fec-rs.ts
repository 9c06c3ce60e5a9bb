/**
 * Reed-Solomon codec throughput: the `ReedSolomonCodec` wrapper against the raw `reed-solomon-erasure`
 * wasm exports, measured in the same run, 1200-byte shards, MB/s of data (10^6 B/s of the k data shards).
 * Raw = the package's exports called in place on a fresh instance of the same module (shards already in
 * wasm memory, no validation, no copies); wrapper = validate + copy in + call + copy out + memory cap.
 * Reconstruct loses min(k, m) data shards (the worst case for the decoder). The machine is shared, so
 * besides benny's sequential cases the ratio is also measured interleaved: rounds of wrapper and raw
 * bursts in alternating order, median of the per-round ratios (robust to load that shifts mid-run).
 * Target (issue 5): wrapper ≥ 80% of raw (anchors.md: 10+3 320/247, 20+10 134/113, 64+32 29/23 MB/s).
 * Run: `node --import tsx bench/fec-rs.ts`.
 */
import { performance } from 'node:perf_hooks';
import b from 'benny';
import { ReedSolomonCodec } from '../src/fec/reed-solomon.ts';
import { RsWasmInstance } from '../src/fec/reed-solomon-wasm.ts';

const shardBytes = 1200;
const configs: [k: number, m: number][] = [
  [4, 2],
  [10, 3],
  [20, 10],
  [64, 32],
];
const options = { minSamples: 10, maxTime: 1 };

/** Deterministic bytes (the bench needs no randomness, only non-trivial data). */
function shards(count: number, seed: number): Uint8Array[] {
  let x = seed | 1;
  return Array.from({ length: count }, () =>
    Uint8Array.from({ length: shardBytes }, () => {
      x = (Math.imul(x, 1_103_515_245) + 12_345) | 0;
      return x >>> 24;
    }),
  );
}

/** Median over rounds of (raw time / wrapper time) for bursts of `calls` calls, alternating who goes first. */
function interleavedRatio(wrapper: () => unknown, raw: () => unknown, calls: number, rounds = 41): number {
  const burst = (fn: () => unknown): number => {
    const started = performance.now();
    for (let i = 0; i < calls; i++) fn();
    return performance.now() - started;
  };
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      const wrapperMs = burst(wrapper);
      ratios.push(burst(raw) / wrapperMs);
    } else {
      const rawMs = burst(raw);
      ratios.push(rawMs / burst(wrapper));
    }
  }
  ratios.sort((x, y) => x - y);
  return ratios[rounds >> 1]!;
}

/** One line of the final table. */
interface Row {
  group: string;
  op: string;
  wrapperMBps: number;
  rawMBps: number;
  interleaved: number;
}
const rows: Row[] = [];

for (const [k, m] of configs) {
  const dataMb = (k * shardBytes) / 1e6;
  const data = shards(k, k * 31 + m);
  const codec = new ReedSolomonCodec();
  const parityOut = Array.from({ length: m }, () => new Uint8Array(shardBytes));
  const parity = codec.encode(data, m);
  const lost = Math.min(k, m);
  const damaged = [...data, ...parity].map((s, i) => (i < lost ? undefined : s));

  // Raw: one fresh instance per configuration, shards placed once.
  const raw = new RsWasmInstance();
  const total = k + m;
  const offset = raw.region(total * shardBytes + total);
  const availableAt = offset + total * shardBytes;
  data.forEach((s, i) => {
    raw.bytes().set(s, offset + i * shardBytes);
  });
  for (let i = 0; i < total; i++) raw.bytes()[availableAt + i] = i < lost ? 0 : 1;

  const cases = {
    encodeInto: () => codec.encodeInto(data, parityOut),
    encode: () => codec.encode(data, m),
    reconstruct: () => codec.reconstruct(damaged, k),
    rawEncode: () => raw.encode(offset, shardBytes, k, m),
    rawReconstruct: () => raw.reconstruct(offset, shardBytes, k, m, availableAt),
  };
  // Warm both sides up (JIT, first memory growth) so case order does not bias the comparison.
  for (let i = 0; i < 50; i++) for (const fn of Object.values(cases)) fn();

  const ops: Record<string, number> = {};
  await b.suite(
    `Reed-Solomon ${k}+${m}, ${shardBytes}-byte shards`,
    ...Object.entries(cases).map(([name, fn]) => b.add(name, fn, options)),
    b.cycle(),
    b.complete((summary) => {
      for (const result of summary.results) ops[result.name] = result.ops * dataMb;
    }),
  );
  const group = `${k}+${m}`;
  const calls = Math.max(10, Math.round(2000 / (k * m)));
  for (const [op, rawOp] of [
    ['encodeInto', 'rawEncode'],
    ['encode', 'rawEncode'],
    ['reconstruct', 'rawReconstruct'],
  ] as const) {
    rows.push({
      group,
      op,
      wrapperMBps: ops[op]!,
      rawMBps: ops[rawOp]!,
      interleaved: interleavedRatio(cases[op], cases[rawOp], calls),
    });
  }
  const stats = codec.stats;
  console.log(`  codec: ${stats.instancesCreated} instances, ${stats.recycledForMemory} recycled for memory`);
}

console.log('\n| group | op | wrapper MB/s | raw MB/s | ratio (benny) | ratio (interleaved median) |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) {
  const cells = [row.group, row.op, row.wrapperMBps.toFixed(0), row.rawMBps.toFixed(0)];
  cells.push((row.wrapperMBps / row.rawMBps).toFixed(2), row.interleaved.toFixed(2));
  console.log(`| ${cells.join(' | ')} |`);
}
