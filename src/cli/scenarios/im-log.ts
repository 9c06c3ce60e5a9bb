import type { SeededRandom } from '../../sim/random.ts';
import { quantile, round } from './stats.ts';

/** One side's sends and the state of what arrived from it. */
interface SideLog {
  sentAt: number[];
  sizes: number[];
  seen: Set<number>;
  last: number;
}

/** The im-30 result keys of scenarios.md that the delivery log measures. */
export interface ImDeliveryResults {
  sent: number;
  delivered: number;
  duplicates: number;
  outOfOrder: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyP999Ms: number;
  latencyMaxMs: number;
  overhead: number;
  payloadBytes: number;
  wireBytes: number;
}

/** A message size of the im-30 workload: log-uniform between the two bounds (bytes). */
export function imMessageBytes(random: SeededRandom, minBytes: number, maxBytes: number): number {
  const logMin = Math.log(minBytes);
  return Math.round(Math.exp(logMin + random.float() * (Math.log(maxBytes) - logMin)));
}

/**
 * Both directions of an im-30 run, whatever carries it (Ferry in the simulator, KCP, real sockets): numbers each
 * message a side sends in its first 4 bytes, and checks what arrives for duplicates, order and latency.
 */
export class ImDeliveryLog<S extends string> {
  private readonly sides = new Map<S, SideLog>();
  /** Send-to-delivery latency of every delivered message (ms). */
  readonly latencies: number[] = [];
  duplicates = 0;
  outOfOrder = 0;
  delivered = 0;
  payloadBytes = 0;

  constructor(sides: readonly S[]) {
    for (const side of sides) this.sides.set(side, { sentAt: [], sizes: [], seen: new Set(), last: -1 });
  }

  /** The next message `side` sends at `nowMs`, of `sizeBytes` (at least 4), numbered. */
  message(side: S, nowMs: number, sizeBytes: number): Uint8Array {
    const log = this.sides.get(side)!;
    const data = new Uint8Array(sizeBytes);
    new DataView(data.buffer).setUint32(0, log.sentAt.length);
    log.sentAt.push(nowMs);
    log.sizes.push(sizeBytes);
    return data;
  }

  /** A message sent by `from` arrived at `nowMs`. */
  received(from: S, nowMs: number, data: Uint8Array): void {
    const log = this.sides.get(from)!;
    const seq = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
    if (log.seen.has(seq)) this.duplicates++;
    if (seq < log.last) this.outOfOrder++;
    log.seen.add(seq);
    log.last = Math.max(log.last, seq);
    this.delivered++;
    this.payloadBytes += data.length;
    this.latencies.push(nowMs - log.sentAt[seq]!);
  }

  /** Messages sent by both sides. */
  get sent(): number {
    let n = 0;
    for (const log of this.sides.values()) n += log.sentAt.length;
    return n;
  }

  /** Sizes of every message sent, both sides (bytes). */
  get sentSizes(): number[] {
    const sizes: number[] = [];
    for (const log of this.sides.values()) sizes.push(...log.sizes);
    return sizes;
  }

  /** The results, with `wireBytes` carried on the wire in both directions. */
  results(wireBytes: number): ImDeliveryResults {
    let sentPayload = 0;
    for (const log of this.sides.values()) for (const size of log.sizes) sentPayload += size;
    const latencies = this.latencies;
    return {
      sent: this.sent,
      delivered: this.delivered,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      latencyP50Ms: round(quantile(latencies, 0.5)),
      latencyP99Ms: round(quantile(latencies, 0.99)),
      latencyP999Ms: round(quantile(latencies, 0.999)),
      latencyMaxMs: round(latencies.length > 0 ? Math.max(...latencies) : Number.NaN),
      overhead: round((wireBytes - sentPayload) / sentPayload, 3),
      payloadBytes: this.payloadBytes,
      wireBytes,
    };
  }
}
