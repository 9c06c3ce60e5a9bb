import {
  decodeHeader,
  encodeHeader,
  headerLength,
  PacketType,
  varintLength,
  WireEncodeError,
  WireReader,
  writeVarint,
} from '../protocol/wire/index.ts';
import { type FecLossReport, fecMaxBlockShards, isValidLossReport, readLossReport } from './fec-header.ts';

/** Most block requests in one FEEDBACK packet (R-FEC-15). */
export const fecMaxFeedbackRequests = 64;
/** Most missing packet numbers in one FEEDBACK packet (R-FEC-15). */
export const fecMaxFeedbackMissing = 128;

/** One block a receiver cannot rebuild yet: its first source and how many more shards it needs. */
export interface FecBlockRequest {
  /** Packet number of the block's first source (the REPAIR packets' First Source). */
  firstSourcePacketNumber: number;
  /** Shards still needed to rebuild the block, 1..255. */
  needed: number;
}

/**
 * A FEEDBACK packet (spec §11.9, R-FEC-15): a REPAIR-type packet with Span 0, sent by a FEC receiver to the
 * sender of the blocks. It carries the receiver's loss report and its requests for extra repair.
 */
export interface FeedbackPacket {
  /** Connection id of the packet header (the peer's id, as in the receiver's own packets). */
  connectionId: Uint8Array;
  /** The largest DATA packet number received; requests and missing packets are offsets below it. */
  referencePacketNumber: number;
  /** The receiver's loss report (R-FEC-7), or undefined. */
  lossReport: FecLossReport | undefined;
  /** Blocks known from their REPAIR packets that cannot be rebuilt yet. */
  requests: readonly FecBlockRequest[];
  /** Packet numbers missing and in no block the receiver knows (every REPAIR packet of theirs was lost). */
  missing: readonly number[];
}

/** Why bytes are not a valid FEEDBACK packet (R-FEC-15): wire errors, `not-feedback`, counts, offsets, report. */
export type FeedbackErrorReason =
  | 'truncated'
  | 'non-minimal-varint'
  | 'value-too-large'
  | 'reserved-bits'
  | 'not-feedback'
  | 'invalid-report'
  | 'invalid-counts'
  | 'invalid-offset'
  | 'invalid-needed'
  | 'trailing-bytes';

/** The outcome of decoding a FEEDBACK packet. */
export type FeedbackDecodeResult =
  | { ok: true; value: FeedbackPacket }
  | { ok: false; reason: FeedbackErrorReason; offset: number };

/** Whether a REPAIR-type datagram is a FEEDBACK packet: its first body varint (Span) is 0 (R-FEC-15). */
export function isFeedbackPacket(bytes: Uint8Array): boolean {
  const decoded = decodeHeader(bytes);
  if (!decoded.ok || decoded.value.header.type !== PacketType.fecRepair) return false;
  return bytes[decoded.value.bodyOffset] === 0;
}

function check(packet: FeedbackPacket): void {
  const bad = (message: string): never => {
    throw new WireEncodeError('invalid-header', `feedback packet: ${message}`);
  };
  const ref = packet.referencePacketNumber;
  if (!Number.isSafeInteger(ref) || ref < 0) bad(`reference ${ref}`);
  if (packet.requests.length > fecMaxFeedbackRequests) bad(`${packet.requests.length} requests`);
  if (packet.missing.length > fecMaxFeedbackMissing) bad(`${packet.missing.length} missing`);
  for (const r of packet.requests) {
    const pn = r.firstSourcePacketNumber;
    if (!Number.isSafeInteger(pn) || pn < 0 || pn > ref) bad(`request for ${pn}`);
    if (!Number.isInteger(r.needed) || r.needed < 1 || r.needed >= fecMaxBlockShards)
      bad(`needed ${r.needed}`);
  }
  for (const pn of packet.missing) if (!Number.isSafeInteger(pn) || pn < 0 || pn > ref) bad(`missing ${pn}`);
  const report = packet.lossReport;
  if (report !== undefined && !isValidLossReport(report)) bad(`loss report ${JSON.stringify(report)}`);
}

/** Encodes a FEEDBACK packet (spec §11.9). Throws {@link WireEncodeError} if it breaks R-FEC-15. */
export function encodeFeedbackPacket(packet: FeedbackPacket): Uint8Array {
  check(packet);
  const header = {
    type: PacketType.fecRepair,
    connectionId: packet.connectionId,
    keyPhase: false,
    packetNumber: packet.referencePacketNumber,
  };
  const ref = packet.referencePacketNumber;
  let length = headerLength(header) + 1 + 2;
  if (packet.lossReport) {
    length +=
      varintLength(packet.lossReport.lossPermyriad) + varintLength(packet.lossReport.meanBurstTenths) - 2;
  }
  length += varintLength(packet.requests.length) + varintLength(packet.missing.length);
  for (const r of packet.requests)
    length += varintLength(ref - r.firstSourcePacketNumber) + varintLength(r.needed);
  for (const pn of packet.missing) length += varintLength(ref - pn);
  const buf = new Uint8Array(length);
  let at = encodeHeader(header, buf, 0);
  at = writeVarint(buf, at, 0); // Span 0: FEEDBACK, not a repair shard
  at = writeVarint(buf, at, packet.lossReport?.lossPermyriad ?? 0);
  at = writeVarint(buf, at, packet.lossReport?.meanBurstTenths ?? 0);
  at = writeVarint(buf, at, packet.requests.length);
  for (const r of packet.requests) {
    at = writeVarint(buf, at, ref - r.firstSourcePacketNumber);
    at = writeVarint(buf, at, r.needed);
  }
  at = writeVarint(buf, at, packet.missing.length);
  for (const pn of packet.missing) at = writeVarint(buf, at, ref - pn);
  return buf;
}

/** Decodes a whole FEEDBACK datagram (spec §11.9). Never throws: malformed bytes give a reason (R-FEC-15). */
export function decodeFeedbackPacket(bytes: Uint8Array): FeedbackDecodeResult {
  const decoded = decodeHeader(bytes);
  if (!decoded.ok) {
    return { ok: false, reason: decoded.error.reason as FeedbackErrorReason, offset: decoded.error.offset };
  }
  const { header, bodyOffset } = decoded.value;
  if (header.type !== PacketType.fecRepair) return { ok: false, reason: 'not-feedback', offset: 0 };
  const reader = new WireReader(bytes, bodyOffset);
  const wire = (): FeedbackDecodeResult => ({
    ok: false,
    reason: reader.error!.reason as FeedbackErrorReason,
    offset: reader.error!.offset,
  });
  const fail = (reason: FeedbackErrorReason, offset: number): FeedbackDecodeResult => ({
    ok: false,
    reason,
    offset,
  });
  const span = reader.varint();
  if (span < 0) return wire();
  if (span !== 0) return fail('not-feedback', bodyOffset);
  const reportAt = reader.offset;
  const lossReport = readLossReport(reader);
  if (lossReport === 'wire') return wire();
  if (lossReport === 'invalid') return fail('invalid-report', reportAt);
  const ref = header.packetNumber;
  const countAt = reader.offset;
  const requestCount = reader.varint();
  if (requestCount < 0) return wire();
  if (requestCount > fecMaxFeedbackRequests) return fail('invalid-counts', countAt);
  const requests: FecBlockRequest[] = [];
  for (let i = 0; i < requestCount; i++) {
    const offsetAt = reader.offset;
    const offset = reader.varint();
    if (offset < 0) return wire();
    if (offset > ref) return fail('invalid-offset', offsetAt);
    const neededAt = reader.offset;
    const needed = reader.varint();
    if (needed < 0) return wire();
    if (needed < 1 || needed >= fecMaxBlockShards) return fail('invalid-needed', neededAt);
    requests.push({ firstSourcePacketNumber: ref - offset, needed });
  }
  const missingAt = reader.offset;
  const missingCount = reader.varint();
  if (missingCount < 0) return wire();
  if (missingCount > fecMaxFeedbackMissing) return fail('invalid-counts', missingAt);
  const missing: number[] = [];
  for (let i = 0; i < missingCount; i++) {
    const offsetAt = reader.offset;
    const offset = reader.varint();
    if (offset < 0) return wire();
    if (offset > ref) return fail('invalid-offset', offsetAt);
    missing.push(ref - offset);
  }
  if (reader.remaining !== 0) return fail('trailing-bytes', reader.offset);
  return {
    ok: true,
    value: { connectionId: header.connectionId, referencePacketNumber: ref, lossReport, requests, missing },
  };
}
