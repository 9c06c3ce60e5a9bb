import type { ConnectionStats } from '../protocol/connection.ts';
import type { ConnectionConfig } from '../protocol/connection-config.ts';
import { defaultConnectionConfig } from '../protocol/connection-config.ts';
import type { TraceEventName, TraceSink } from '../protocol/trace.ts';
import { decodeFrames, decodeHeader, isAckEliciting, PacketType } from '../protocol/wire/index.ts';
import { FecDecoder, type FecDecoderOptions, type FecDecoderStats } from './fec-decoder.ts';
import { FecEncoder, type FecEncoderStats } from './fec-encoder.ts';
import { ExtraRepair, type ExtraRepairOptions } from './fec-extra-repair.ts';
import { decodeFeedbackPacket, encodeFeedbackPacket } from './fec-feedback.ts';
import { decodeRepairPacket } from './fec-header.ts';
import { FecLossEstimator } from './fec-loss-estimator.ts';
import { RepairRequester, type RepairRequestOptions } from './fec-repair-requests.ts';
import {
  type FecClass,
  type FecClassPolicy,
  fecClassPolicies,
  RedundancyController,
} from './redundancy-controller.ts';

/** One bit per class, so a block's sources can carry the union of their classes. */
const classBits: Readonly<Record<FecClass, number>> = { bulk: 1, interactive: 2, media: 4 };
const fecClassNames: readonly FecClass[] = ['bulk', 'interactive', 'media'];

import { ReedSolomonCodec } from './reed-solomon.ts';

/** Settings of the FEC layer of one connection (spec §11). Everything is optional. */
export interface FecOptions {
  /** Reliability class, which sets the residual-loss target and overhead cap (R-FEC-9). Default `interactive`. */
  fecClass?: FecClass;
  /** Overrides of the class policy (the application's override, R-FEC-9). */
  policy?: Partial<FecClassPolicy>;
  /**
   * Per-channel policy (R-FEC-12): the class of a channel's packets; undefined for a channel keeps `fecClass`.
   * A packet takes the classes of the channels whose MESSAGE frames it carries; one carrying only `bulk`
   * channels is not protected; a block's parity is the most any of its sources' classes asks for.
   */
  channelClass?: (channelId: number, connectionId: Uint8Array) => FecClass | undefined;
  /** Overrides of other classes' policies, for `channelClass` (the default class takes `policy`). */
  classPolicies?: Partial<Record<FecClass, Partial<FecClassPolicy>>>;
  /** Most sources per block (R-FEC-4). Default 16. */
  maxBlockSources?: number;
  /** Longest a block waits for more sources before its repair goes out, ms (R-FEC-4). Default 5. */
  maxBlockDelayMs?: number;
  /**
   * Bytes a REPAIR packet needs beyond its longest source (headers); the connection's datagrams are made this
   * much smaller so repair packets fit the path's datagram size (R-FEC-4). Default 48.
   */
  reserveBytes?: number;
  /**
   * Whether ACK-only packets are sources too (R-FEC-1). A lost ACK delays loss detection by the time until the
   * next one, so protecting them shortens the tail; they are small, so they add shards but not shard bytes.
   * Default true.
   */
  protectAckOnly?: boolean;
  /** Bounds of the decoder (R-FEC-8). */
  decoder?: FecDecoderOptions;
  /** Receives the layer's `fec:*` trace events (spec §15); none by default. */
  trace?: TraceSink;
  /**
   * Extra repair (spec §11.9, R-FEC-14, R-FEC-15): the receiving side asks in FEEDBACK packets for more shards of
   * blocks it cannot rebuild, and the sending side keeps its blocks a while and answers with more parity of the
   * same code. Pair it with the connection's `deadlineRetransmit: false` (R-PR-8). Off by default.
   */
  extraRepair?: FecExtraRepairOptions;
}

/** Settings of extra repair: how long blocks are kept, how strong a burst is, and when requests go out. */
export interface FecExtraRepairOptions extends ExtraRepairOptions {
  /** Timing of the receiving side's requests. */
  requests?: RepairRequestOptions;
  /** Chance a burst delivers too few shards that its size aims for. Default 0.01. */
  targetFailure?: number;
  /** Most shards in one burst, as a multiple of the sources lost (at least one more than them). Default 4. */
  maxBurstRatio?: number;
  /**
   * Classes whose blocks get extra repair: a block is answered when one of its sources is of one of them, so
   * channels that retransmit (e.g. audio with a short deadline) can be left out. Default: every class.
   */
  classes?: readonly FecClass[];
}

/** Counters of one connection's FEC layer (both directions). */
export interface FecStats {
  /** Sender: source packets put in blocks. */
  sourcePackets: number;
  /** Sender: blocks closed. */
  blocks: number;
  /** Sender: REPAIR packets sent (parity shards). */
  paritySent: number;
  /** Sender: bytes of REPAIR packets sent. */
  parityBytesSent: number;
  /** Receiver: REPAIR packets received and decoded. */
  repairsReceived: number;
  /** Receiver: REPAIR datagrams dropped as malformed. */
  malformedRepairs: number;
  /** Receiver: source packets rebuilt and handed to the connection. */
  packetsRecovered: number;
  /** Receiver: blocks given up with sources missing. */
  blocksUnrecoverable: number;
  /** Receiver: FEEDBACK packets sent (R-FEC-15). */
  feedbackSent: number;
  /** Receiver of FEEDBACK: packets dropped as malformed (R-FEC-15). */
  malformedFeedback: number;
  /** Sender: extra REPAIR packets sent at the peer's request (R-FEC-14), also counted in `paritySent`. */
  extraParitySent: number;
}

/** Default bytes kept free in the connection's datagrams for the REPAIR packet's headers. */
export const fecDefaultReserveBytes = 48;
/** Default longest wait of a block for more sources, ms: short, so thin streams get repair at once (R-FEC-4). */
export const fecDefaultBlockDelayMs = 5;

/**
 * The connection tunables to use under a FEC layer (spec §11.7, R-FEC-11): `maxDatagramBytes` lowered by the
 * repair reserve, so a REPAIR packet over full-size sources still fits the path's datagram size; and, unless
 * `config` sets it, the connection's own redundant copies (R-LOSS-8) limited to small fragments, whose copies
 * ride in spare room — FEC protects large fragments at a fraction of the cost of copying them.
 */
export function withFecReserve(
  config: Partial<ConnectionConfig> | undefined,
  options: FecOptions = {},
): Partial<ConnectionConfig> {
  const c = { ...defaultConnectionConfig, ...config };
  return {
    redundancyMaxFragmentBytes: Math.min(c.redundancyMaxFragmentBytes, c.redundancySmallFragmentBytes),
    ...config,
    maxDatagramBytes: c.maxDatagramBytes - (options.reserveBytes ?? fecDefaultReserveBytes),
  };
}

/**
 * The FEC layer of one connection (spec §11), between the connection and the network: outgoing ack-eliciting
 * DATA packets are sources for the {@link FecEncoder}; incoming DATA packets are stored by the
 * {@link FecDecoder} and incoming REPAIR packets rebuild lost ones, which are handed to the connection as if they
 * had arrived (R-FEC-6). Parity per block comes from the {@link RedundancyController}, fed by the peer's loss
 * reports and the connection's ACK feedback. Sans-IO.
 */
export class FecSession {
  readonly #encoder: FecEncoder;
  readonly #decoder: FecDecoder;
  readonly #controller: RedundancyController;
  readonly #estimator = new FecLossEstimator();
  readonly #protectAckOnly: boolean;
  readonly #channelClass: ((channelId: number, connectionId: Uint8Array) => FecClass | undefined) | undefined;
  readonly #connectionId: Uint8Array;
  readonly #defaultClass: FecClass;
  readonly #policies: Record<FecClass, FecClassPolicy>;
  readonly #trace: TraceSink | undefined;
  readonly #extra: ExtraRepair | undefined;
  readonly #requester: RepairRequester;
  /** Extra REPAIR packets waiting to go out. */
  readonly #extraOut: Uint8Array[] = [];
  #malformedFeedback = 0;
  #lastSent = 0;
  #lastLost = 0;
  #lastSpurious = 0;

  /** Creates the layer for the connection whose packets carry `connectionId`; `maxDatagramBytes` is the path's. */
  constructor(connectionId: Uint8Array, maxDatagramBytes: number, options: FecOptions = {}) {
    const codec = new ReedSolomonCodec();
    this.#protectAckOnly = options.protectAckOnly ?? true;
    this.#channelClass = options.channelClass;
    this.#connectionId = connectionId.slice();
    this.#defaultClass = options.fecClass ?? 'interactive';
    const policyOf = (c: FecClass): FecClassPolicy => ({
      ...fecClassPolicies[c],
      ...(c === this.#defaultClass ? options.policy : undefined),
      ...options.classPolicies?.[c],
    });
    this.#policies = {
      interactive: policyOf('interactive'),
      media: policyOf('media'),
      bulk: policyOf('bulk'),
    };
    this.#trace = options.trace;
    this.#controller = new RedundancyController({ fecClass: options.fecClass, policy: options.policy });
    const extra = options.extraRepair;
    if (extra !== undefined) {
      const targetFailure = extra.targetFailure ?? 0.01;
      const ratio = extra.maxBurstRatio ?? 4;
      let classMask = 0;
      for (const c of extra.classes ?? fecClassNames) classMask |= classBits[c];
      this.#extra = new ExtraRepair(
        extra,
        connectionId.slice(),
        codec,
        (needed, nowMs, tags) =>
          (tags & classMask) === 0
            ? 0
            : this.#controller.extraParityFor(
                nowMs,
                needed,
                targetFailure,
                Math.max(needed + 1, Math.ceil(ratio * needed)),
              ),
        () => this.#estimator.report(),
      );
    }
    this.#encoder = new FecEncoder({
      connectionId: connectionId.slice(),
      maxRepairBytes: maxDatagramBytes,
      maxBlockSources: options.maxBlockSources,
      maxBlockDelayMs: options.maxBlockDelayMs ?? fecDefaultBlockDelayMs,
      parityFor: (k, nowMs, tags) => this.#parityFor(nowMs, k, tags),
      lossReport: () => this.#estimator.report(),
      codec,
      extraRepair: this.#extra,
    });
    this.#decoder = new FecDecoder({ ...options.decoder, codec });
    // Every receiver reports its loss in FEEDBACK packets (R-FEC-15); it asks for repair only with extra repair.
    this.#requester = new RepairRequester(
      this.#decoder,
      extra !== undefined ? extra.requests : { asks: false },
    );
  }

  /** The redundancy controller (its estimate, for stats and tests). */
  get controller(): RedundancyController {
    return this.#controller;
  }

  /** Counters of both directions. */
  get stats(): FecStats {
    const e: FecEncoderStats = this.#encoder.stats;
    const d: FecDecoderStats = this.#decoder.stats;
    const x = this.#extra?.stats;
    return {
      sourcePackets: e.sourcePackets,
      blocks: e.blocks,
      paritySent: e.repairPackets + (x?.repairPackets ?? 0),
      parityBytesSent: e.repairBytes + (x?.repairBytes ?? 0),
      extraParitySent: x?.repairPackets ?? 0,
      repairsReceived: d.repairPackets,
      malformedRepairs: d.malformedRepairs,
      packetsRecovered: d.packetsRecovered,
      blocksUnrecoverable: d.blocksUnrecoverable,
      feedbackSent: this.#requester.stats.feedbackPackets,
      malformedFeedback: this.#malformedFeedback,
    };
  }

  /** The decoder's holdings, for memory-bound checks. */
  get held(): { sources: number; blocks: number; bytes: number } {
    return this.#decoder.held;
  }

  /** A datagram the connection is sending: ack-eliciting DATA packets become sources (R-FEC-1). */
  onTransmit(nowMs: number, bytes: Uint8Array): void {
    const decoded = decodeHeader(bytes);
    if (!decoded.ok || decoded.value.header.type !== PacketType.data) return;
    let tags = classBits[this.#defaultClass];
    if (!this.#protectAckOnly || this.#channelClass) {
      const frames = decodeFrames(bytes, decoded.value.bodyOffset);
      if (!frames.ok) return;
      // A PING makes a packet ack-eliciting, but losing it costs nothing: ACK+PING packets count as ACK-only.
      if (!this.#protectAckOnly && !frames.value.some((f) => isAckEliciting(f) && f.type !== 'ping')) return;
      const classOf = this.#channelClass;
      if (classOf) {
        let carried = 0;
        for (const frame of frames.value) {
          if (frame.type === 'message') {
            carried |= classBits[classOf(frame.channelId, this.#connectionId) ?? this.#defaultClass];
          }
        }
        if (carried === classBits.bulk) return; // R-FEC-12: bulk data is repaired by retransmission alone
        if (carried !== 0) tags = carried;
      }
    }
    this.#encoder.onSourcePacket(nowMs, decoded.value.header.packetNumber, bytes, tags);
  }

  /** The most parity any class among a block's sources asks for (R-FEC-12). */
  #parityFor(nowMs: number, k: number, tags: number): number {
    let m = 0;
    for (const c of fecClassNames) {
      if ((tags & classBits[c]) !== 0)
        m = Math.max(m, this.#controller.parityFor(nowMs, k, this.#policies[c]));
    }
    return m;
  }

  /** The connection's smoothed RTT, which paces repeated repair requests (R-FEC-15). */
  onRtt(smoothedRttMs: number): void {
    this.#requester.smoothedRttMs = smoothedRttMs;
  }

  /** The next REPAIR datagram due, or undefined (R-FEC-4). */
  pollRepair(nowMs: number): Uint8Array | undefined {
    const repair = this.#encoder.pollRepair(nowMs) ?? this.#extraOut.shift() ?? this.#pollFeedback(nowMs);
    if (repair !== undefined && this.#trace) this.#traceRepair(nowMs, 'fec:repair_sent', repair, this.#trace);
    return repair;
  }

  /** When a block's repair or a FEEDBACK packet falls due (absolute ms), or undefined. */
  nextTimeout(): number | undefined {
    if (this.#extraOut.length > 0) return 0; // due now
    const own = this.#encoder.nextTimeout();
    const feedback = this.#requester.nextTimeout();
    return feedback === undefined || (own !== undefined && own < feedback) ? own : feedback;
  }

  /** The FEEDBACK packet due, encoded, or undefined (R-FEC-15). */
  #pollFeedback(nowMs: number): Uint8Array | undefined {
    const packet = this.#requester.poll(nowMs, this.#connectionId, this.#estimator.report());
    if (packet === undefined) return undefined;
    const bytes = encodeFeedbackPacket(packet);
    this.#trace?.event(nowMs, 'fec:feedback_sent', {
      raw: { length: bytes.length },
      request_count: packet.requests.length,
      missing_count: packet.missing.length,
    });
    return bytes;
  }

  /** A FEEDBACK packet from the peer: its loss report, and bursts of extra repair for what it asks (R-FEC-15). */
  #onFeedback(nowMs: number, bytes: Uint8Array): void {
    const feedback = decodeFeedbackPacket(bytes);
    if (!feedback.ok) {
      this.#malformedFeedback++;
      return;
    }
    const f = feedback.value;
    this.#trace?.event(nowMs, 'fec:feedback_received', {
      raw: { length: bytes.length },
      request_count: f.requests.length,
      missing_count: f.missing.length,
    });
    if (f.lossReport !== undefined) this.#controller.onPeerReport(nowMs, f.lossReport);
    const extra = this.#extra;
    if (!extra) return;
    for (const r of f.requests)
      extra.onBlockRequest(nowMs, r.firstSourcePacketNumber, r.needed, this.#extraOut);
    if (f.missing.length > 0) extra.onMissing(nowMs, f.missing, this.#extraOut);
  }

  /**
   * A datagram that arrived for the connection. Returns what to hand to the connection, in order: a DATA packet
   * itself followed by any datagrams it completed, the datagrams a REPAIR packet rebuilt (R-FEC-6), other packet
   * types unchanged. Never throws on peer input; a malformed REPAIR packet is dropped and counted (R-FEC-3).
   */
  onReceive(nowMs: number, bytes: Uint8Array): Uint8Array[] {
    const trace = this.#trace;
    if (!trace) return this.#receive(nowMs, bytes);
    const unrecoverableBefore = this.#decoder.stats.blocksUnrecoverable;
    const out = this.#receive(nowMs, bytes);
    this.#traceRepair(nowMs, 'fec:repair_received', bytes, trace);
    for (const datagram of out) {
      if (datagram === bytes) continue;
      const header = decodeHeader(datagram);
      if (!header.ok) continue;
      trace.event(nowMs, 'fec:packet_recovered', {
        header: { packet_type: 'data', packet_number: header.value.header.packetNumber },
        raw: { length: datagram.length },
      });
    }
    const count = this.#decoder.stats.blocksUnrecoverable - unrecoverableBefore;
    if (count > 0) trace.event(nowMs, 'fec:block_unrecoverable', { count });
    return out;
  }

  /** Traces a well-formed REPAIR packet (anything else is ignored). */
  #traceRepair(
    nowMs: number,
    name: TraceEventName & `fec:repair_${string}`,
    bytes: Uint8Array,
    trace: TraceSink,
  ): void {
    const repair = decodeRepairPacket(bytes);
    if (!repair.ok) return;
    const r = repair.value;
    trace.event(nowMs, name, {
      header: { packet_type: 'fec_repair', packet_number: r.firstSourcePacketNumber },
      raw: { length: bytes.length },
      source_count: r.sourceLengths.reduce((k, length) => k + (length > 0 ? 1 : 0), 0),
      repair_count: r.repairCount,
      repair_index: r.repairIndex,
    });
  }

  #receive(nowMs: number, bytes: Uint8Array): Uint8Array[] {
    const decoded = decodeHeader(bytes);
    if (!decoded.ok) return [bytes];
    const header = decoded.value.header;
    if (header.type === PacketType.fecRepair) {
      if (bytes[decoded.value.bodyOffset] === 0) {
        // Span 0: a FEEDBACK packet (R-FEC-15), not a repair shard.
        this.#onFeedback(nowMs, bytes);
        return [];
      }
      const repair = decodeRepairPacket(bytes);
      if (!repair.ok) {
        this.#decoder.stats.malformedRepairs++;
        return [];
      }
      const lengths = repair.value.sourceLengths;
      this.#requester.onRepairPacket(
        lengths.reduce((k, l) => k + (l > 0 ? 1 : 0), 0),
        lengths.length,
      );
      if (repair.value.lossReport !== undefined)
        this.#controller.onPeerReport(nowMs, repair.value.lossReport);
      return this.#decoder.onRepair(nowMs, repair.value);
    }
    if (header.type !== PacketType.data) return [bytes];
    this.#estimator.onPacketNumber(header.packetNumber);
    this.#requester.onDataPacket(nowMs, header.packetNumber);
    const recovered = this.#decoder.onSourcePacket(nowMs, header.packetNumber, bytes);
    return recovered.length === 0 ? [bytes] : [bytes, ...recovered];
  }

  /** ACK feedback from the connection's counters (deltas since the last call) for the controller (R-FEC-10). */
  onConnectionStats(stats: Readonly<ConnectionStats>): void {
    const sent = stats.packetsSent - this.#lastSent;
    const lost = stats.lostPackets - this.#lastLost - (stats.spuriousLosses - this.#lastSpurious);
    if (sent < 32) return;
    this.#lastSent = stats.packetsSent;
    this.#lastLost = stats.lostPackets;
    this.#lastSpurious = stats.spuriousLosses;
    this.#controller.onAckFeedback(sent, lost);
  }
}
