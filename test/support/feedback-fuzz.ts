import fc from 'fast-check';
import {
  decodeFeedbackPacket,
  encodeFeedbackPacket,
  type FeedbackPacket,
  fecMaxFeedbackMissing,
  fecMaxFeedbackRequests,
  isFeedbackPacket,
} from '../../src/fec/fec-feedback.ts';
import { decodeRepairPacket, fecMaxBlockShards } from '../../src/fec/fec-header.ts';
import { FecSession } from '../../src/fec/fec-session.ts';
import {
  decodeHeader,
  encodedPacketLength,
  encodePacket,
  type Packet,
  PacketType,
} from '../../src/protocol/wire/index.ts';

// FEEDBACK fuzzing (spec §11.9, R-FEC-15): a FEC sender with extra repair, sending DATA packets, is fed random,
// mutated and forged FEEDBACK packets. Nothing throws; each malformed one is counted; whatever decodes re-encodes
// to the same bytes; every extra REPAIR packet is well formed; no block ever gets more than 256 shards; memory
// stays within the extra-repair bounds. Used by test/prop/fec-extra-repair.test.ts and `npm run fuzz`.

const connectionId = Uint8Array.of(1, 2, 3, 4);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A DATA packet the sender transmits: PING and padding up to `size` bytes. */
function dataPacket(packetNumber: number, size: number): Uint8Array {
  const packet: Packet = {
    header: { type: 0, connectionId, keyPhase: false, packetNumber },
    frames: [{ type: 'ping' }],
  };
  const base = encodedPacketLength(packet);
  if (size > base) packet.frames = [{ type: 'ping' }, { type: 'padding', length: size - base }];
  const buf = new Uint8Array(encodedPacketLength(packet));
  encodePacket(packet, buf, 0);
  return buf;
}

/** One input of a case: time passes, the sender transmits, or a datagram arrives from the "receiver". */
export type FeedbackFuzzInput =
  | { kind: 'transmit'; count: number; size: number; dtMs: number }
  | { kind: 'random'; bytes: Uint8Array; dtMs: number }
  | { kind: 'forged'; below: number[]; needed: number[]; missingBelow: number[]; dtMs: number }
  | { kind: 'mutated'; below: number[]; at: number[]; values: number[]; cut: number; dtMs: number };

/** Inputs of one fuzz case, at most `maxInputs`. */
export function feedbackFuzzCaseArb(maxInputs: number): fc.Arbitrary<FeedbackFuzzInput[]> {
  const dtMs = fc.nat({ max: 30 });
  const input: fc.Arbitrary<FeedbackFuzzInput> = fc.oneof(
    fc.record({
      kind: fc.constant('transmit' as const),
      count: fc.integer({ min: 1, max: 40 }),
      size: fc.integer({ min: 8, max: 1100 }),
      dtMs,
    }),
    fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 80 }), dtMs }),
    fc.record({
      kind: fc.constant('forged' as const),
      below: fc.array(fc.nat({ max: 200 }), { maxLength: fecMaxFeedbackRequests }),
      // Mostly what a receiver would ask (a few shards), sometimes the most the format allows.
      needed: fc.array(
        fc.oneof(
          { weight: 9, arbitrary: fc.integer({ min: 1, max: 8 }) },
          { weight: 1, arbitrary: fc.constant(255) },
        ),
        { minLength: 1, maxLength: 8 },
      ),
      missingBelow: fc.array(fc.nat({ max: 300 }), { maxLength: fecMaxFeedbackMissing }),
      dtMs,
    }),
    fc.record({
      kind: fc.constant('mutated' as const),
      below: fc.array(fc.nat({ max: 100 }), { maxLength: 6 }),
      at: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
      values: fc.array(fc.nat({ max: 255 }), { minLength: 3, maxLength: 3 }),
      cut: fc.nat({ max: 4 }),
      dtMs,
    }),
  );
  return fc.array(input, { minLength: 1, maxLength: maxInputs });
}

/** What a fuzz case did. */
export interface FeedbackFuzzOutcome {
  /** Datagrams fed to the sender as if from its peer. */
  datagrams: number;
  /** Of them, FEEDBACK packets that decoded. */
  decoded: number;
  /** Extra REPAIR packets the sender answered with. */
  extraRepairs: number;
}

/** Runs one case; throws (an assertion) on the first broken rule. */
export function runFeedbackFuzzCase(inputs: readonly FeedbackFuzzInput[]): FeedbackFuzzOutcome {
  const fail = (message: string): never => {
    throw new Error(`feedback fuzz: ${message}`);
  };
  const session = new FecSession(connectionId, 1200, {
    fecClass: 'media',
    extraRepair: { maxRetainedBlocks: 16, maxRetainedBytes: 64 * 1024, minBurstSpacingMs: 5 },
  });
  const shardsPerBlock = new Map<number, { k: number; count: number }>();
  let nowMs = 0;
  let nextPacketNumber = 0;
  const outcome: FeedbackFuzzOutcome = { datagrams: 0, decoded: 0, extraRepairs: 0 };
  let malformed = 0;
  const drain = (): void => {
    for (let r = session.pollRepair(nowMs); r; r = session.pollRepair(nowMs)) {
      if (isFeedbackPacket(r)) {
        // The session's own FEEDBACK (its receiving side saw DATA packets): it must decode too.
        if (!decodeFeedbackPacket(r).ok)
          throw new Error(`feedback fuzz: the session wrote a malformed FEEDBACK`);
        continue;
      }
      const repair = decodeRepairPacket(r);
      if (!repair.ok)
        throw new Error(`feedback fuzz: the sender wrote a malformed REPAIR: ${repair.error.reason}`);
      const { firstSourcePacketNumber, repairCount, repairIndex, sourceLengths } = repair.value;
      const k = sourceLengths.filter((n) => n > 0).length;
      if (k + repairCount > fecMaxBlockShards)
        fail(`block ${firstSourcePacketNumber}: k ${k} + m ${repairCount}`);
      const seen = shardsPerBlock.get(firstSourcePacketNumber) ?? { k, count: 0 };
      seen.count++;
      if (repairIndex >= repairCount || seen.k + seen.count > fecMaxBlockShards)
        fail(
          `block ${firstSourcePacketNumber} got shard ${repairIndex} of ${repairCount} (${seen.count} sent)`,
        );
      shardsPerBlock.set(firstSourcePacketNumber, seen);
    }
  };
  const feed = (bytes: Uint8Array): void => {
    outcome.datagrams++;
    const decoded = decodeFeedbackPacket(bytes);
    if (decoded.ok) {
      outcome.decoded++;
      if (hex(encodeFeedbackPacket(decoded.value)) !== hex(bytes) && (bytes[0]! & 0x08) === 0)
        fail(`${hex(bytes)} decodes but re-encodes to other bytes`);
    }
    const extraBefore = session.stats.extraParitySent;
    const out = session.onReceive(nowMs, bytes);
    // A REPAIR-type datagram never reaches the connection; a FEEDBACK one that fails to decode is counted.
    const header = decodeHeader(bytes);
    if (header.ok && header.value.header.type === PacketType.fecRepair && out.length > 0)
      fail(`REPAIR-type datagram ${hex(bytes)} passed through`);
    if (!decoded.ok && isFeedbackPacket(bytes)) malformed++;
    drain();
    outcome.extraRepairs += session.stats.extraParitySent - extraBefore;
  };
  const reference = () => Math.max(0, nextPacketNumber - 1);
  const forged = (below: readonly number[], needed: readonly number[], missing: readonly number[]) => {
    const ref = reference();
    const packet: FeedbackPacket = {
      connectionId,
      referencePacketNumber: ref,
      lossReport: { lossPermyriad: 3000, meanBurstTenths: 14 },
      requests: below.map((b, i) => ({
        firstSourcePacketNumber: ref - (b % (ref + 1)),
        needed: needed[i % needed.length]!,
      })),
      missing: missing.map((b) => ref - (b % (ref + 1))),
    };
    return encodeFeedbackPacket(packet);
  };
  for (const input of inputs) {
    nowMs += input.dtMs;
    if (input.kind === 'transmit') {
      for (let i = 0; i < input.count; i++)
        session.onTransmit(nowMs, dataPacket(nextPacketNumber++, input.size));
      drain();
    } else if (input.kind === 'random') {
      if (input.bytes.length > 0) feed(input.bytes);
    } else if (input.kind === 'forged') {
      feed(forged(input.below, input.needed, input.missingBelow));
    } else {
      const bytes = forged(input.below, [3], input.below).slice();
      input.at.forEach((at, i) => {
        bytes[at % bytes.length] = input.values[i]!;
      });
      const cut = bytes.subarray(0, Math.max(1, bytes.length - input.cut));
      feed(cut);
    }
    const held = session.held;
    if (held.bytes > 2 * 1024 * 1024) fail(`decoder holds ${held.bytes} bytes`);
  }
  if (session.stats.malformedFeedback !== malformed) {
    fail(`${session.stats.malformedFeedback} malformed FEEDBACK counted, ${malformed} sent`);
  }
  return outcome;
}
