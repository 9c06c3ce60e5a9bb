import { encodeRepairPacket, type FecLossReport, fecMaxBlockShards } from './fec-header.ts';
import type { ReedSolomonCodec } from './reed-solomon.ts';

/** Settings of extra repair (spec §11.9, R-FEC-14). */
export interface ExtraRepairOptions {
  /**
   * Shortest time between two bursts for one block, ms: a request repeated within it (the receiver sends each
   * request twice, and cannot have seen the last burst yet) is not answered again. Default 40.
   */
  minBurstSpacingMs?: number;
  /** Blocks older than this (since they closed) get no extra repair: their data is past any deadline, ms. Default 400. */
  maxAgeMs?: number;
  /** Most closed blocks kept for extra repair (oldest dropped first). Default 128. */
  maxRetainedBlocks?: number;
  /** Most bytes of retained sources (oldest blocks dropped first). Default 1 MiB. */
  maxRetainedBytes?: number;
  /**
   * Extra REPAIR bytes sent within `maxAgeMs` may not exceed this multiple of what one REPAIR packet per retained
   * source would take (R-LIMIT-8): a peer, buggy or hostile, cannot make the sender flood the path with parity, which no
   * congestion controller counts (R-FEC-11). Default 2.
   */
  maxBytesRatio?: number;
}

/** A block shaped for its REPAIR packets, as the encoder closed it. */
export interface ClosedBlock {
  firstPacketNumber: number;
  /** Length per spanned packet number, 0 for a packet that is not a source. */
  lengths: readonly number[];
  /** The sources padded to the longest, in packet-number order. */
  padded: Uint8Array[];
  longest: number;
  /** Bytes of a REPAIR packet's headers (worst case for m and index). */
  headerBytes: number;
  /** Union of the sources' tags. */
  tags: number;
  /** Repair shards sent so far (indices 0..repairsSent − 1). */
  repairsSent: number;
}

interface RetainedBlock extends ClosedBlock {
  closedAtMs: number;
  /** When the last burst went out. */
  lastBurstMs: number;
}

/** Counters of an {@link ExtraRepair}. */
export interface ExtraRepairStats {
  /** Bursts of extra repair sent. */
  bursts: number;
  /** Extra REPAIR packets sent. */
  repairPackets: number;
  /** Bytes of extra REPAIR packets sent. */
  repairBytes: number;
  /** Requests for no retained block (too old, not a source, or not a block of this sender). */
  requestsNotCovered: number;
  /** Requests not answered because the block's last burst was too recent. */
  requestsTooSoon: number;
  /** Requests not answered because the extra-repair byte budget was spent (R-LIMIT-8). */
  requestsOverBudget: number;
}

/** Bytes of one REPAIR packet per source of `block` (header and parity). */
function shardBytesOf(block: ClosedBlock): number {
  return block.padded.length * (block.headerBytes + block.longest);
}

/** Encodes the REPAIR packets with indices `from..to−1` of `block`, whose Repair Count is `to` (R-FEC-3). */
export function encodeRepairs(
  block: ClosedBlock,
  parity: readonly Uint8Array[],
  from: number,
  connectionId: Uint8Array,
  lossReport: FecLossReport | undefined,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const to = from + parity.length;
  for (let index = from; index < to; index++) {
    const packet = {
      connectionId,
      firstSourcePacketNumber: block.firstPacketNumber,
      repairCount: to,
      repairIndex: index,
      lossReport,
      sourceLengths: block.lengths,
      parity: parity[index - from]!,
    };
    const buf = new Uint8Array(block.headerBytes + block.longest);
    const end = encodeRepairPacket(packet, buf, 0);
    out.push(end === buf.length ? buf : buf.subarray(0, end));
  }
  return out;
}

/**
 * Extra repair (spec §11.9, R-FEC-14): keeps recently closed blocks and, when the receiver's FEEDBACK says a block
 * cannot be rebuilt (R-FEC-15), sends more parity shards of the same code (indices from the block's current
 * Repair Count on) — any k shards rebuild the block, so each extra shard repairs whichever source is missing,
 * where a retransmission repairs only its own. A burst for `needed` shards has `extraParityFor(needed, now, tags)`
 * of them. Sans-IO.
 */
export class ExtraRepair {
  readonly #minSpacingMs: number;
  readonly #maxAgeMs: number;
  readonly #maxBlocks: number;
  readonly #maxBytes: number;
  readonly #codec: ReedSolomonCodec;
  readonly #connectionId: Uint8Array;
  readonly #extraParityFor: (needed: number, nowMs: number, tags: number) => number;
  readonly #lossReport: () => FecLossReport | undefined;
  /** Retained blocks in packet-number order. */
  readonly #blocks: RetainedBlock[] = [];
  #bytes = 0;
  /** Counters since creation. */
  readonly stats: ExtraRepairStats = {
    bursts: 0,
    repairPackets: 0,
    repairBytes: 0,
    requestsNotCovered: 0,
    requestsTooSoon: 0,
    requestsOverBudget: 0,
  };
  readonly #maxBytesRatio: number;
  /** Bursts sent within `maxAgeMs`: when, and how many bytes (oldest first). */
  readonly #recentBursts: { atMs: number; bytes: number }[] = [];
  #recentBytes = 0;
  /** What one REPAIR packet per retained source would take on the wire: the base of the byte budget. */
  #shardBytes = 0;

  /** Creates the scheduler; throws `RangeError` on options out of range. */
  constructor(
    options: ExtraRepairOptions,
    connectionId: Uint8Array,
    codec: ReedSolomonCodec,
    extraParityFor: (needed: number, nowMs: number, tags: number) => number,
    lossReport: () => FecLossReport | undefined,
  ) {
    this.#minSpacingMs = options.minBurstSpacingMs ?? 40;
    this.#maxAgeMs = options.maxAgeMs ?? 400;
    this.#maxBlocks = options.maxRetainedBlocks ?? 128;
    this.#maxBytes = options.maxRetainedBytes ?? 1024 * 1024;
    this.#maxBytesRatio = options.maxBytesRatio ?? 2;
    if (
      !(this.#minSpacingMs >= 0) ||
      !(this.#maxAgeMs > 0) ||
      !(this.#maxBlocks >= 1) ||
      !(this.#maxBytes >= 1) ||
      !(this.#maxBytesRatio >= 0)
    ) {
      throw new RangeError(
        'extra repair: minBurstSpacingMs ≥ 0, maxAgeMs > 0, maxRetainedBlocks ≥ 1, maxRetainedBytes ≥ 1, maxBytesRatio ≥ 0',
      );
    }
    this.#codec = codec;
    this.#connectionId = connectionId;
    this.#extraParityFor = extraParityFor;
    this.#lossReport = lossReport;
  }

  /** Blocks and source bytes held, for bound checks. */
  get held(): { blocks: number; bytes: number } {
    return { blocks: this.#blocks.length, bytes: this.#bytes };
  }

  /** Keeps a block the encoder just closed (its sources are not copied again). */
  retain(nowMs: number, block: ClosedBlock): void {
    this.#expire(nowMs);
    const bytes = block.padded.length * block.longest;
    if (block.padded.length + block.repairsSent >= fecMaxBlockShards) return;
    this.#blocks.push({ ...block, closedAtMs: nowMs, lastBurstMs: Number.NEGATIVE_INFINITY });
    this.#bytes += bytes;
    this.#shardBytes += shardBytesOf(block);
    while (this.#blocks.length > this.#maxBlocks || this.#bytes > this.#maxBytes) this.#dropOldest();
  }

  /**
   * The receiver asks for `needed` more shards of the block whose first source is `firstSourcePacketNumber`
   * (R-FEC-15): a burst goes out unless the block is gone or its last burst is too recent.
   */
  onBlockRequest(nowMs: number, firstSourcePacketNumber: number, needed: number, out: Uint8Array[]): void {
    const block = this.#blockOf(firstSourcePacketNumber);
    if (block === undefined || block.firstPacketNumber !== firstSourcePacketNumber) {
      this.stats.requestsNotCovered++;
      return;
    }
    this.#answer(nowMs, block, needed, out);
  }

  /**
   * The receiver misses these packets and knows no block of theirs (R-FEC-15): each block of this sender with
   * missing sources gets a burst for as many as it misses.
   */
  onMissing(nowMs: number, packetNumbers: readonly number[], out: Uint8Array[]): void {
    const counts = new Map<RetainedBlock, number>();
    for (const pn of packetNumbers) {
      const block = this.#blockOf(pn);
      if (block === undefined) this.stats.requestsNotCovered++;
      else counts.set(block, (counts.get(block) ?? 0) + 1);
    }
    for (const [block, needed] of counts) this.#answer(nowMs, block, needed, out);
  }

  #answer(nowMs: number, block: RetainedBlock, needed: number, out: Uint8Array[]): void {
    if (nowMs - block.closedAtMs > this.#maxAgeMs) {
      this.stats.requestsNotCovered++;
      return;
    }
    if (nowMs - block.lastBurstMs < this.#minSpacingMs) {
      this.stats.requestsTooSoon++;
      return;
    }
    while (this.#recentBursts.length > 0 && nowMs - this.#recentBursts[0]!.atMs > this.#maxAgeMs) {
      this.#recentBytes -= this.#recentBursts.shift()!.bytes;
    }
    if (this.#recentBytes >= this.#maxBytesRatio * this.#shardBytes) {
      this.stats.requestsOverBudget++;
      return;
    }
    this.#burst(nowMs, block, needed, out);
  }

  #burst(nowMs: number, block: RetainedBlock, needed: number, out: Uint8Array[]): void {
    const k = block.padded.length;
    const from = block.repairsSent;
    const room = fecMaxBlockShards - k - from;
    // A block never needs more shards than it has sources: the peer's number is capped before any work.
    const wanted = Math.min(Math.floor(needed), k, room);
    if (!(wanted >= 1)) return;
    const n = Math.min(Math.floor(this.#extraParityFor(wanted, nowMs, block.tags)), room);
    if (!(n >= 1)) return;
    // Shard j of the code does not depend on how many shards are asked for (the Backblaze construction), so the
    // new shards continue the block's code and any k of all its shards rebuild it.
    const parity = this.#codec.encode(block.padded, from + n).slice(from);
    block.repairsSent = from + n;
    block.lastBurstMs = nowMs;
    const packets = encodeRepairs(block, parity, from, this.#connectionId, this.#lossReport());
    this.stats.bursts++;
    let bytes = 0;
    for (const p of packets) {
      out.push(p);
      bytes += p.length;
    }
    this.stats.repairPackets += packets.length;
    this.stats.repairBytes += bytes;
    this.#recentBursts.push({ atMs: nowMs, bytes });
    this.#recentBytes += bytes;
  }

  /** The retained block whose sources include `pn`, by binary search. */
  #blockOf(pn: number): RetainedBlock | undefined {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const b = blocks[mid]!;
      if (pn < b.firstPacketNumber) hi = mid - 1;
      else if (pn >= b.firstPacketNumber + b.lengths.length) lo = mid + 1;
      else return (b.lengths[pn - b.firstPacketNumber] ?? 0) > 0 ? b : undefined;
    }
    return undefined;
  }

  #expire(nowMs: number): void {
    while (this.#blocks.length > 0 && nowMs - this.#blocks[0]!.closedAtMs > this.#maxAgeMs)
      this.#dropOldest();
  }

  #dropOldest(): void {
    const block = this.#blocks.shift();
    if (block === undefined) return;
    this.#bytes -= block.padded.length * block.longest;
    this.#shardBytes -= shardBytesOf(block);
  }
}
