import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FecDecoder } from '../../src/fec/fec-decoder.ts';
import { type ClosedBlock, ExtraRepair, type ExtraRepairOptions } from '../../src/fec/fec-extra-repair.ts';
import {
  decodeFeedbackPacket,
  encodeFeedbackPacket,
  type FeedbackErrorReason,
  type FeedbackPacket,
  fecMaxFeedbackMissing,
  fecMaxFeedbackRequests,
  isFeedbackPacket,
} from '../../src/fec/fec-feedback.ts';
import { decodeRepairPacket, type RepairPacket } from '../../src/fec/fec-header.ts';
import { RepairRequester, type RepairRequestOptions } from '../../src/fec/fec-repair-requests.ts';
import { burstFailure, RedundancyController } from '../../src/fec/redundancy-controller.ts';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';
import { varintLength, WireEncodeError } from '../../src/protocol/wire/index.ts';

// The parts of extra repair (spec §11.9) one at a time: FEEDBACK validation reason by reason (R-FEC-15), the
// receiver's request timing (RepairRequester), the sender's answering rules and bounds (ExtraRepair, R-FEC-14),
// and the burst size model against a binomial reference.

const codec = new ReedSolomonCodec();
const none = new Uint8Array(0);
const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

describe('FEEDBACK validation (R-FEC-15)', () => {
  // Header 80 + packet number 10 (0a), then the body.
  const cases: [string, string, FeedbackErrorReason, number][] = [
    ['empty datagram', '', 'truncated', 0],
    ['reserved flag bits', '81 0a 00 00 00 00 00', 'reserved-bits', 0],
    ['a DATA packet', '00 0a 00 00 00 00 00', 'not-feedback', 0],
    ['a REPAIR shard (Span 1)', '80 0a 01 01 00 00 00 01 ff', 'not-feedback', 2],
    ['nothing after the header', '80 0a', 'truncated', 2],
    ['non-minimal Span', '80 0a 4000 00 00 00 00', 'non-minimal-varint', 2],
    ['loss without a burst', '80 0a 00 05 00 00 00', 'invalid-report', 3],
    ['burst below 10 tenths', '80 0a 00 00 09 00 00', 'invalid-report', 3],
    ['loss above 10000', '80 0a 00 6711 0a 00 00', 'invalid-report', 3],
    ['burst above 16383', '80 0a 00 00 80004000 00 00', 'invalid-report', 3],
    ['65 requests', '80 0a 00 00 00 4041 00', 'invalid-counts', 5],
    ['129 missing', '80 0a 00 00 00 00 4081', 'invalid-counts', 6],
    ['request below packet 0', '80 0a 00 00 00 01 0b 01 00', 'invalid-offset', 6],
    ['request for 0 shards', '80 0a 00 00 00 01 00 00 00', 'invalid-needed', 7],
    ['request for 256 shards', '80 0a 00 00 00 01 00 4100 00', 'invalid-needed', 7],
    ['missing below packet 0', '80 0a 00 00 00 00 01 0b', 'invalid-offset', 7],
    ['a request cut short', '80 0a 00 00 00 01 03', 'truncated', 7],
    ['missing count absent', '80 0a 00 00 00 00', 'truncated', 6],
    ['a byte past the end', '80 0a 00 00 00 00 00 00', 'trailing-bytes', 7],
  ];
  for (const [name, hex, reason, offset] of cases) {
    it(`R-FEC-15: ${name} → ${reason} at byte ${offset}`, () => {
      const decoded = decodeFeedbackPacket(hexBytes(hex));
      expect(decoded).toEqual({ ok: false, reason, offset });
    });
  }

  it('R-FEC-15: the edges that are valid decode and re-encode to the same bytes', () => {
    const valid = [
      '80 0a 00 00 00 00 00', // nothing asked, no report
      '80 0a 00 00 0a 00 00', // loss 0, burst 1.0
      '80 0a 00 6710 7fff 00 00', // loss 10000, burst 1638.3
      '80 0a 00 00 00 01 0a 40ff 01 0a', // request for packet 0 needing 255; packet 0 missing
    ];
    for (const hex of valid) {
      const bytes = hexBytes(hex);
      const decoded = decodeFeedbackPacket(bytes);
      expect(decoded.ok, hex).toBe(true);
      if (decoded.ok)
        expect(Buffer.from(encodeFeedbackPacket(decoded.value)).toString('hex')).toBe(
          hex.replace(/\s+/g, ''),
        );
    }
    const big: FeedbackPacket = {
      connectionId: new Uint8Array(16).fill(3),
      referencePacketNumber: Number.MAX_SAFE_INTEGER,
      lossReport: undefined,
      requests: Array.from({ length: fecMaxFeedbackRequests }, (_, i) => ({
        firstSourcePacketNumber: i,
        needed: 255,
      })),
      missing: Array.from({ length: fecMaxFeedbackMissing }, (_, i) => Number.MAX_SAFE_INTEGER - i),
    };
    const decoded = decodeFeedbackPacket(encodeFeedbackPacket(big));
    expect(decoded.ok && decoded.value.requests).toEqual(big.requests);
    expect(decoded.ok && decoded.value.missing).toEqual(big.missing);
    expect(isFeedbackPacket(hexBytes('80 0a 01 01 00 00 00 01 ff'))).toBe(false);
    expect(isFeedbackPacket(hexBytes('00 0a 00'))).toBe(false);
    expect(isFeedbackPacket(hexBytes('80'))).toBe(false);
  });

  it('R-FEC-15: encoding a packet that breaks the rules throws WireEncodeError, never writes garbage', () => {
    const ok: FeedbackPacket = {
      connectionId: none,
      referencePacketNumber: 10,
      lossReport: undefined,
      requests: [],
      missing: [],
    };
    expect(() => encodeFeedbackPacket(ok)).not.toThrow();
    const bad: Partial<FeedbackPacket>[] = [
      { referencePacketNumber: -1 },
      { referencePacketNumber: 1.5 },
      { requests: [{ firstSourcePacketNumber: 11, needed: 1 }] },
      { requests: [{ firstSourcePacketNumber: 3, needed: 0 }] },
      { requests: [{ firstSourcePacketNumber: 3, needed: 256 }] },
      { missing: [11] },
      { missing: [-1] },
      {
        requests: Array.from({ length: fecMaxFeedbackRequests + 1 }, () => ({
          firstSourcePacketNumber: 0,
          needed: 1,
        })),
      },
      { missing: new Array<number>(fecMaxFeedbackMissing + 1).fill(0) },
      { lossReport: { lossPermyriad: 10_001, meanBurstTenths: 10 } },
      { lossReport: { lossPermyriad: 0, meanBurstTenths: 9 } },
    ];
    for (const patch of bad) expect(() => encodeFeedbackPacket({ ...ok, ...patch })).toThrow(WireEncodeError);
  });
});

/** A decoder that knows a block at `first` with `span` sources of 10 bytes, from one repair of `m`. */
function decoderWithBlock(first: number, span: number, m = 1, nowMs = 0): FecDecoder {
  const decoder = new FecDecoder({ codec, maxAgeMs: 10_000 });
  decoder.onRepair(nowMs, {
    connectionId: none,
    firstSourcePacketNumber: first,
    repairCount: m,
    repairIndex: 0,
    lossReport: undefined,
    sourceLengths: new Array<number>(span).fill(10),
    parity: new Uint8Array(10),
  });
  return decoder;
}

/** Enough REPAIR packets of all-source blocks that the requester takes the peer for a protecting one. */
function protect(requester: RepairRequester): void {
  for (let i = 0; i < 32; i++) requester.onRepairPacket(8, 8);
}

/** Polls `requester` at each time and returns the times a FEEDBACK went out with what it asked. */
function pollAt(requester: RepairRequester, times: number[]): Map<number, FeedbackPacket> {
  const out = new Map<number, FeedbackPacket>();
  for (const t of times) {
    const packet = requester.poll(t, none, undefined);
    if (packet) out.set(t, packet);
  }
  return out;
}

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) out.push(t);
  return out;
};

describe('RepairRequester timing (R-FEC-15)', () => {
  const options: RepairRequestOptions = {
    waitMs: 20,
    copies: 3,
    copySpacingMs: 4,
    repeatRtts: 1.25,
    maxAsks: 2,
  };

  it('R-FEC-15: a block is asked for waitMs after its first repair, in `copies` packets, repeated after repeatRtts × srtt, at most maxAsks times', () => {
    const decoder = decoderWithBlock(100, 4); // 4 sources missing, 1 repair: 3 more needed
    const requester = new RepairRequester(decoder, options);
    requester.smoothedRttMs = 80;
    requester.onRepairPacket(4, 4);
    expect(requester.poll(0, none, undefined)).toBeUndefined();
    expect(requester.nextTimeout()).toBe(20);
    const sent = pollAt(requester, range(1, 600));
    const asks = [...sent].filter(([, p]) => p.requests.length > 0);
    // First ask at 20 with two copies 4 ms apart; the repeat 1.25 × 80 = 100 ms after it, again in three copies.
    expect(asks.map(([t]) => t)).toEqual([20, 24, 28, 120, 124, 128]);
    for (const [, p] of asks) {
      expect(p.requests).toEqual([{ firstSourcePacketNumber: 100, needed: 3 }]);
      expect(p.referencePacketNumber).toBeGreaterThanOrEqual(100);
      expect(p.missing).toEqual([]);
    }
    expect(requester.stats.blockRequests).toBe(2);
  });

  it('R-FEC-15: a smaller need is asked for as the block fills; a rebuilt block is not asked for again', () => {
    const decoder = decoderWithBlock(0, 3);
    const requester = new RepairRequester(decoder, { ...options, copies: 1 });
    requester.onRepairPacket(4, 4);
    expect(requester.poll(20, none, undefined)?.requests).toEqual([
      { firstSourcePacketNumber: 0, needed: 2 },
    ]);
    decoder.onSourcePacket(30, 0, new Uint8Array(10));
    requester.onDataPacket(30, 0);
    requester.smoothedRttMs = 40;
    expect(requester.poll(80, none, undefined)?.requests).toEqual([
      { firstSourcePacketNumber: 0, needed: 1 },
    ]);
    decoder.onSourcePacket(90, 1, new Uint8Array(10)); // with the repair: rebuilt
    expect(decoder.holds(2)).toBe(true);
    const later = pollAt(requester, range(91, 600));
    for (const [, p] of later) expect(p.requests).toEqual([]);
  });

  it('R-FEC-15: nothing is asked for a block older than maxAgeMs', () => {
    const decoder = decoderWithBlock(0, 2);
    const requester = new RepairRequester(decoder, { ...options, maxAgeMs: 300 });
    requester.onRepairPacket(4, 4);
    expect(requester.poll(301, none, undefined)).toBeUndefined();
    expect(requester.stats.blockRequests).toBe(0);
    // Asked within the age, never repeated past it.
    const fresh = new RepairRequester(decoderWithBlock(0, 2), { ...options, maxAgeMs: 100, copies: 1 });
    fresh.onRepairPacket(2, 2);
    fresh.smoothedRttMs = 80; // repeat due at 20 + 100 = 120, past the age
    const sent = pollAt(fresh, range(0, 400));
    expect([...sent.keys()]).toEqual([20]);
  });

  it('R-FEC-15: missing packets with no known block are asked for only while the peer protects most of its packets', () => {
    const unprotected = new RepairRequester(new FecDecoder({ codec }), { ...options, copies: 1 });
    unprotected.onDataPacket(0, 0);
    unprotected.onDataPacket(1, 5); // 1..4 missing
    const plain = pollAt(unprotected, range(1, 300));
    for (const [, p] of plain) expect(p.missing).toEqual([]);
    expect(unprotected.stats.missingRequests).toBe(0);

    const protectedPeer = new RepairRequester(new FecDecoder({ codec }), { ...options, copies: 1 });
    protect(protectedPeer);
    protectedPeer.onDataPacket(0, 0);
    protectedPeer.onDataPacket(1, 5);
    protectedPeer.onDataPacket(2, 3); // 3 arrived late
    const asked = pollAt(protectedPeer, range(1, 60));
    const withMissing = [...asked].filter(([, p]) => p.missing.length > 0);
    expect(withMissing.map(([t, p]) => [t, p.missing])).toEqual([[21, [1, 2, 4]]]);
    expect(withMissing[0]![1].referencePacketNumber).toBe(5);
    // Once its blocks are mostly packets that are not sources (lost ACKs would be asked for), no more asks.
    for (let i = 0; i < 64; i++) protectedPeer.onRepairPacket(1, 10);
    protectedPeer.onDataPacket(100, 9);
    const late = pollAt(protectedPeer, range(101, 400));
    for (const [, p] of late) expect(p.missing).toEqual([]);
  });

  it('R-FEC-15: a loss-report-only FEEDBACK goes out every reportIntervalMs while data arrives, none when idle', () => {
    const requester = new RepairRequester(new FecDecoder({ codec }), { reportIntervalMs: 250 });
    const report = { lossPermyriad: 3000, meanBurstTenths: 14 };
    const times: number[] = [];
    for (let t = 0; t <= 1000; t++) {
      requester.onDataPacket(t, t);
      const p = requester.poll(t, none, report);
      if (p) {
        times.push(t);
        expect(p).toMatchObject({ lossReport: report, requests: [], missing: [], referencePacketNumber: t });
      }
    }
    expect(times).toEqual([0, 250, 500, 750, 1000]);
    // Idle (no data): one last report at most, then nothing and no timeout.
    const idle = pollAt(requester, range(1001, 3000, 7));
    expect(idle.size).toBe(0);
    expect(requester.nextTimeout()).toBeUndefined();
  });

  it('R-FEC-15: nextTimeout() is after the last poll even when something is overdue', () => {
    const requester = new RepairRequester(decoderWithBlock(0, 2), options);
    requester.onRepairPacket(4, 4);
    requester.onDataPacket(0, 50);
    expect(requester.poll(5, none, undefined)).toBeDefined(); // the first loss report
    expect(requester.nextTimeout()).toBe(20);
    // Skipped past the due time: the next deadline is still after the poll (a driver never spins).
    const packet = requester.poll(30, none, undefined);
    expect(packet?.requests).toHaveLength(1);
    expect(requester.nextTimeout()).toBeGreaterThanOrEqual(31);
  });

  it('R-FEC-15: a flood of gaps stays bounded: only the newest gaps are kept, all forgotten after maxAgeMs', () => {
    const requester = new RepairRequester(new FecDecoder({ codec }), { copies: 1, maxAgeMs: 400 });
    let pn = 0;
    let missingAsked = 0;
    const check = (p: FeedbackPacket | undefined) => {
      if (!p) return;
      expect(p.missing.length).toBeLessThanOrEqual(fecMaxFeedbackMissing);
      missingAsked += p.missing.length;
      for (const x of p.missing) expect(x).toBeLessThanOrEqual(p.referencePacketNumber);
      expect(decodeFeedbackPacket(encodeFeedbackPacket(p)).ok).toBe(true);
    };
    for (let t = 0; t < 600; t++) {
      requester.onRepairPacket(4, 4);
      for (let i = 0; i < 5; i++) {
        pn += 1 + ((t * 7919 + i * 104_729) % 5000); // ~7 M missing packet numbers in all
        requester.onDataPacket(t, pn);
      }
      check(requester.poll(t, none, undefined));
    }
    for (let t = 600; t < 1000; t++) check(requester.poll(t, none, undefined));
    // Only the newest 4 × 128 gaps are kept, each asked at most maxAsks (2) times.
    expect(missingAsked).toBeGreaterThan(0);
    expect(requester.stats.missingRequests).toBe(missingAsked);
    expect(missingAsked).toBeLessThanOrEqual(2 * 4 * fecMaxFeedbackMissing);
    // Silence: after maxAgeMs nothing is held for asking, and the requester asks to be woken for nothing.
    requester.poll(1500, none, undefined);
    expect(requester.nextTimeout()).toBeUndefined();
  });
});

/** A closed block of `k` sources of `bytes` bytes from packet `first`, `sent` shards sent already. */
function closedBlock(first: number, k: number, bytes = 20, sent = 1, tags = 1): ClosedBlock {
  const padded = Array.from({ length: k }, (_, i) => new Uint8Array(bytes).fill(i + 1));
  return {
    firstPacketNumber: first,
    lengths: new Array<number>(k).fill(bytes),
    padded,
    longest: bytes,
    // As the encoder counts it: flags, 4-byte id, packet number, 2 bytes each for Span, m, index, report, lengths.
    headerBytes: 1 + 4 + varintLength(first) + 10 + k * varintLength(bytes),
    tags,
    repairsSent: sent,
  };
}

/** The decoded REPAIR packet (it must decode: the sender never writes malformed bytes). */
function repairOf(bytes: Uint8Array): RepairPacket {
  const decoded = decodeRepairPacket(bytes);
  if (!decoded.ok) throw new Error(`malformed repair: ${decoded.error.reason}`);
  return decoded.value;
}

function extraRepair(options: ExtraRepairOptions = {}, burst = (needed: number) => needed + 1): ExtraRepair {
  return new ExtraRepair(options, Uint8Array.of(1, 2, 3, 4), codec, burst, () => undefined);
}

describe('extra repair byte budget (R-LIMIT-8)', () => {
  it('R-LIMIT-8: a peer asking for every block as often as it may gets at most maxBytesRatio × one REPAIR packet per retained source per maxAgeMs, plus one burst', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 16 }),
        fc.double({ min: 0.1, max: 4, noNaN: true }),
        (blocks, k, ratio) => {
          const maxAgeMs = 400;
          const sender = extraRepair(
            { maxBytesRatio: ratio, maxAgeMs, minBurstSpacingMs: 0 },
            (needed) => 4 * needed,
          );
          let retained = 0; // one REPAIR packet per retained source: the budget's base
          for (let b = 0; b < blocks; b++) {
            const block = closedBlock(b * 16, k, 100, 1);
            retained += k * (block.headerBytes + block.longest);
            sender.retain(0, block);
          }
          const window: { at: number; bytes: number }[] = [];
          let largestBurst = 0;
          for (let t = 0; t < maxAgeMs; t += 5) {
            for (let b = 0; b < blocks; b++) {
              const out: Uint8Array[] = [];
              sender.onBlockRequest(t, b * 16, k, out);
              const bytes = out.reduce((sum, p) => sum + p.length, 0);
              largestBurst = Math.max(largestBurst, bytes);
              if (bytes > 0) window.push({ at: t, bytes });
            }
          }
          const sent = window.reduce((sum, w) => sum + w.bytes, 0);
          expect(sent).toBeLessThanOrEqual(ratio * retained + largestBurst);
          if (sent > 0 && blocks * k * 4 * 120 > 2 * ratio * retained) {
            expect(sender.stats.requestsOverBudget).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('RepairRequester options added with media-30 (R-FEC-15)', () => {
  it('R-FEC-15: blocks of small sources only are not asked for (minSourceBytes); larger ones are', () => {
    const decoder = decoderWithBlock(0, 2); // sources of 10 bytes
    const small = new RepairRequester(decoder, { waitMs: 5, copies: 1, minSourceBytes: 11 });
    expect(pollAt(small, range(0, 200)).size).toBe(0);
    expect(small.nextTimeout()).toBeUndefined();
    const any = new RepairRequester(decoder, { waitMs: 5, copies: 1, minSourceBytes: 10 });
    const asked = [...pollAt(any, range(0, 200))].filter(([, p]) => p.requests.length > 0);
    expect(asked.map(([t]) => t)[0]).toBe(5);
  });

  it('R-FEC-15: without asks the requester still reports the loss every reportIntervalMs while data arrives', () => {
    const decoder = decoderWithBlock(0, 4);
    const requester = new RepairRequester(decoder, { asks: false, reportIntervalMs: 100 });
    protect(requester);
    const report = { lossPermyriad: 3000, meanBurstTenths: 10 };
    const sent: [number, FeedbackPacket][] = [];
    for (let t = 0; t <= 400; t++) {
      if (t % 10 === 0 && t <= 300) requester.onDataPacket(t, 10 + t / 5); // gaps below every packet
      const due = requester.nextTimeout();
      expect(due === undefined || due > t - 1).toBe(true);
      const p = requester.poll(t, none, report);
      if (p) sent.push([t, p]);
    }
    expect(sent.map(([t]) => t)).toEqual([0, 100, 200, 300]);
    for (const [, p] of sent) {
      expect(p.requests).toEqual([]);
      expect(p.missing).toEqual([]);
      expect(p.lossReport).toEqual(report);
    }
    expect(requester.stats.blockRequests + requester.stats.missingRequests).toBe(0);
  });
});

describe('ExtraRepair answering rules (R-FEC-14, R-FEC-15)', () => {
  it('R-FEC-14: a burst continues the code: indices from the Repair Count on, Repair Count = the new total', () => {
    const extra = extraRepair({ minBurstSpacingMs: 40 });
    extra.retain(0, closedBlock(10, 5, 20, 2));
    const out: Uint8Array[] = [];
    extra.onBlockRequest(10, 10, 2, out);
    const decoded = out.map((p) => decodeRepairPacket(p));
    expect(decoded.map((d) => d.ok && [d.value.repairIndex, d.value.repairCount])).toEqual([
      [2, 5],
      [3, 5],
      [4, 5],
    ]);
    expect(extra.stats).toMatchObject({ bursts: 1, repairPackets: 3 });
    expect(extra.stats.repairBytes).toBe(out.reduce((s, p) => s + p.length, 0));
  });

  it('R-FEC-15: one burst per block per minBurstSpacingMs; a repeat within it is counted too soon', () => {
    const extra = extraRepair({ minBurstSpacingMs: 40 });
    extra.retain(0, closedBlock(10, 5));
    const out: Uint8Array[] = [];
    extra.onBlockRequest(10, 10, 1, out);
    extra.onBlockRequest(30, 10, 1, out); // a copy of the same request
    extra.onMissing(49, [11], out); // the same block asked by a missing packet
    expect(out).toHaveLength(2);
    expect(extra.stats.requestsTooSoon).toBe(2);
    extra.onBlockRequest(50, 10, 1, out);
    expect(out).toHaveLength(4);
    expect(out.slice(2).map(repairOf)).toMatchObject([
      { repairIndex: 3, repairCount: 5 },
      { repairIndex: 4, repairCount: 5 },
    ]);
  });

  it('R-FEC-15: no extra repair past maxAgeMs after the block closed', () => {
    const extra = extraRepair({ maxAgeMs: 400 });
    extra.retain(100, closedBlock(10, 5));
    const out: Uint8Array[] = [];
    extra.onBlockRequest(501, 10, 1, out);
    expect(out).toEqual([]);
    expect(extra.stats.requestsNotCovered).toBe(1);
    extra.onBlockRequest(500, 10, 1, out); // at the age exactly: still answered
    expect(out.length).toBeGreaterThan(0);
  });

  it('R-FEC-15: requests for no retained block are counted, not answered', () => {
    const extra = extraRepair();
    const block = closedBlock(10, 3);
    block.lengths = [20, 0, 20, 20]; // packet 11 is not a source
    extra.retain(0, block);
    const out: Uint8Array[] = [];
    extra.onBlockRequest(1, 11, 1, out); // not a block's first source
    extra.onBlockRequest(1, 12, 1, out); // inside, but not the first
    extra.onBlockRequest(1, 500, 1, out); // unknown
    extra.onMissing(1, [9, 11, 14, 1000], out); // before, a skipped number, after, far away
    expect(out).toEqual([]);
    expect(extra.stats.requestsNotCovered).toBe(7);
    extra.onMissing(1, [12, 13], out); // two of the block: one burst for 2
    expect(extra.stats.bursts).toBe(1);
    expect(out).toHaveLength(3);
  });

  it('R-FEC-14: retained blocks stay within maxRetainedBlocks and maxRetainedBytes, oldest dropped first', () => {
    const extra = extraRepair({ maxRetainedBlocks: 8, maxRetainedBytes: 10_000, maxAgeMs: 10_000 });
    for (let i = 0; i < 100; i++) {
      extra.retain(i, closedBlock(i * 100, 1 + (i % 7), 100 + 50 * (i % 5)));
      expect(extra.held.blocks).toBeLessThanOrEqual(8);
      expect(extra.held.bytes).toBeLessThanOrEqual(10_000);
    }
    const out: Uint8Array[] = [];
    extra.onBlockRequest(100, 0, 1, out);
    expect(out).toEqual([]);
    extra.onBlockRequest(100, 9900, 1, out);
    expect(out.length).toBeGreaterThan(0);
    // Blocks older than maxAgeMs are released when the next one is retained.
    const aging = extraRepair({ maxAgeMs: 100 });
    for (let i = 0; i < 10; i++) aging.retain(i, closedBlock(i * 10, 4));
    aging.retain(1000, closedBlock(5000, 4));
    expect(aging.held).toEqual({ blocks: 1, bytes: 80 });
  });

  it('R-FEC-14: a burst never passes 256 shards; a full block gets none; bad options throw RangeError', () => {
    const extra = extraRepair({}, () => 1000);
    extra.retain(0, closedBlock(0, 250, 4, 3));
    const out: Uint8Array[] = [];
    extra.onBlockRequest(1, 0, 3, out);
    expect(out).toHaveLength(3); // 250 + 3 + 3 = 256
    expect(repairOf(out[2]!).repairCount).toBe(6);
    extra.onBlockRequest(100, 0, 3, out);
    expect(out).toHaveLength(3);
    const zero = extraRepair({}, () => 0);
    zero.retain(0, closedBlock(0, 4));
    zero.onBlockRequest(1, 0, 2, out);
    expect(out).toHaveLength(3);
    for (const bad of [
      { minBurstSpacingMs: -1 },
      { maxAgeMs: 0 },
      { maxRetainedBlocks: 0 },
      { maxRetainedBytes: 0 },
      { maxAgeMs: Number.NaN },
    ]) {
      expect(() => extraRepair(bad)).toThrow(RangeError);
    }
  });
});

/** Naive reference for independent loss: P(fewer than `needed` of n arrive) = Σ_{l > n − needed} C(n,l) p^l (1−p)^(n−l). */
function binomialFailure(n: number, needed: number, p: number): number {
  let sum = 0;
  let choose = 1;
  for (let l = 0; l <= n; l++) {
    if (l > 0) choose = (choose * (n - l + 1)) / l;
    if (l > n - needed) sum += choose * p ** l * (1 - p) ** (n - l);
  }
  return sum;
}

describe('burst size (R-FEC-14)', () => {
  it('R-FEC-14: burstFailure matches the binomial reference for independent loss and is monotone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 40 }),
        fc.double({ min: 0.001, max: 0.9, noNaN: true }),
        fc.double({ min: 1, max: 6, noNaN: true }),
        (needed, more, p, b) => {
          const n = needed + more;
          expect(burstFailure(n, needed, p, 1)).toBeCloseTo(binomialFailure(n, needed, p), 10);
          const f = burstFailure(n, needed, p, b);
          expect(f).toBeGreaterThanOrEqual(0);
          expect(f).toBeLessThanOrEqual(1 + 1e-12);
          expect(burstFailure(n + 1, needed, p, b)).toBeLessThanOrEqual(f + 1e-12);
          expect(burstFailure(n, needed + 1, p, b)).toBeGreaterThanOrEqual(f - 1e-12);
        },
      ),
      { numRuns: 500 },
    );
    expect(burstFailure(3, 4, 0.1, 1)).toBe(1);
    expect(burstFailure(4, 4, 0, 1)).toBe(0);
    expect(burstFailure(4, 0, 0.5, 1)).toBe(0);
  });

  it('R-FEC-14: extraParityFor is the smallest burst meeting the target, within the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.double({ min: 0.001, max: 0.2, noNaN: true }),
        fc.integer({ min: 0, max: 90 }),
        fc.integer({ min: 10, max: 40 }),
        (lost, target, extraCap, burstTenths) => {
          const controller = new RedundancyController();
          controller.onPeerReport(0, { lossPermyriad: 3000, meanBurstTenths: burstTenths });
          const { lossRate, meanBurst } = controller.estimate(0);
          const max = lost + extraCap;
          const n = controller.extraParityFor(0, lost, target, max);
          if (lost === 0) {
            expect(n).toBe(0);
            return;
          }
          expect(n).toBeGreaterThanOrEqual(lost);
          expect(n).toBeLessThanOrEqual(Math.max(max, lost));
          const fail = (x: number) => burstFailure(x, lost, lossRate, Math.max(1, meanBurst));
          if (n < max) expect(fail(n)).toBeLessThanOrEqual(target);
          if (n > lost) expect(fail(n - 1)).toBeGreaterThan(target);
        },
      ),
      { numRuns: 300 },
    );
  });
});
