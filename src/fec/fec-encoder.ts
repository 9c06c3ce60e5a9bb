import { varintLength } from '../protocol/wire/index.ts';
import { type ExtraRepair, encodeRepairs } from './fec-extra-repair.ts';
import { type FecLossReport, fecMaxBlockShards, fecMaxBlockSpan } from './fec-header.ts';
import { ReedSolomonCodec } from './reed-solomon.ts';

/** Options of a {@link FecEncoder}. */
export interface FecEncoderOptions {
  /** Connection id written in every REPAIR packet (the one the source packets carry). */
  connectionId: Uint8Array;
  /** Largest REPAIR datagram, bytes (the path's datagram size): a block closes before its repair would pass it. */
  maxRepairBytes: number;
  /** A block closes when it holds this many sources (R-FEC-4). Default 16. */
  maxBlockSources?: number;
  /** A block's repair goes out at most this long after its first source, ms (R-FEC-4). Default 20. */
  maxBlockDelayMs?: number;
  /**
   * Repair packets for a block of `sourceCount` sources closing at `nowMs`, 0..256 − k (the redundancy
   * controller); `tags` is the union (bitwise OR) of the tags its sources were added with.
   */
  parityFor: (sourceCount: number, nowMs: number, tags: number) => number;
  /** The loss report to carry in each REPAIR packet (R-FEC-7); undefined when there is none. */
  lossReport?: () => FecLossReport | undefined;
  /** Reed-Solomon codec; a new one by default. */
  codec?: ReedSolomonCodec;
  /** Keeps closed blocks for extra repair (R-FEC-14); none by default. */
  extraRepair?: ExtraRepair;
}

/** Counters of a {@link FecEncoder}. */
export interface FecEncoderStats {
  /** Source packets added to blocks. */
  sourcePackets: number;
  /** Source packets too large to fit a REPAIR packet, sent unprotected. */
  sourcesUnprotected: number;
  /** Blocks closed (with or without repair). */
  blocks: number;
  /** Blocks closed with no repair because the controller chose 0. */
  blocksWithoutRepair: number;
  /** REPAIR packets produced. */
  repairPackets: number;
  /** Bytes of REPAIR packets produced. */
  repairBytes: number;
}

/** The block being filled. */
interface OpenBlock {
  firstPacketNumber: number;
  openedAtMs: number;
  /** Length per spanned packet number, 0 for a packet that is not a source. */
  lengths: number[];
  sources: Uint8Array[];
  longest: number;
  /** Bytes of the REPAIR packet's headers if the block closed now, with a 2-byte worst case for m and index. */
  headerBytes: number;
  /** Union of the sources' tags (their traffic classes, for the parity choice). */
  tags: number;
}

/**
 * Sender side of the FEC layer (spec §11.2, §11.5): groups outgoing source datagrams into blocks of consecutive
 * packet numbers, closed by count, by time and by the repair packet's size, and emits m REPAIR packets per
 * block with one Reed-Solomon parity shard each over the sources padded to the longest. Sans-IO: time is the
 * `nowMs` argument.
 *
 * Call order: `onSourcePacket` for every source datagram as it leaves (in packet-number order); drain
 * `pollRepair(now)` after each, and whenever `now >= nextTimeout()`.
 */
export class FecEncoder {
  readonly #options: Required<Omit<FecEncoderOptions, 'lossReport' | 'codec' | 'extraRepair'>>;
  readonly #extra: ExtraRepair | undefined;
  readonly #lossReport: () => FecLossReport | undefined;
  readonly #codec: ReedSolomonCodec;
  #block: OpenBlock | undefined;
  readonly #ready: Uint8Array[] = [];
  /** Counters since creation. */
  readonly stats: FecEncoderStats = {
    sourcePackets: 0,
    sourcesUnprotected: 0,
    blocks: 0,
    blocksWithoutRepair: 0,
    repairPackets: 0,
    repairBytes: 0,
  };

  /** Creates an encoder; throws `RangeError` on options out of range. */
  constructor(options: FecEncoderOptions) {
    const maxBlockSources = options.maxBlockSources ?? 16;
    const maxBlockDelayMs = options.maxBlockDelayMs ?? 20;
    if (!Number.isInteger(maxBlockSources) || maxBlockSources < 1 || maxBlockSources >= fecMaxBlockShards) {
      throw new RangeError(`maxBlockSources must be an integer in 1..${fecMaxBlockShards - 1}`);
    }
    if (!(maxBlockDelayMs >= 0)) throw new RangeError('maxBlockDelayMs must be ≥ 0');
    if (!Number.isInteger(options.maxRepairBytes) || options.maxRepairBytes < 64) {
      throw new RangeError('maxRepairBytes must be an integer ≥ 64');
    }
    this.#options = { ...options, maxBlockSources, maxBlockDelayMs };
    this.#lossReport = options.lossReport ?? (() => undefined);
    this.#codec = options.codec ?? new ReedSolomonCodec();
    this.#extra = options.extraRepair;
  }

  /**
   * Adds an outgoing source datagram (R-FEC-1). Packet numbers must increase; a gap (packets that are not
   * sources) is spanned with zero lengths while the block's span allows, otherwise the block closes first.
   * The bytes are copied. `tag` (bit flags, e.g. the packet's traffic classes) is handed to `parityFor`.
   */
  onSourcePacket(nowMs: number, packetNumber: number, bytes: Uint8Array, tag = 0): void {
    this.#closeIfDue(nowMs);
    const fixedBytes = this.#fixedHeaderBytes(packetNumber);
    if (
      bytes.length < 1 ||
      fixedBytes + varintLength(bytes.length) + bytes.length > this.#options.maxRepairBytes
    ) {
      this.stats.sourcesUnprotected++;
      return;
    }
    let block = this.#block;
    if (block !== undefined) {
      const gap = packetNumber - (block.firstPacketNumber + block.lengths.length);
      const longest = Math.max(block.longest, bytes.length);
      const headerBytes = block.headerBytes + Math.max(gap, 0) + varintLength(bytes.length);
      if (
        gap < 0 ||
        block.lengths.length + gap + 1 > fecMaxBlockSpan ||
        headerBytes + longest > this.#options.maxRepairBytes
      ) {
        this.#close(nowMs);
        block = undefined;
      } else {
        for (let i = 0; i < gap; i++) block.lengths.push(0);
        block.headerBytes = headerBytes;
        block.longest = longest;
      }
    }
    if (block === undefined) {
      block = {
        firstPacketNumber: packetNumber,
        openedAtMs: nowMs,
        lengths: [],
        sources: [],
        longest: bytes.length,
        headerBytes: fixedBytes + varintLength(bytes.length),
        tags: 0,
      };
      this.#block = block;
    }
    block.tags |= tag;
    block.lengths.push(bytes.length);
    block.sources.push(bytes.slice());
    this.stats.sourcePackets++;
    if (block.sources.length >= this.#options.maxBlockSources) this.#close(nowMs);
  }

  /** The next REPAIR datagram to send, or undefined. Closes a block whose delay has run out (R-FEC-4). */
  pollRepair(nowMs: number): Uint8Array | undefined {
    this.#closeIfDue(nowMs);
    return this.#ready.shift();
  }

  /** When the open block's repair is due (absolute ms), or undefined when no block is open or repair is ready. */
  nextTimeout(): number | undefined {
    if (this.#ready.length > 0) return undefined;
    const block = this.#block;
    return block === undefined ? undefined : block.openedAtMs + this.#options.maxBlockDelayMs;
  }

  /** Closes the open block now, whatever its size (e.g. when the connection goes idle or closes). */
  flush(nowMs: number): void {
    if (this.#block !== undefined) this.#close(nowMs);
  }

  /** REPAIR packets produced and not yet taken by `pollRepair`. */
  get pendingRepairs(): number {
    return this.#ready.length;
  }

  #closeIfDue(nowMs: number): void {
    const block = this.#block;
    if (block !== undefined && nowMs >= block.openedAtMs + this.#options.maxBlockDelayMs) this.#close(nowMs);
  }

  /** Header bytes of a REPAIR packet for a block starting at `packetNumber`, before its lengths. */
  #fixedHeaderBytes(packetNumber: number): number {
    // flags + connection id + packet number + span (2) + m (2) + index (2) + loss report (2 + 2).
    return 1 + this.#options.connectionId.length + varintLength(packetNumber) + 10;
  }

  /** Encodes the open block's parity (R-FEC-5) and queues its REPAIR packets. */
  #close(nowMs: number): void {
    const block = this.#block!;
    this.#block = undefined;
    this.stats.blocks++;
    const k = block.sources.length;
    const m = Math.min(
      Math.max(Math.floor(this.#options.parityFor(k, nowMs, block.tags)), 0),
      fecMaxBlockShards - k,
    );
    if (!(m >= 1) && this.#extra === undefined) {
      this.stats.blocksWithoutRepair++;
      return;
    }
    const padded = block.sources.map((source) => {
      if (source.length === block.longest) return source;
      const shard = new Uint8Array(block.longest);
      shard.set(source);
      return shard;
    });
    const closed = {
      firstPacketNumber: block.firstPacketNumber,
      lengths: block.lengths,
      padded,
      longest: block.longest,
      headerBytes: block.headerBytes,
      tags: block.tags,
      repairsSent: Math.max(m, 0),
    };
    this.#extra?.retain(nowMs, closed);
    if (!(m >= 1)) {
      this.stats.blocksWithoutRepair++;
      return;
    }
    const parity = this.#codec.encode(padded, m);
    const packets = encodeRepairs(closed, parity, 0, this.#options.connectionId, this.#lossReport());
    for (const bytes of packets) {
      this.#ready.push(bytes);
      this.stats.repairPackets++;
      this.stats.repairBytes += bytes.length;
    }
  }
}
