import {
  decodeHeader,
  encodeHeader,
  headerLength,
  PacketType,
  varintLength,
  WireEncodeError,
  WireReader,
  writeBytes,
  writeVarint,
} from '../protocol/wire/index.ts';

/** Most shards (sources + repairs) in one block: the GF(2^8) limit of Reed-Solomon (spec §11.2, R-FEC-2). */
export const fecMaxBlockShards = 256;
/** Most packet numbers one block spans, sources and skipped packets together (spec §11.2, R-FEC-2). */
export const fecMaxBlockSpan = 256;
/** Largest source datagram a block may hold, bytes (spec §11.2, R-FEC-2). */
export const fecMaxSourceBytes = 65_536;
/** `lossPermyriad` of a loss report means this many parts: 10000 = every shard lost (R-FEC-7). */
export const fecLossReportScale = 10_000;

/** What a REPAIR packet tells the peer about the loss it sees on the other direction (spec §11.4, R-FEC-7). */
export interface FecLossReport {
  /** Fraction of shards lost on the path towards the reporter, in 1/10000 (0..10000). */
  lossPermyriad: number;
  /** Mean length of a run of lost shards, in tenths of a shard (10 = single losses, at most 16383). */
  meanBurstTenths: number;
}

/** Whether `report` is within R-FEC-7's ranges (loss 0..10000 permyriad, burst 10..16383 tenths). */
export function isValidLossReport(report: FecLossReport): boolean {
  return (
    Number.isInteger(report.lossPermyriad) &&
    Number.isInteger(report.meanBurstTenths) &&
    report.lossPermyriad >= 0 &&
    report.lossPermyriad <= fecLossReportScale &&
    report.meanBurstTenths >= 10 &&
    report.meanBurstTenths <= 16_383
  );
}

/**
 * Reads a loss report's two varints (R-FEC-7; both 0 = none). Returns the report (undefined for none),
 * `'wire'` when the reader failed, or `'invalid'` when the values are out of range.
 */
export function readLossReport(reader: WireReader): FecLossReport | undefined | 'wire' | 'invalid' {
  const lossPermyriad = reader.varint();
  if (lossPermyriad < 0) return 'wire';
  const meanBurstTenths = reader.varint();
  if (meanBurstTenths < 0) return 'wire';
  if (meanBurstTenths === 0) return lossPermyriad === 0 ? undefined : 'invalid';
  const report = { lossPermyriad, meanBurstTenths };
  return isValidLossReport(report) ? report : 'invalid';
}

/** A FEC_REPAIR packet (spec §11.3): one Reed-Solomon parity shard over a block of source datagrams. */
export interface RepairPacket {
  /** Connection id of the packet header (R-WIRE-7), as in the block's source packets. */
  connectionId: Uint8Array;
  /** Packet number of the block's first source packet; carried in the header's Packet Number field. */
  firstSourcePacketNumber: number;
  /** Repair packets sent for the block, m ≥ 1; k + m ≤ 256 where k counts the non-zero `sourceLengths`. */
  repairCount: number;
  /** Which repair shard this is, 0..m−1 (shard index k + `repairIndex` of the block). */
  repairIndex: number;
  /** The sender's view of its receive path, or undefined when it has none yet (R-FEC-7). */
  lossReport: FecLossReport | undefined;
  /**
   * One entry per packet number the block spans (1..256 entries, from `firstSourcePacketNumber` on): the byte
   * length of that source datagram, 1..65536, or 0 for a packet that is not in the block. The first and last
   * entries are non-zero; the non-zero entries are the block's k sources, in packet-number order.
   */
  sourceLengths: readonly number[];
  /** The parity shard: exactly max(`sourceLengths`) bytes. A view of the packet when decoded. */
  parity: Uint8Array;
}

/**
 * Why bytes are not a valid REPAIR packet (spec §11.3, R-FEC-3):
 * - `truncated`, `non-minimal-varint`, `value-too-large`, `reserved-bits`: as for any packet (§2–§3);
 * - `not-repair`: the packet type is not FEC_REPAIR;
 * - `invalid-counts`: the span is 0 or above 256, m is 0, k + m > 256, or the span passes packet number 2^53−1;
 * - `invalid-index`: the repair index is not below m;
 * - `invalid-length`: a source length above 65536, or a first or last length of 0;
 * - `invalid-report`: a loss report out of range (loss above 10000, burst below 10, or a loss with no burst);
 * - `parity-length`: the parity is not exactly as long as the longest source.
 */
export type FecHeaderErrorReason =
  | 'truncated'
  | 'non-minimal-varint'
  | 'value-too-large'
  | 'reserved-bits'
  | 'not-repair'
  | 'invalid-counts'
  | 'invalid-index'
  | 'invalid-length'
  | 'invalid-report'
  | 'parity-length';

/** A malformed REPAIR packet: returned, never thrown (design.md rule 4); no stack trace per garbage datagram. */
export class FecHeaderError {
  /** The rule the bytes break. */
  readonly reason: FecHeaderErrorReason;
  /** Byte offset of the field where decoding failed. */
  readonly offset: number;

  /** Creates the error for `reason` at byte `offset`. */
  constructor(reason: FecHeaderErrorReason, offset: number) {
    this.reason = reason;
    this.offset = offset;
  }

  /** A one-line description for logs. */
  toString(): string {
    return `malformed repair packet: ${this.reason} at byte ${this.offset}`;
  }
}

/** The outcome of decoding a REPAIR packet: the packet, or why it is malformed. */
export type RepairDecodeResult = { ok: true; value: RepairPacket } | { ok: false; error: FecHeaderError };

function failure(reason: FecHeaderErrorReason, offset: number): { ok: false; error: FecHeaderError } {
  return { ok: false, error: new FecHeaderError(reason, offset) };
}

/** Throws {@link WireEncodeError} unless `packet` satisfies R-FEC-3; returns the longest source length. */
function checkRepair(packet: RepairPacket): number {
  const { repairCount: m, repairIndex, sourceLengths } = packet;
  const bad = (message: string): never => {
    throw new WireEncodeError('invalid-header', `repair packet: ${message}`);
  };
  const span = sourceLengths.length;
  if (span < 1 || span > fecMaxBlockSpan) bad(`span ${span} not in 1..${fecMaxBlockSpan}`);
  const first = packet.firstSourcePacketNumber;
  // Compared without adding, which could round past 2^53 − 1.
  if (!Number.isSafeInteger(first) || first < 0 || first > Number.MAX_SAFE_INTEGER - (span - 1)) {
    bad(`first source packet number ${packet.firstSourcePacketNumber} out of range`);
  }
  let longest = 0;
  let k = 0;
  for (const length of sourceLengths) {
    if (!Number.isInteger(length) || length < 0 || length > fecMaxSourceBytes) bad(`source length ${length}`);
    if (length > 0) k++;
    longest = Math.max(longest, length);
  }
  if (sourceLengths[0] === 0 || sourceLengths[span - 1] === 0)
    bad('first and last source lengths must be > 0');
  if (!Number.isInteger(m) || m < 1 || k + m > fecMaxBlockShards)
    bad(`need m ≥ 1, k + m ≤ 256; got k=${k} m=${m}`);
  if (!Number.isInteger(repairIndex) || repairIndex < 0 || repairIndex >= m)
    bad(`repair index ${repairIndex}`);
  if (packet.parity.length !== longest)
    bad(`parity of ${packet.parity.length} bytes, longest source ${longest}`);
  const report = packet.lossReport;
  if (report !== undefined && !isValidLossReport(report)) bad(`loss report ${JSON.stringify(report)}`);
  return longest;
}

/** Encoded size in bytes of a REPAIR packet (spec §11.3). Throws {@link WireEncodeError} if it is invalid. */
export function repairPacketLength(packet: RepairPacket): number {
  checkRepair(packet);
  return repairHeaderLength(packet) + packet.parity.length;
}

/** Bytes in front of the parity: packet header and FEC header. */
function repairHeaderLength(packet: RepairPacket): number {
  let length = headerLength({
    type: PacketType.fecRepair,
    connectionId: packet.connectionId,
    keyPhase: false,
    packetNumber: packet.firstSourcePacketNumber,
  });
  length += varintLength(packet.sourceLengths.length) + varintLength(packet.repairCount);
  length += varintLength(packet.repairIndex);
  length += packet.lossReport === undefined ? 2 : varintLength(packet.lossReport.lossPermyriad);
  length += packet.lossReport === undefined ? 0 : varintLength(packet.lossReport.meanBurstTenths);
  for (const sourceLength of packet.sourceLengths) length += varintLength(sourceLength);
  return length;
}

/**
 * Encodes `packet` into `buf` at `offset` and returns the offset after it (spec §11.3). Throws
 * {@link WireEncodeError} if the packet breaks R-FEC-3 or `buf` is too small.
 */
export function encodeRepairPacket(packet: RepairPacket, buf: Uint8Array, offset: number): number {
  checkRepair(packet);
  let at = encodeHeader(
    {
      type: PacketType.fecRepair,
      connectionId: packet.connectionId,
      keyPhase: false,
      packetNumber: packet.firstSourcePacketNumber,
    },
    buf,
    offset,
  );
  at = writeVarint(buf, at, packet.sourceLengths.length);
  at = writeVarint(buf, at, packet.repairCount);
  at = writeVarint(buf, at, packet.repairIndex);
  at = writeVarint(buf, at, packet.lossReport?.lossPermyriad ?? 0);
  at = writeVarint(buf, at, packet.lossReport?.meanBurstTenths ?? 0);
  for (const sourceLength of packet.sourceLengths) at = writeVarint(buf, at, sourceLength);
  return writeBytes(buf, at, packet.parity);
}

/**
 * Decodes a whole REPAIR datagram (spec §11.3). Never throws: malformed bytes give a typed
 * {@link FecHeaderError} (R-FEC-3). The connection id and parity of the result are views of `bytes`.
 */
export function decodeRepairPacket(bytes: Uint8Array): RepairDecodeResult {
  const decoded = decodeHeader(bytes);
  if (!decoded.ok) return failure(decoded.error.reason as FecHeaderErrorReason, decoded.error.offset);
  const { header, bodyOffset } = decoded.value;
  if (header.type !== PacketType.fecRepair) return failure('not-repair', 0);
  const reader = new WireReader(bytes, bodyOffset);
  const varint = (): number => reader.varint();
  const wireFailure = () => failure(reader.error!.reason as FecHeaderErrorReason, reader.error!.offset);

  const countsAt = reader.offset;
  const span = varint();
  if (span < 0) return wireFailure();
  const m = varint();
  if (m < 0) return wireFailure();
  if (span < 1 || span > fecMaxBlockSpan || m < 1 || m >= fecMaxBlockShards) {
    return failure('invalid-counts', countsAt);
  }
  if (header.packetNumber > Number.MAX_SAFE_INTEGER - (span - 1)) return failure('invalid-counts', countsAt);
  const indexAt = reader.offset;
  const repairIndex = varint();
  if (repairIndex < 0) return wireFailure();
  if (repairIndex >= m) return failure('invalid-index', indexAt);
  const reportAt = reader.offset;
  const lossReport = readLossReport(reader);
  if (lossReport === 'wire') return wireFailure();
  if (lossReport === 'invalid') return failure('invalid-report', reportAt);
  const sourceLengths: number[] = [];
  let longest = 0;
  let k = 0;
  for (let i = 0; i < span; i++) {
    const lengthAt = reader.offset;
    const length = varint();
    if (length < 0) return wireFailure();
    if (length > fecMaxSourceBytes || (length === 0 && (i === 0 || i === span - 1))) {
      return failure('invalid-length', lengthAt);
    }
    sourceLengths.push(length);
    if (length > 0) k++;
    if (length > longest) longest = length;
  }
  if (k + m > fecMaxBlockShards) return failure('invalid-counts', countsAt);
  if (reader.remaining !== longest) return failure('parity-length', reader.offset);
  return {
    ok: true,
    value: {
      connectionId: header.connectionId,
      firstSourcePacketNumber: header.packetNumber,
      repairCount: m,
      repairIndex,
      lossReport,
      sourceLengths,
      parity: bytes.subarray(reader.offset),
    },
  };
}
