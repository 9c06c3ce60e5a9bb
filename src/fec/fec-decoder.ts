import { decodeRepairPacket, type RepairPacket } from './fec-header.ts';
import { ReedSolomonCodec } from './reed-solomon.ts';

/** Bounds and tuning of a {@link FecDecoder}. */
export interface FecDecoderOptions {
  /** Most source datagrams kept for decoding (oldest evicted first). Default 1024. */
  maxStoredSources?: number;
  /** Most blocks tracked at once (oldest evicted first). Default 128. */
  maxBlocks?: number;
  /** Most bytes of sources and repair shards kept together (oldest evicted first). Default 1 MiB. */
  maxStoredBytes?: number;
  /**
   * Sources and blocks older than this are dropped, ms. A source and its block's repairs travel together, so what
   * matters is the block delay plus the path's jitter; by this age retransmission has taken over. Default 1000.
   */
  maxAgeMs?: number;
  /** Reed-Solomon codec; a new one by default. */
  codec?: ReedSolomonCodec;
}

/** Counters of a {@link FecDecoder}. */
export interface FecDecoderStats {
  /** REPAIR packets that decoded. */
  repairPackets: number;
  /** REPAIR datagrams dropped as malformed (R-FEC-3). */
  malformedRepairs: number;
  /** REPAIR packets that disagree with their block (other counts or lengths, or a source of another length). */
  inconsistentRepairs: number;
  /** REPAIR packets for a block already complete or recovered, or a duplicate shard. */
  redundantRepairs: number;
  /** Source datagrams rebuilt and handed back (R-FEC-6). */
  packetsRecovered: number;
  /** Blocks in which at least one source was rebuilt. */
  blocksRecovered: number;
  /** Blocks dropped with sources still missing and too few shards to rebuild them. */
  blocksUnrecoverable: number;
  /** Reconstructions the codec refused with an internal error (never expected). */
  codecErrors: number;
}

/** A stored source datagram. */
interface StoredSource {
  bytes: Uint8Array;
  atMs: number;
}

/** A block known from its REPAIR packets. */
interface BlockState {
  first: number;
  lengths: readonly number[];
  repairCount: number;
  repairs: (Uint8Array | undefined)[];
  received: number;
  createdMs: number;
  bytes: number;
  /** Complete, recovered or given up: later repairs are redundant. */
  done: boolean;
}

const none: Uint8Array[] = [];

/**
 * Receiver side of the FEC layer (spec §11.5): keeps recently received source datagrams by packet number and
 * the repair shards of recent blocks; once a block holds at least k of its k + m shards it rebuilds the
 * missing sources, byte-identical, for the caller to hand to the connection as if they had arrived (R-FEC-6).
 * Memory is bounded by count, bytes and age whatever the peer sends (R-FEC-8); nothing here throws on peer input.
 */
export class FecDecoder {
  readonly #maxStoredSources: number;
  readonly #maxBlocks: number;
  readonly #maxStoredBytes: number;
  readonly #maxAgeMs: number;
  readonly #codec: ReedSolomonCodec;
  readonly #sources = new Map<number, StoredSource>();
  readonly #blocks = new Map<number, BlockState>();
  /** Blocks not yet done, the only ones a late source can complete. */
  readonly #pending = new Set<BlockState>();
  #storedBytes = 0;
  /** Counters since creation. */
  readonly stats: FecDecoderStats = {
    repairPackets: 0,
    malformedRepairs: 0,
    inconsistentRepairs: 0,
    redundantRepairs: 0,
    packetsRecovered: 0,
    blocksRecovered: 0,
    blocksUnrecoverable: 0,
    codecErrors: 0,
  };

  /** Creates a decoder; throws `RangeError` on bounds out of range. */
  constructor(options: FecDecoderOptions = {}) {
    this.#maxStoredSources = positive(options.maxStoredSources ?? 1024, 'maxStoredSources');
    this.#maxBlocks = positive(options.maxBlocks ?? 128, 'maxBlocks');
    this.#maxStoredBytes = positive(options.maxStoredBytes ?? 1024 * 1024, 'maxStoredBytes');
    this.#maxAgeMs = positive(options.maxAgeMs ?? 1000, 'maxAgeMs');
    this.#codec = options.codec ?? new ReedSolomonCodec();
  }

  /** Source datagrams and blocks held, and their bytes, for bound checks. */
  get held(): { sources: number; blocks: number; bytes: number } {
    return { sources: this.#sources.size, blocks: this.#blocks.size, bytes: this.#storedBytes };
  }

  /**
   * Blocks known from their REPAIR packets that cannot be rebuilt yet, with the shards each still needs and when
   * its first REPAIR packet arrived (for repair requests, R-FEC-15).
   */
  *incompleteBlocks(): Iterable<{
    firstSourcePacketNumber: number;
    needed: number;
    firstSeenMs: number;
    longestSourceBytes: number;
  }> {
    for (const block of this.#pending) {
      let missing = 0;
      let longest = 0;
      for (let i = 0; i < block.lengths.length; i++) {
        const length = block.lengths[i]!;
        if (length > longest) longest = length;
        if (length !== 0 && !this.#sources.has(block.first + i)) missing++;
      }
      const needed = missing - block.received;
      if (needed > 0) {
        yield {
          firstSourcePacketNumber: block.first,
          needed,
          firstSeenMs: block.createdMs,
          longestSourceBytes: longest,
        };
      }
    }
  }

  /** Whether `packetNumber` lies in the span of a block known from its REPAIR packets. */
  knowsBlockOf(packetNumber: number): boolean {
    for (const block of this.#blocks.values()) {
      if (packetNumber >= block.first && packetNumber < block.first + block.lengths.length) return true;
    }
    return false;
  }

  /** Whether the source datagram with this packet number is held (received or rebuilt). */
  holds(packetNumber: number): boolean {
    return this.#sources.has(packetNumber);
  }

  /**
   * Records a source datagram that arrived (a copy is kept) and returns any datagrams it lets a waiting block
   * rebuild (a late source can complete a block whose repairs came first).
   */
  onSourcePacket(nowMs: number, packetNumber: number, bytes: Uint8Array): Uint8Array[] {
    this.#expire(nowMs);
    if (this.#sources.has(packetNumber) || bytes.length === 0) return none;
    this.#store(packetNumber, bytes.slice(), nowMs);
    let recovered = none;
    for (const block of this.#pending) {
      const offset = packetNumber - block.first;
      if (offset < 0 || offset >= block.lengths.length || block.lengths[offset] === 0) continue;
      const rebuilt = this.#tryRecover(nowMs, block);
      if (rebuilt.length > 0) recovered = recovered === none ? rebuilt : recovered.concat(rebuilt);
    }
    return recovered;
  }

  /** Decodes a REPAIR datagram and returns the source datagrams it lets the decoder rebuild (maybe none). */
  onRepairPacket(nowMs: number, bytes: Uint8Array): Uint8Array[] {
    const decoded = decodeRepairPacket(bytes);
    if (!decoded.ok) {
      this.stats.malformedRepairs++;
      return none;
    }
    return this.onRepair(nowMs, decoded.value);
  }

  /** As {@link onRepairPacket}, for a packet already decoded (its parity is copied). */
  onRepair(nowMs: number, packet: RepairPacket): Uint8Array[] {
    this.#expire(nowMs);
    this.stats.repairPackets++;
    let block = this.#blocks.get(packet.firstSourcePacketNumber);
    if (block === undefined) {
      block = {
        first: packet.firstSourcePacketNumber,
        lengths: packet.sourceLengths.slice(),
        repairCount: packet.repairCount,
        repairs: new Array<Uint8Array | undefined>(packet.repairCount),
        received: 0,
        createdMs: nowMs,
        bytes: 0,
        done: false,
      };
      this.#blocks.set(block.first, block);
      this.#pending.add(block);
      while (this.#blocks.size > this.#maxBlocks) this.#evictOldestBlock();
    } else if (!sameShape(block, packet)) {
      this.stats.inconsistentRepairs++;
      return none;
    }
    if (block.done || block.repairs[packet.repairIndex] !== undefined) {
      this.stats.redundantRepairs++;
      return none;
    }
    // R-FEC-14: extra repair continues the block's code with a larger Repair Count.
    while (block.repairs.length < packet.repairCount) block.repairs.push(undefined);
    if (packet.repairCount > block.repairCount) block.repairCount = packet.repairCount;
    block.repairs[packet.repairIndex] = packet.parity.slice();
    block.received++;
    block.bytes += packet.parity.length;
    this.#storedBytes += packet.parity.length;
    const recovered = this.#tryRecover(nowMs, block);
    this.#bound();
    return recovered;
  }

  /** Rebuilds the block's missing sources if it has enough shards (R-FEC-5, R-FEC-6). */
  #tryRecover(nowMs: number, block: BlockState): Uint8Array[] {
    const shards: (Uint8Array | undefined)[] = [];
    const numbers: number[] = [];
    let longest = 0;
    let missing = 0;
    for (let i = 0; i < block.lengths.length; i++) {
      const length = block.lengths[i]!;
      if (length === 0) continue;
      longest = Math.max(longest, length);
      const source = this.#sources.get(block.first + i);
      if (source !== undefined && source.bytes.length !== length) {
        // The repair describes a datagram other than the one that arrived: it cannot be trusted.
        this.stats.inconsistentRepairs++;
        this.#finish(block);
        return none;
      }
      if (source === undefined) missing++;
      shards.push(source?.bytes);
      numbers.push(block.first + i);
    }
    if (missing === 0) {
      this.#finish(block);
      return none;
    }
    if (missing > block.received) return none;
    const k = shards.length;
    for (let i = 0; i < k; i++) {
      const shard = shards[i];
      if (shard !== undefined && shard.length < longest) {
        const padded = new Uint8Array(longest);
        padded.set(shard);
        shards[i] = padded;
      }
    }
    for (const repair of block.repairs) shards.push(repair);
    let result: ReturnType<ReedSolomonCodec['reconstruct']>;
    try {
      result = this.#codec.reconstruct(shards, k);
    } catch {
      this.stats.codecErrors++;
      this.#finish(block);
      return none;
    }
    this.#finish(block);
    if (!result.ok) return none;
    const recovered: Uint8Array[] = [];
    for (const index of result.rebuilt) {
      if (index >= k) continue;
      const packetNumber = numbers[index]!;
      const bytes = result.data[index]!.slice(0, block.lengths[packetNumber - block.first]!);
      this.#store(packetNumber, bytes, nowMs);
      recovered.push(bytes);
    }
    this.stats.packetsRecovered += recovered.length;
    if (recovered.length > 0) this.stats.blocksRecovered++;
    this.#bound();
    return recovered;
  }

  /** Marks a block done and frees its shards; the entry stays to recognise late repairs. */
  #finish(block: BlockState): void {
    block.done = true;
    this.#pending.delete(block);
    this.#storedBytes -= block.bytes;
    block.bytes = 0;
    block.repairs = [];
  }

  #store(packetNumber: number, bytes: Uint8Array, nowMs: number): void {
    this.#sources.set(packetNumber, { bytes, atMs: nowMs });
    this.#storedBytes += bytes.length;
    while (this.#sources.size > this.#maxStoredSources) this.#evictOldestSource();
  }

  /** Evicts the oldest entries until the byte bound holds (R-FEC-8). */
  #bound(): void {
    while (this.#storedBytes > this.#maxStoredBytes) {
      if (this.#sources.size > 0) this.#evictOldestSource();
      else if (this.#blocks.size > 0) this.#evictOldestBlock();
      else break;
    }
  }

  /** Drops sources and blocks older than `maxAgeMs`. */
  #expire(nowMs: number): void {
    const horizon = nowMs - this.#maxAgeMs;
    for (const [, source] of this.#sources) {
      if (source.atMs >= horizon) break;
      this.#evictOldestSource();
    }
    for (const [, block] of this.#blocks) {
      if (block.createdMs >= horizon) break;
      this.#evictOldestBlock();
    }
  }

  #evictOldestSource(): void {
    const oldest = this.#sources.entries().next();
    if (oldest.done) return;
    this.#sources.delete(oldest.value[0]);
    this.#storedBytes -= oldest.value[1].bytes.length;
  }

  #evictOldestBlock(): void {
    const oldest = this.#blocks.values().next();
    if (oldest.done) return;
    const block = oldest.value;
    this.#blocks.delete(block.first);
    if (!block.done) {
      this.stats.blocksUnrecoverable++;
      this.#finish(block);
    }
  }
}

/**
 * Whether a repair packet describes the same block as the one already tracked: the same sources. Its Repair
 * Count may differ — extra repair (R-FEC-14) continues the code with more shards.
 */
function sameShape(block: BlockState, packet: RepairPacket): boolean {
  if (block.lengths.length !== packet.sourceLengths.length) return false;
  for (let i = 0; i < block.lengths.length; i++) {
    if (block.lengths[i] !== packet.sourceLengths[i]) return false;
  }
  return true;
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`${name} must be positive`);
  return value;
}
