import type { FecDecoder } from './fec-decoder.ts';
import {
  type FecBlockRequest,
  type FeedbackPacket,
  fecMaxFeedbackMissing,
  fecMaxFeedbackRequests,
} from './fec-feedback.ts';
import type { FecLossReport } from './fec-header.ts';

/** Timing of repair requests (spec §11.9, R-FEC-15). */
export interface RepairRequestOptions {
  /** Whether blocks and missing packets are asked for at all; without, only loss reports go out. Default true. */
  asks?: boolean;
  /**
   * How long after a block's first REPAIR packet (or after a later packet showed a gap) the receiver waits for
   * the rest of it before asking, ms: the path's delay spread. Default 20.
   */
  waitMs?: number;
  /** Each request goes out in this many FEEDBACK packets, against the loss of some. Default 3. */
  copies?: number;
  /** Time between the copies of a request, ms. Default 4. */
  copySpacingMs?: number;
  /** A request still unanswered is repeated after this multiple of the smoothed RTT. Default 1.25. */
  repeatRtts?: number;
  /** Most times one block or packet is asked for (each time in `copies` packets). Default 2. */
  maxAsks?: number;
  /** Blocks and gaps older than this are not asked for (their data is past any deadline), ms. Default 400. */
  maxAgeMs?: number;
  /** A FEEDBACK packet with only the loss report goes out this often while data arrives, ms. Default 250. */
  reportIntervalMs?: number;
  /**
   * Blocks whose sources are all shorter than this are not asked for, bytes (default 0: every block). A sender
   * may leave blocks of small packets (audio, with a deadline too short for a request round trip) to
   * retransmission; asking for them would be wasted.
   */
  minSourceBytes?: number;
}

/** Weight of each REPAIR packet in the moving share of sources in a block's span. */
const sourceShareWeight = 1 / 16;
/** Share of sources in the peer's block spans from which its missing packets are asked for. */
const protectedSourceShare = 0.5;

interface Asked {
  lastMs: number;
  /** Times asked. */
  asks: number;
  /** Copies of the current request still to send, and when the next is due. */
  copiesLeft: number;
  nextCopyMs: number;
}

/**
 * Receiver side of extra repair (spec §11.9, R-FEC-15): finds blocks the decoder cannot rebuild once their
 * shards should all have arrived, and packet numbers missing with no block known for them (every REPAIR packet
 * of theirs lost), and asks the sender for more shards in FEEDBACK packets, which also carry the loss report
 * (R-FEC-7). Each request goes out in a few copies; an unanswered one is repeated once per round trip. Sans-IO.
 */
export class RepairRequester {
  readonly #decoder: FecDecoder;
  readonly #waitMs: number;
  readonly #copySpacingMs: number;
  readonly #copies: number;
  readonly #maxAsks: number;
  readonly #repeatRtts: number;
  readonly #maxAgeMs: number;
  readonly #reportIntervalMs: number;
  readonly #minSourceBytes: number;
  readonly #asks: boolean;
  /** Missing packet numbers and when a later one arrived (insertion order is packet-number order). */
  readonly #gaps = new Map<number, number>();
  readonly #askedBlocks = new Map<number, Asked>();
  readonly #askedMissing = new Map<number, Asked>();
  #largest = -1;
  #smoothedRttMs = 100;
  #lastReportMs = Number.NEGATIVE_INFINITY;
  #lastPollMs = Number.NEGATIVE_INFINITY;
  #lastDataMs = Number.NEGATIVE_INFINITY;
  /** Moving share of a repaired block's span that is sources (weight 1/16 per REPAIR packet). */
  #sourceShare = 0;
  #dataSinceReport = false;
  /** Counters since creation. */
  readonly stats = { feedbackPackets: 0, blockRequests: 0, missingRequests: 0 };

  /** Creates the requester over `decoder`'s view of the blocks. */
  constructor(decoder: FecDecoder, options: RepairRequestOptions = {}) {
    this.#decoder = decoder;
    this.#waitMs = options.waitMs ?? 20;
    this.#copySpacingMs = options.copySpacingMs ?? 4;
    this.#copies = Math.max(1, Math.floor(options.copies ?? 3));
    this.#maxAsks = Math.max(1, Math.floor(options.maxAsks ?? 2));
    this.#repeatRtts = options.repeatRtts ?? 1.25;
    this.#maxAgeMs = options.maxAgeMs ?? 400;
    this.#reportIntervalMs = options.reportIntervalMs ?? 250;
    this.#minSourceBytes = options.minSourceBytes ?? 0;
    this.#asks = options.asks ?? true;
  }

  /** The connection's smoothed RTT, which paces repeated requests. */
  set smoothedRttMs(value: number) {
    if (value > 0) this.#smoothedRttMs = value;
  }

  /** A DATA packet arrived (before FEC recovery): fills its gap, or opens gaps below it. */
  onDataPacket(nowMs: number, packetNumber: number): void {
    this.#dataSinceReport = true;
    this.#lastDataMs = nowMs;
    if (packetNumber > this.#largest) {
      // Gaps are bounded: only the newest ones are worth asking for.
      const from = Math.max(this.#largest + 1, packetNumber - fecMaxFeedbackMissing);
      for (let pn = from; pn < packetNumber; pn++) this.#gaps.set(pn, nowMs);
      this.#largest = packetNumber;
      while (this.#gaps.size > 4 * fecMaxFeedbackMissing) this.#gaps.delete(this.#gaps.keys().next().value!);
    } else {
      this.#gaps.delete(packetNumber);
    }
  }

  /**
   * A REPAIR packet arrived for a block of `sourceCount` sources spanning `span` packet numbers. Missing packets
   * are asked for only while the peer's blocks are mostly sources: a peer whose packets are mostly unprotected
   * (ACKs, with a PING now and then that is a source) would otherwise be asked about every lost ACK.
   */
  onRepairPacket(sourceCount: number, span: number): void {
    if (!(span > 0)) return;
    this.#sourceShare += (Math.min(1, sourceCount / span) - this.#sourceShare) * sourceShareWeight;
  }

  /**
   * When a FEEDBACK packet may next be due (absolute ms), or undefined when nothing waits. Never earlier than
   * 1 ms after the last poll, so a driver can never spin on it, nor before the latest DATA arrival.
   */
  nextTimeout(): number | undefined {
    let t: number | undefined;
    const at = (x: number) => {
      if (t === undefined || x < t) t = x;
    };
    const horizon = this.#lastPollMs - this.#maxAgeMs;
    if (!this.#asks) {
      return this.#dataSinceReport
        ? Math.max(this.#lastReportMs + this.#reportIntervalMs, this.#lastPollMs + 1, this.#lastDataMs)
        : undefined;
    }
    if (this.#dataSinceReport) at(this.#lastReportMs + this.#reportIntervalMs);
    for (const map of [this.#askedBlocks, this.#askedMissing]) {
      for (const asked of map.values()) if (asked.copiesLeft > 0) at(asked.nextCopyMs);
    }
    for (const block of this.#decoder.incompleteBlocks()) {
      if (block.firstSeenMs < horizon || block.longestSourceBytes < this.#minSourceBytes) continue;
      const asked = this.#askedBlocks.get(block.firstSourcePacketNumber);
      if (asked === undefined) at(block.firstSeenMs + this.#waitMs);
      else if (asked.asks < this.#maxAsks) at(asked.lastMs + this.#repeatMs());
    }
    let looked = this.#protectedPeer() ? 0 : fecMaxFeedbackMissing;
    for (const [pn, since] of this.#gaps) {
      if (++looked > fecMaxFeedbackMissing) break;
      const asked = this.#askedMissing.get(pn);
      if (asked === undefined) at(since + this.#waitMs);
      else if (asked.asks < this.#maxAsks) at(asked.lastMs + this.#repeatMs());
    }
    // Finite even before the first poll (then anything due is due at the latest arrival).
    return t === undefined ? undefined : Math.max(t, this.#lastPollMs + 1, this.#lastDataMs);
  }

  /** The FEEDBACK packet due at `nowMs`, or undefined. */
  poll(
    nowMs: number,
    connectionId: Uint8Array,
    lossReport: FecLossReport | undefined,
  ): FeedbackPacket | undefined {
    this.#lastPollMs = nowMs;
    this.#expire(nowMs);
    const requests: FecBlockRequest[] = [];
    const incomplete = new Set<number>();
    for (const block of this.#asks ? this.#decoder.incompleteBlocks() : []) {
      incomplete.add(block.firstSourcePacketNumber);
      if (requests.length >= fecMaxFeedbackRequests || block.longestSourceBytes < this.#minSourceBytes)
        continue;
      if (nowMs - block.firstSeenMs > this.#maxAgeMs || nowMs < block.firstSeenMs + this.#waitMs) continue;
      if (this.#due(nowMs, this.#askedBlocks, block.firstSourcePacketNumber)) {
        requests.push({ firstSourcePacketNumber: block.firstSourcePacketNumber, needed: block.needed });
      }
    }
    // Copies of asks already satisfied (block rebuilt, gap filled) are not sent, and do not wake the driver.
    for (const [first, a] of this.#askedBlocks) if (!incomplete.has(first)) a.copiesLeft = 0;
    for (const [pn, a] of this.#askedMissing) if (!this.#gaps.has(pn)) a.copiesLeft = 0;
    const missing: number[] = [];
    if (!this.#asks || !this.#protectedPeer()) this.#gaps.clear();
    for (const [pn, since] of this.#gaps) {
      if (missing.length >= fecMaxFeedbackMissing || nowMs < since + this.#waitMs) break;
      if (this.#decoder.holds(pn) || this.#decoder.knowsBlockOf(pn)) {
        this.#gaps.delete(pn); // rebuilt, or its block is known and asked for as a block
        continue;
      }
      if (this.#due(nowMs, this.#askedMissing, pn)) missing.push(pn);
    }
    const reportDue = this.#dataSinceReport && nowMs >= this.#lastReportMs + this.#reportIntervalMs;
    if (requests.length === 0 && missing.length === 0 && !reportDue) return undefined;
    this.#lastReportMs = nowMs;
    this.#dataSinceReport = false;
    this.stats.feedbackPackets++;
    return {
      connectionId,
      // A block known only from its repairs may start above every DATA packet received.
      referencePacketNumber: requests.reduce(
        (m, r) => Math.max(m, r.firstSourcePacketNumber),
        Math.max(this.#largest, 0),
      ),
      lossReport,
      requests,
      missing,
    };
  }

  /** Whether a request for `key` goes in this packet (a new one, its second copy, or a repeat). */
  #due(nowMs: number, asked: Map<number, Asked>, key: number): boolean {
    const a = asked.get(key);
    if (a === undefined || (a.asks < this.#maxAsks && nowMs >= a.lastMs + this.#repeatMs())) {
      const asks = (a?.asks ?? 0) + 1;
      if (a) asked.delete(key); // re-inserted last, so the map stays in order of last ask
      asked.set(key, {
        lastMs: nowMs,
        asks,
        copiesLeft: this.#copies - 1,
        nextCopyMs: nowMs + this.#copySpacingMs,
      });
      if (asked === this.#askedBlocks) this.stats.blockRequests++;
      else this.stats.missingRequests++;
      return true;
    }
    if (a.copiesLeft > 0 && nowMs >= a.nextCopyMs) {
      a.copiesLeft--;
      a.nextCopyMs = nowMs + this.#copySpacingMs;
      return true;
    }
    return false;
  }

  /** Whether the peer protects most of its packets (see {@link onRepairPacket}). */
  #protectedPeer(): boolean {
    return this.#sourceShare >= protectedSourceShare;
  }

  #repeatMs(): number {
    return this.#repeatRtts * this.#smoothedRttMs;
  }

  #expire(nowMs: number): void {
    for (const [pn, since] of this.#gaps) {
      if (nowMs - since <= this.#maxAgeMs) break;
      this.#gaps.delete(pn);
    }
    for (const map of [this.#askedBlocks, this.#askedMissing]) {
      for (const [key, a] of map) {
        if (nowMs - a.lastMs <= this.#maxAgeMs) break;
        map.delete(key);
      }
    }
  }
}
