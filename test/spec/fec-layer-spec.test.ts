import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FecConnection } from '../../src/fec/fec-connection.ts';
import { FecDecoder } from '../../src/fec/fec-decoder.ts';
import { FecEncoder } from '../../src/fec/fec-encoder.ts';
import {
  decodeRepairPacket,
  encodeRepairPacket,
  type RepairPacket,
  repairPacketLength,
} from '../../src/fec/fec-header.ts';
import { FecLossEstimator } from '../../src/fec/fec-loss-estimator.ts';
import { FecSession, withFecReserve } from '../../src/fec/fec-session.ts';
import { fecClassPolicies, RedundancyController, residualLoss } from '../../src/fec/redundancy-controller.ts';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';
import { Connection } from '../../src/protocol/connection.ts';
import { defaultConnectionConfig } from '../../src/protocol/connection-config.ts';
import { decodeHeader, encodeHeader, encodePacket, PacketType } from '../../src/protocol/wire/index.ts';

// spec §11: one test (or more) per R-FEC id, and the §11.8 golden vectors read from spec.md.

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const codec = new ReedSolomonCodec();

interface Vector {
  title: string;
  bytes: Uint8Array;
  expected: Record<string, unknown>;
  sources: Map<number, Uint8Array>;
}

/** Parses spec §11.8: each `#### 11.8.n` holds a ```hex and a ```json block; valid ones list their sources. */
function parseVectors(): Vector[] {
  const spec = readFileSync(new URL('../../spec.md', import.meta.url), 'utf8');
  const start = spec.indexOf('### 11.8 Golden vectors');
  const end = spec.indexOf('## 12.', start);
  expect(start).toBeGreaterThan(0);
  return spec
    .slice(start, end)
    .split(/^#### /m)
    .slice(1)
    .map((section) => {
      const title = section.slice(0, section.indexOf('\n')).trim();
      const hex = /```hex\n([\s\S]*?)```/.exec(section)![1]!;
      const json = /```json\n([\s\S]*?)```/.exec(section)![1]!;
      const digits = hex
        .split('\n')
        .map((line) => line.replace(/#.*/, ''))
        .join('')
        .replace(/\s+/g, '');
      const sources = new Map<number, Uint8Array>();
      for (const m of section.matchAll(/packet (\d+) = `([0-9a-f]+)`/g))
        sources.set(Number(m[1]), hexBytes(m[2]!));
      return { title, bytes: hexBytes(digits), expected: JSON.parse(json), sources };
    });
}

function toJson(p: RepairPacket): Record<string, unknown> {
  return {
    connectionId: toHex(p.connectionId),
    firstSourcePacketNumber: p.firstSourcePacketNumber,
    repairCount: p.repairCount,
    repairIndex: p.repairIndex,
    lossReport: p.lossReport ?? null,
    sourceLengths: [...p.sourceLengths],
    parity: toHex(p.parity),
  };
}

/** A minimal DATA packet (header + PING) with packet number `pn`, padded to `size` bytes with PADDING. */
function dataPacket(pn: number, size: number, connectionId = new Uint8Array([9, 9, 9, 9])): Uint8Array {
  const buf = new Uint8Array(64 + size);
  let at = encodeHeader({ type: PacketType.data, connectionId, keyPhase: false, packetNumber: pn }, buf, 0);
  buf[at++] = 0x01; // PING
  return buf.slice(0, Math.max(at, size));
}

function encoder(options: Partial<ConstructorParameters<typeof FecEncoder>[0]> = {}): FecEncoder {
  return new FecEncoder({
    connectionId: new Uint8Array([9, 9, 9, 9]),
    maxRepairBytes: 1200,
    parityFor: () => 2,
    codec,
    ...options,
  });
}

function drain(e: FecEncoder, nowMs: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let r = e.pollRepair(nowMs); r; r = e.pollRepair(nowMs)) out.push(r);
  return out;
}

describe('spec §11.8 golden vectors', () => {
  const vectors = parseVectors();
  it('has the four vectors', () =>
    expect(vectors.map((v) => v.title.slice(0, 6))).toEqual(['11.8.1', '11.8.2', '11.8.3', '11.8.4']));
  for (const v of vectors) {
    it(`${v.title} (R-FEC-3, R-FEC-5)`, () => {
      const decoded = decodeRepairPacket(v.bytes);
      if ('error' in v.expected) {
        expect(decoded.ok).toBe(false);
        if (!decoded.ok)
          expect({ error: decoded.error.reason, offset: decoded.error.offset }).toEqual(v.expected);
        return;
      }
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) return;
      expect(toJson(decoded.value)).toEqual(v.expected);
      const buf = new Uint8Array(repairPacketLength(decoded.value));
      expect(encodeRepairPacket(decoded.value, buf, 0)).toBe(v.bytes.length);
      expect(toHex(buf)).toBe(toHex(v.bytes));
      // R-FEC-5: the parity is the Reed-Solomon parity of the listed sources, zero-padded to the longest.
      const p = decoded.value;
      const longest = Math.max(...p.sourceLengths);
      const data: Uint8Array[] = [];
      p.sourceLengths.forEach((length, i) => {
        if (length === 0) return;
        const shard = new Uint8Array(longest);
        shard.set(v.sources.get(p.firstSourcePacketNumber + i)!);
        data.push(shard);
      });
      expect(toHex(codec.encode(data, p.repairCount)[p.repairIndex]!)).toBe(toHex(p.parity));
    });
  }
});

describe('spec §11 requirements', () => {
  it('R-FEC-1: every DATA packet is a source, sent unchanged; with protectAckOnly false an ACK-only one is not', () => {
    const session = new FecSession(new Uint8Array([9, 9, 9, 9]), 1200);
    const ping = dataPacket(0, 40);
    const ackOnly = new Uint8Array([0x10, 9, 9, 9, 9, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00]); // ACK of packet 0
    session.onTransmit(0, ping);
    session.onTransmit(0, ackOnly);
    expect(session.stats.sourcePackets).toBe(2);
    // Without protectAckOnly, neither an ACK-only packet nor a PING-only one (it asks for an ACK, nothing more)
    // is a source; a packet with a message is.
    const strict = new FecSession(new Uint8Array([9, 9, 9, 9]), 1200, { protectAckOnly: false });
    strict.onTransmit(0, ping);
    strict.onTransmit(0, ackOnly);
    expect(strict.stats.sourcePackets).toBe(0);
    const message = new Uint8Array(64);
    const end = encodePacket(
      {
        header: {
          type: PacketType.data,
          connectionId: new Uint8Array([9, 9, 9, 9]),
          keyPhase: false,
          packetNumber: 2,
        },
        frames: [
          {
            type: 'message',
            channelId: 4,
            messageId: 0,
            offset: 0,
            totalLength: 3,
            payload: Uint8Array.of(1, 2, 3),
            lengthPresent: false,
          },
        ],
      },
      message,
      0,
    );
    strict.onTransmit(0, message.subarray(0, end));
    expect(strict.stats.sourcePackets).toBe(1);
    // A REPAIR packet is FEC_REPAIR with the source's connection id.
    const repair = session.pollRepair(1000)!;
    const header = decodeHeader(repair);
    expect(header.ok && header.value.header.type).toBe(PacketType.fecRepair);
    expect(header.ok && toHex(header.value.header.connectionId)).toBe('09090909');
  });

  it('R-FEC-2: a block spans at most 256 packet numbers; a decoder refuses a span of 257', () => {
    const e = encoder({ maxBlockDelayMs: 1000 });
    e.onSourcePacket(0, 0, dataPacket(0, 20));
    e.onSourcePacket(0, 300, dataPacket(300, 20)); // 300 numbers later: the first block closes
    const first = drain(e, 0);
    expect(first.length).toBe(2);
    const p = decodeRepairPacket(first[0]!);
    expect(p.ok && p.value.sourceLengths.length).toBe(1);
    const bad = new Uint8Array([0x80, 0x00, 0x41, 0x01, 0x01, 0x00, 0x00, 0x00]);
    const decoded = decodeRepairPacket(bad);
    expect(!decoded.ok && decoded.error.reason).toBe('invalid-counts');
  });

  it('R-FEC-3: malformed REPAIR packets fail with their reason and are counted, never thrown', () => {
    const cases: [string, string][] = [
      ['80', 'truncated'],
      ['0007010100000102', 'not-repair'],
      ['8007000100000001', 'invalid-counts'],
      ['8007010000000001', 'invalid-counts'],
      ['80070101010000010a', 'invalid-index'],
      ['80070101000000000a', 'invalid-length'],
      ['80070101000000c000000000000000010a', 'non-minimal-varint'],
      ['80070101000100010a', 'invalid-report'],
      ['8007010100671114010a', 'invalid-report'],
      ['80070101000000010a0b', 'parity-length'],
      ['8107010100000001', 'reserved-bits'],
    ];
    const decoder = new FecDecoder({ codec });
    for (const [hex, reason] of cases) {
      const r = decodeRepairPacket(hexBytes(hex));
      expect(r.ok ? 'ok' : r.error.reason, hex).toBe(reason);
      expect(decoder.onRepairPacket(0, hexBytes(hex))).toEqual([]);
    }
    expect(decoder.stats.malformedRepairs).toBe(cases.length);
  });

  it('R-FEC-4: a block closes by count, by time, and before its repair would pass the datagram size', () => {
    const byCount = encoder({ maxBlockSources: 3, maxBlockDelayMs: 1000 });
    for (let pn = 0; pn < 3; pn++) byCount.onSourcePacket(0, pn, dataPacket(pn, 30));
    expect(drain(byCount, 0).length).toBe(2);

    const byTime = encoder({ maxBlockDelayMs: 5 });
    byTime.onSourcePacket(10, 0, dataPacket(0, 30));
    expect(byTime.nextTimeout()).toBe(15);
    expect(drain(byTime, 14.9)).toEqual([]);
    expect(drain(byTime, 15).length).toBe(2);

    const bySize = encoder({ maxBlockDelayMs: 1000, maxRepairBytes: 1200 });
    // A repair over n sources of 1180 bytes needs 16 + 2n + 1180 bytes: the third source starts a new block.
    for (let pn = 0; pn < 3; pn++) bySize.onSourcePacket(0, pn, dataPacket(pn, 1180));
    const repairs = drain(bySize, 0);
    expect(repairs.length).toBe(2);
    const covered = decodeRepairPacket(repairs[0]!);
    expect(covered.ok && covered.value.sourceLengths).toEqual([1180, 1180]);
    for (const r of repairs) expect(r.length).toBeLessThanOrEqual(1200);
    bySize.onSourcePacket(0, 3, dataPacket(3, 1199)); // cannot fit any repair: unprotected
    expect(bySize.stats.sourcesUnprotected).toBe(1);
  });

  it('R-FEC-6: a lost DATA packet is rebuilt from a repair and acknowledged, so it is never retransmitted', () => {
    const config = withFecReserve({ redundancyMaxFragmentBytes: 0 });
    const id = new Uint8Array([1, 2, 3, 4]);
    const a = new FecConnection(new Connection(0, { role: 'client', connectionId: id, config }));
    const b = new FecConnection(new Connection(0, { role: 'server', connectionId: id, config }));
    a.connection.send(0, 0, new Uint8Array(500).fill(7));
    const first = a.pollTransmit(0)!;
    expect(a.pollTransmit(0)).toBeUndefined(); // the block waits up to maxBlockDelayMs
    const repairs: Uint8Array[] = [];
    for (let r = a.pollTransmit(5); r; r = a.pollTransmit(5)) repairs.push(r);
    expect(repairs.length).toBeGreaterThan(0);
    // The DATA packet is lost; only a repair arrives.
    b.handleDatagram(30, repairs[0]!);
    expect(b.fec.stats.packetsRecovered).toBe(1);
    const message = b.connection.receive();
    expect(message?.data).toEqual(new Uint8Array(500).fill(7));
    // B acknowledges it; A never declares it lost.
    for (let t = 30; t <= 80; t += 10) {
      b.handleTimeout(t);
      for (let d = b.pollTransmit(t); d; d = b.pollTransmit(t)) a.handleDatagram(t + 25, d);
    }
    expect(a.connection.stats.lostPackets).toBe(0);
    expect(a.connection.stats.fragmentRetransmissions).toBe(0);
    expect(a.connection.sendBufferedBytesTotal).toBe(0);
    expect(first.length).toBeGreaterThan(500);
  });

  it('R-FEC-7: the loss report measures the incoming packet-number gaps; its range is enforced', () => {
    const est = new FecLossEstimator();
    expect(est.report()).toBeUndefined();
    // Every fourth packet number lost in runs of 1: 25 % loss, burst 1.
    for (let pn = 0; pn < 4000; pn++) if (pn % 4 !== 3) est.onPacketNumber(pn);
    const report = est.report()!;
    expect(report.lossPermyriad).toBeGreaterThan(2000);
    expect(report.lossPermyriad).toBeLessThan(3000);
    expect(report.meanBurstTenths).toBe(10);
    const e = encoder({ lossReport: () => ({ lossPermyriad: 10_001, meanBurstTenths: 10 }) });
    e.onSourcePacket(0, 0, dataPacket(0, 20));
    expect(() => e.pollRepair(100)).toThrow(RangeError);
  });

  it('R-FEC-8: memory stays bounded under a flood of repairs for unknown blocks; evicted blocks count', () => {
    const decoder = new FecDecoder({ codec, maxBlocks: 16, maxStoredBytes: 64 * 1024, maxStoredSources: 32 });
    const parity = new Uint8Array(1000);
    for (let i = 0; i < 2000; i++) {
      decoder.onRepair(i, {
        connectionId: new Uint8Array(0),
        firstSourcePacketNumber: i * 10,
        repairCount: 1,
        repairIndex: 0,
        lossReport: undefined,
        sourceLengths: [1000, 1000],
        parity,
      });
      decoder.onSourcePacket(i, 100_000 + i, new Uint8Array(900));
      const held = decoder.held;
      expect(held.blocks).toBeLessThanOrEqual(16);
      expect(held.sources).toBeLessThanOrEqual(32);
      expect(held.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(decoder.stats.blocksUnrecoverable).toBeGreaterThan(1900);
    // A repair that disagrees with its block (other sources) is dropped and counted; a larger Repair Count alone
    // is extra repair (R-FEC-14), not a disagreement.
    const before = decoder.stats.inconsistentRepairs;
    decoder.onRepair(2000, {
      connectionId: new Uint8Array(0),
      firstSourcePacketNumber: 19_990,
      repairCount: 2,
      repairIndex: 1,
      lossReport: undefined,
      sourceLengths: [1000, 0, 1000],
      parity,
    });
    expect(decoder.stats.inconsistentRepairs).toBe(before + 1);
  });

  it('R-FEC-9: each class meets its target within its cap; bulk sends none; the application overrides', () => {
    const parity = (fecClass: 'interactive' | 'media' | 'bulk', k: number, policy = {}) =>
      new RedundancyController({ fecClass, policy, initialLossRate: 0.3 }).parityFor(0, k);
    for (const fecClass of ['interactive', 'media'] as const) {
      const { targetResidualLoss, maxRepairRatio } = fecClassPolicies[fecClass];
      for (const k of [1, 4, 10, 16]) {
        const m = parity(fecClass, k);
        const cap = Math.ceil(maxRepairRatio * k);
        expect(m).toBeLessThanOrEqual(cap);
        if (m < cap) expect(residualLoss(k, m, 0.3, 1)).toBeLessThanOrEqual(targetResidualLoss);
        if (m > 0) expect(residualLoss(k, m - 1, 0.3, 1)).toBeGreaterThan(targetResidualLoss);
      }
    }
    expect(parity('interactive', 1)).toBe(3); // a thin stream's lone packet: capped at 3 repairs
    expect(parity('media', 1)).toBe(1);
    expect(parity('bulk', 10)).toBe(0);
    expect(parity('interactive', 10, { maxRepairRatio: 0.2 })).toBe(2);
    expect(parity('bulk', 10, { maxRepairRatio: 1, targetResidualLoss: 0.01 })).toBeGreaterThan(0);
  });

  it('R-FEC-10: m is the smallest count meeting the target under the Gilbert model, from the peer report', () => {
    const c = new RedundancyController({ policy: { targetResidualLoss: 0.01, maxRepairRatio: 10 } });
    c.onPeerReport(0, { lossPermyriad: 2000, meanBurstTenths: 30 });
    expect(c.estimate(100)).toEqual({ lossRate: 0.2, meanBurst: 3 });
    for (const k of [1, 4, 16]) {
      const m = c.parityFor(100, k);
      expect(residualLoss(k, m, 0.2, 3)).toBeLessThanOrEqual(0.01);
      if (m > 0) expect(residualLoss(k, m - 1, 0.2, 3)).toBeGreaterThan(0.01);
    }
    // Burstier loss of the same rate needs more repair.
    const independent = new RedundancyController({
      policy: { targetResidualLoss: 0.01, maxRepairRatio: 10 },
    });
    independent.onPeerReport(0, { lossPermyriad: 2000, meanBurstTenths: 12 });
    expect(c.parityFor(100, 16)).toBeGreaterThan(independent.parityFor(100, 16));
    // After 5 s without reports, ACK feedback takes over (starting at 0.3, weight 1/32 per packet).
    expect(c.estimate(6000)).toEqual({ lossRate: 0.3, meanBurst: 1 });
    c.onAckFeedback(1000, 0);
    expect(c.estimate(6000).lossRate).toBeLessThan(0.001);
    expect(c.parityFor(6000, 8)).toBe(0);
  });

  it('R-FEC-11: connections under FEC get smaller datagrams and copies only of small fragments', () => {
    const config = withFecReserve(undefined);
    expect(config.maxDatagramBytes).toBe(defaultConnectionConfig.maxDatagramBytes - 48);
    expect(config.redundancyMaxFragmentBytes).toBe(defaultConnectionConfig.redundancySmallFragmentBytes);
    expect(
      withFecReserve({ redundancyMaxFragmentBytes: 0, maxDatagramBytes: 1400 }, { reserveBytes: 60 }),
    ).toEqual({
      redundancyMaxFragmentBytes: 0,
      maxDatagramBytes: 1340,
    });
  });

  it('R-FEC-12: a decoder rebuilds blocks from encoders with any settings (ratio in-band)', () => {
    for (const [maxBlockSources, m] of [
      [1, 1],
      [3, 5],
      [40, 2],
      [200, 56],
    ] as const) {
      const e = encoder({ maxBlockSources, maxBlockDelayMs: 1000, parityFor: () => m });
      const decoder = new FecDecoder({ codec });
      const sources: Uint8Array[] = [];
      for (let pn = 0; pn < maxBlockSources; pn++) {
        const packet = dataPacket(pn, 20 + (pn % 7));
        sources.push(packet);
        e.onSourcePacket(0, pn, packet);
      }
      const repairs = drain(e, 0);
      expect(repairs.length).toBe(m);
      // Lose the first min(m, k) sources; deliver the rest and all repairs.
      const lost = Math.min(m, maxBlockSources);
      for (let pn = lost; pn < maxBlockSources; pn++) decoder.onSourcePacket(0, pn, sources[pn]!);
      const rebuilt = repairs.flatMap((r) => decoder.onRepairPacket(0, r));
      expect(rebuilt.map(toHex)).toEqual(sources.slice(0, lost).map(toHex));
    }
  });
});
