import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FecConnection } from '../../src/fec/fec-connection.ts';
import { FecEncoder } from '../../src/fec/fec-encoder.ts';
import { FecEndpoint } from '../../src/fec/fec-endpoint.ts';
import { decodeRepairPacket } from '../../src/fec/fec-header.ts';
import { FecLossEstimator } from '../../src/fec/fec-loss-estimator.ts';
import { withFecReserve } from '../../src/fec/fec-session.ts';
import { RedundancyController, residualLoss } from '../../src/fec/redundancy-controller.ts';
import { ReedSolomonCodec } from '../../src/fec/reed-solomon.ts';
import { Connection } from '../../src/protocol/connection.ts';
import { Endpoint } from '../../src/protocol/endpoint.ts';
import { SeededRandom } from '../../src/sim/random.ts';

// Unit tests of the FEC layer's parts: the residual-loss model against a naive reference, the controller's
// estimate, the loss estimator on known patterns, encoder limits, and the wrappers under garbage input.

const codec = new ReedSolomonCodec();

/** Naive reference for independent loss: Σ_{l>m} C(n,l) p^l (1−p)^(n−l) × l / n. */
function binomialResidual(k: number, m: number, p: number): number {
  const n = k + m;
  let sum = 0;
  let choose = 1;
  for (let l = 0; l <= n; l++) {
    if (l > 0) choose = (choose * (n - l + 1)) / l;
    if (l > m) sum += choose * p ** l * (1 - p) ** (n - l) * (l / n);
  }
  return sum;
}

describe('residualLoss (R-FEC-10 model)', () => {
  it('matches the binomial reference for independent loss (burst ≤ 1 / (1 − p))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 30 }),
        fc.double({ min: 0.001, max: 0.8, noNaN: true }),
        (k, m, p) => {
          expect(residualLoss(k, m, p, 1)).toBeCloseTo(binomialResidual(k, m, p), 10);
          expect(residualLoss(k, m, p, 1 / (1 - p))).toBeCloseTo(binomialResidual(k, m, p), 10);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('falls as m grows, rises with burstiness where m covers the mean, and m = 0 leaves exactly p', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0.01, max: 0.6, noNaN: true }),
        fc.double({ min: 2, max: 8, noNaN: true }),
        (k, m, p, b) => {
          expect(residualLoss(k, m + 1, p, b)).toBeLessThanOrEqual(residualLoss(k, m, p, b) + 1e-12);
          expect(residualLoss(k, 0, p, b)).toBeCloseTo(p, 10);
          // Where the block is sized for the mean loss (m ≥ p·n), burstier loss fills the tail beyond m.
          if (m >= p * (k + m) && b >= 1 / (1 - p) + 0.5) {
            expect(residualLoss(k, m, p, b)).toBeGreaterThanOrEqual(residualLoss(k, m, p, 1) - 1e-12);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('FecLossEstimator (R-FEC-7)', () => {
  it('estimates loss rate and mean burst of a Gilbert pattern', () => {
    const random = new SeededRandom(5);
    const est = new FecLossEstimator();
    // Bursts of mean length 3 at 20% loss: P(bad→good) = 1/3, P(good→bad) = 0.2 × (1/3) / 0.8.
    let bad = false;
    let lost = 0;
    const n = 200_000;
    for (let pn = 0; pn < n; pn++) {
      bad = bad ? random.float() >= 1 / 3 : random.float() < 0.2 / 3 / 0.8;
      if (bad) lost++;
      else est.onPacketNumber(pn);
    }
    expect(lost / n).toBeGreaterThan(0.18);
    expect(est.lossRate).toBeGreaterThan(0.1);
    expect(est.lossRate).toBeLessThan(0.3);
    expect(est.meanBurst).toBeGreaterThan(2);
    expect(est.meanBurst).toBeLessThan(4.5);
  });

  it('takes a loss back when a reordered packet arrives late', () => {
    const est = new FecLossEstimator();
    for (let pn = 0; pn < 100; pn++) if (pn !== 50) est.onPacketNumber(pn);
    const withGap = est.lossRate;
    est.onPacketNumber(50);
    expect(est.lossRate).toBeLessThan(withGap);
    expect(est.lossRate).toBeGreaterThanOrEqual(0);
  });
});

describe('RedundancyController', () => {
  it('prefers a fresh peer report; ignores non-positive feedback; clamps extreme loss', () => {
    const c = new RedundancyController();
    expect(c.estimate(0)).toEqual({ lossRate: 0.3, meanBurst: 1 });
    c.onAckFeedback(0, 5);
    c.onAckFeedback(-3, 1);
    expect(c.estimate(0).lossRate).toBe(0.3);
    c.onPeerReport(100, { lossPermyriad: 10_000, meanBurstTenths: 16_383 });
    const m = c.parityFor(100, 4);
    expect(m).toBe(12); // p clamped to 0.9: the cap (3 × 4) binds
    expect(c.estimate(5101)).toEqual({ lossRate: 0.3, meanBurst: 1 });
  });
});

describe('FecEncoder limits', () => {
  it('rejects bad options and clamps what the controller asks for', () => {
    const base = { connectionId: new Uint8Array(4), maxRepairBytes: 1200, parityFor: () => 1, codec };
    expect(() => new FecEncoder({ ...base, maxBlockSources: 0 })).toThrow(RangeError);
    expect(() => new FecEncoder({ ...base, maxBlockSources: 256 })).toThrow(RangeError);
    expect(() => new FecEncoder({ ...base, maxBlockDelayMs: -1 })).toThrow(RangeError);
    expect(() => new FecEncoder({ ...base, maxRepairBytes: 10 })).toThrow(RangeError);
    for (const asked of [Number.NaN, -4, 1000]) {
      const e = new FecEncoder({ ...base, maxBlockSources: 250, parityFor: () => asked });
      for (let pn = 0; pn < 250; pn++) e.onSourcePacket(0, pn, new Uint8Array([pn & 0xff]));
      const repairs: Uint8Array[] = [];
      for (let r = e.pollRepair(0); r; r = e.pollRepair(0)) repairs.push(r);
      expect(repairs.length).toBe(asked === 1000 ? 6 : 0);
      for (const r of repairs) expect(decodeRepairPacket(r).ok).toBe(true);
    }
  });

  it('a packet number going backwards starts a new block', () => {
    const e = new FecEncoder({
      connectionId: new Uint8Array(4),
      maxRepairBytes: 1200,
      parityFor: () => 1,
      codec,
    });
    e.onSourcePacket(0, 10, new Uint8Array(5));
    e.onSourcePacket(0, 4, new Uint8Array(5));
    expect(e.stats.blocks).toBe(1);
    expect(e.pendingRepairs).toBe(1);
  });
});

describe('FEC wrappers under garbage', () => {
  it('FecConnection: random datagrams never throw, the connection stays usable', () => {
    const id = new Uint8Array([1, 2, 3, 4]);
    const config = withFecReserve(undefined);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }), (datagrams) => {
        const b = new FecConnection(new Connection(0, { role: 'server', connectionId: id, config }));
        for (const d of datagrams) {
          // Make many of them REPAIR packets for this connection so the FEC path is exercised.
          if (d.length > 6 && d[0]! < 128) d.set([0x90, 1, 2, 3, 4], 0);
          b.handleDatagram(1, d);
        }
        expect(b.connection.state).toBe('open');
        b.connection.send(2, 0, new Uint8Array(10));
        expect(b.pollTransmit(2)).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });

  it('FecEndpoint: REPAIR packets for unknown connections are dropped and never open one', () => {
    const endpoint = new Endpoint({ random: new SeededRandom(1), acceptConnections: true });
    const fec = new FecEndpoint(endpoint);
    fec.handleDatagram(
      0,
      'x',
      Uint8Array.from([0x90, 9, 9, 9, 9, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xaa]),
    );
    expect(fec.stats.unroutableRepairs).toBe(1);
    expect(endpoint.connections).toEqual([]);
    fec.handleDatagram(0, 'x', Uint8Array.from([0xff, 0x00]));
    expect(endpoint.stats.malformed).toBe(1);
  });
});
