import { describe, expect, it } from 'vitest';
import type { CcPacket, CcRtt, CongestionController } from '../../src/protocol/cc/congestion-controller.ts';
import { LossTolerant } from '../../src/protocol/cc/loss-tolerant.ts';
import { NewReno } from '../../src/protocol/cc/new-reno.ts';
import { Connection } from '../../src/protocol/connection.ts';
import type { RateSample } from '../../src/protocol/recovery/delivery-rate.ts';
import { CcScript, mssBytes } from '../unit/cc-script.ts';

/** Three distinct RTT samples a hair above `rtt.latestRttMs`, so the next round is not sparse and the recent
 * samples show its queue (R-CC-5, R-CC-7). */
function fillSamples(script: CcScript, rtt: CcRtt): void {
  for (const extra of [0.07, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01]) {
    script.cc.onPacketsAcked(
      script.nowMs,
      [],
      { ...rtt, latestRttMs: rtt.latestRttMs + extra },
      0,
      undefined,
    );
  }
}

// spec.md §9.2 and §9.3 (delivery-rate sampling, the loss-tolerant controller): one test per requirement id.

/** A fixed-window controller that records the delivery-rate samples the connection hands it. */
class SampleRecorder implements CongestionController {
  readonly name = 'recorder';
  readonly congestionWindowBytes = 12_000;
  readonly calls: { ackedBytes: number; sample: RateSample | undefined }[] = [];
  pacingRateBytesPerSec(): number | undefined {
    return undefined;
  }
  onPacketSent(): void {}
  onPacketsAcked(
    _nowMs: number,
    packets: readonly CcPacket[],
    _rtt: CcRtt,
    _bytesInFlight: number,
    sample: RateSample | undefined,
  ): void {
    this.calls.push({ ackedBytes: packets.reduce((n, p) => n + p.sizeBytes, 0), sample });
  }
  onPacketsLost(): void {}
  onSpuriousLoss(): void {}
}

/** Client and server over a lossless 25 ms path for 5 s; the client uses `cc`. */
function transfer(cc: CongestionController, bytes: number): void {
  const cid = Uint8Array.of(1, 2, 3, 4);
  const config = { redundancyMaxFragmentBytes: 0 };
  const client = new Connection(0, { role: 'client', connectionId: cid, config, congestionController: cc });
  const server = new Connection(0, { role: 'server', connectionId: cid, config });
  client.send(0, 0, new Uint8Array(bytes));
  let wire: { atMs: number; to: Connection; bytes: Uint8Array }[] = [];
  let nowMs = 0;
  for (let step = 0; step < 100_000 && nowMs < 5000; step++) {
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      for (let d = from.pollTransmit(nowMs); d; d = from.pollTransmit(nowMs))
        wire.push({ atMs: nowMs + 25, to, bytes: d });
      while (to.receive()) {}
    }
    const next = Math.min(
      ...wire.map((w) => w.atMs),
      client.nextTimeout() ?? Infinity,
      server.nextTimeout() ?? Infinity,
    );
    nowMs = Math.max(nowMs, next);
    for (const w of wire.filter((x) => x.atMs <= nowMs)) w.to.handleDatagram(nowMs, w.bytes);
    wire = wire.filter((x) => x.atMs > nowMs);
    for (const c of [client, server]) if ((c.nextTimeout() ?? Infinity) <= nowMs) c.handleTimeout(nowMs);
  }
}

const flat = { latestRttMs: 50, smoothedRttMs: 50, minRttMs: 50 };

describe('spec §9.2–9.3 delivery rate and the loss-tolerant controller', () => {
  it('R-CC-4: every ACK of in-flight packets brings a sample; delivered counts them; the tail is app-limited', () => {
    const recorder = new SampleRecorder();
    transfer(recorder, 200_000);
    const total = recorder.calls.reduce((n, c) => n + c.ackedBytes, 0);
    expect(total).toBeGreaterThan(200_000); // payload plus headers of every data packet
    let delivered = 0;
    for (const { ackedBytes, sample } of recorder.calls) {
      delivered += ackedBytes;
      expect(sample).toBeDefined(); // a lossless path: every interval is positive
      // prior + delivered over the interval = everything acknowledged so far.
      expect(sample!.priorDeliveredBytes + sample!.deliveredBytes).toBe(delivered);
      expect(sample!.deliveryRateBytesPerSec).toBeCloseTo(
        (sample!.deliveredBytes * 1000) / sample!.intervalMs,
        6,
      );
      // A window of 12 000 bytes per round trip of ≥ 50 ms bounds any honest sample (plus one packet of overshoot).
      expect(sample!.deliveryRateBytesPerSec).toBeLessThanOrEqual(((12_000 + 1200) * 1000) / 50);
    }
    const samples = recorder.calls.map((c) => c.sample!);
    const busy = samples.filter((s) => !s.appLimited);
    expect(busy.length).toBeGreaterThan(samples.length / 2);
    // Once the window is full the samples measure it: about one window per round trip (50 ms + ACK delay).
    const late = busy.slice(Math.floor(busy.length / 2));
    for (const s of late) expect(s.deliveryRateBytesPerSec).toBeGreaterThan((0.6 * 12_000 * 1000) / 70);
    expect(samples.at(-1)!.appLimited).toBe(true); // the last packets left with nothing more to send
  });

  it('R-CC-5: default controller, model and formulas (window 2 × rate × min RTT + 3 MSS, pacing floor, background loss)', () => {
    const cid = Uint8Array.of(9, 9, 9, 9);
    expect(new Connection(0, { role: 'client', connectionId: cid }).congestion.controller).toBe(
      'loss-tolerant',
    );
    const reno = new Connection(0, {
      role: 'client',
      connectionId: cid,
      config: { congestionControl: 'newreno' },
    });
    expect(reno.congestion.controller).toBe('newreno');
    const cubic = new Connection(0, {
      role: 'client',
      connectionId: cid,
      config: { congestionControl: 'cubic' },
    });
    expect(cubic.congestion.controller).toBe('cubic');
    const given = new Connection(0, {
      role: 'client',
      connectionId: cid,
      config: { congestionControl: 'newreno' },
      congestionController: new LossTolerant({ maxDatagramBytes: 1200 }),
    });
    expect(given.congestion.controller).toBe('loss-tolerant'); // an instance overrides the config
    const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    const cc = script.cc as LossTolerant;
    expect(cc.congestionWindowBytes).toBe(12_000); // no sample yet: the initial window of R-CC-2
    expect(cc.pacingRateBytesPerSec(flat)).toBe(12_000 / 0.05); // floor: initial window per smoothed RTT
    for (const r of [100_000, 200_000, 400_000, 800_000, 800_000, 800_000, 800_000, 800_000]) {
      script.round(r, { bytesInFlight: 1e9 });
    }
    expect(cc.mode).toBe('drain');
    expect(cc.congestionWindowBytes).toBeCloseTo(2 * 800_000 * 0.05 + 3 * mssBytes, 6);
    expect(cc.pacingRateBytesPerSec(flat)).toBeCloseTo(800_000 / 2.885, 6);
    script.round(800_000);
    expect(cc.mode).toBe('cruise');
    expect(cc.cruiseRateBytesPerSec).toBeCloseTo(720_000, 6); // 0.9 × bw
    expect(cc.congestionWindowBytes).toBeCloseTo(2 * 720_000 * 0.05 + 3 * mssBytes, 6);
    // Losses and persistent congestion do not touch the window directly.
    script.cc.onPacketsLost(
      script.nowMs,
      [{ packetNumber: 0, sizeBytes: 1200, timeSentMs: 0, appLimited: false }],
      true,
    );
    expect(cc.congestionWindowBytes).toBeCloseTo(2 * 720_000 * 0.05 + 3 * mssBytes, 6);
    // Background loss: one round without a queue losing 3 of 10 packets (the one above counts too: 4 of 11).
    script.round(560_000, { packets: 7, lost: 3 });
    expect(cc.backgroundLoss).toBeCloseTo(4 / 11 / 8, 9);
    // Samples are scaled by 1 / (1 − b) (b as of the sample): a sample above the max shows it.
    const b = cc.backgroundLoss;
    script.round(900_000, { packets: 10 });
    expect(cc.bottleneckBandwidthBytesPerSec).toBeCloseTo(900_000 / (1 - b), 6);
    // The bandwidth filter keeps 10 rounds: the 900 000 sample ages out after 10 rounds of lower ones.
    for (let i = 0; i < 9; i++) script.round(700_000, { packets: 10 });
    expect(cc.bottleneckBandwidthBytesPerSec).toBeCloseTo(900_000 / (1 - b), 6);
    script.round(700_000, { packets: 10 });
    expect(cc.bottleneckBandwidthBytesPerSec).toBeLessThan(800_000);
    // In STARTUP the background loss is learnt with weight 1/2.
    const early = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    early.round(100_000, { packets: 7, lost: 3, bytesInFlight: 1e9 });
    expect((early.cc as LossTolerant).backgroundLoss).toBeCloseTo(0.3 / 2, 9);
    // The window never goes below 4 × MSS after STARTUP, however small the model.
    const tiny = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    for (const r of [1000, 1000, 1000, 1000, 1000]) tiny.round(r);
    expect((tiny.cc as LossTolerant).mode).not.toBe('startup');
    expect(tiny.cc.congestionWindowBytes).toBe(4 * mssBytes);
  });

  it('R-CC-6: a round with a queue (every RTT > min + 2 + min(¼ min, 20) ms) and loss > background + 2% cuts 0.85', () => {
    const atBoundary = (rtt: CcRtt, lost: number): number => {
      const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
      for (const r of [100_000, 200_000, 400_000, 800_000, 800_000, 800_000, 800_000, 800_000]) {
        script.round(r, { rtt: flat, bytesInFlight: 1e9 });
      }
      script.round(800_000, { rtt: flat }); // DRAIN → CRUISE at 0.9 × 800 000
      // Three more distinct samples a hair above the round's own, so the round is not sparse.
      for (const extra of [0.01, 0.02, 0.03]) {
        const latest = rtt.latestRttMs + extra;
        script.cc.onPacketsAcked(script.nowMs, [], { ...rtt, latestRttMs: latest }, 0, undefined);
      }
      script.round(100_000, { packets: 100 - lost, lost, rtt });
      return (script.cc as LossTolerant).cruiseRateBytesPerSec;
    };
    const over = { latestRttMs: 64.6, smoothedRttMs: 64.6, minRttMs: 50 }; // threshold 50 + 2 + 12.5
    expect(atBoundary(over, 3)).toBeCloseTo(0.85 * 720_000, 6);
    expect(atBoundary(over, 2)).not.toBeCloseTo(0.85 * 720_000, 0); // 2% is not above background 0 + 2%
    expect(atBoundary(flat, 30)).toBeGreaterThanOrEqual(720_000); // loss without a queue is random loss
    // At or below the threshold it is not a queue: the PD step of R-CC-7 applies instead of the cut.
    const below = { latestRttMs: 64.5, smoothedRttMs: 64.5, minRttMs: 50 };
    expect(atBoundary(below, 3)).not.toBeCloseTo(0.85 * 720_000, 0);
    // The threshold is capped at 20 ms + 2 ms on long paths: at min RTT 400 ms, 423 ms is a queue (in a round of
    // at least 4 samples; a sparse round allows 20 ms of ACK delay more).
    const long = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    long.rtt = { latestRttMs: 400, smoothedRttMs: 400, minRttMs: 400 };
    for (const r of [100_000, 200_000, 400_000, 800_000, 800_000, 800_000, 800_000, 800_000]) {
      long.round(r, { bytesInFlight: 1e9 });
    }
    long.round(800_000);
    expect((long.cc as LossTolerant).mode).toBe('cruise');
    fillSamples(long, { latestRttMs: 423, smoothedRttMs: 423, minRttMs: 400 });
    long.round(100_000, {
      packets: 97,
      lost: 3,
      rtt: { latestRttMs: 423, smoothedRttMs: 423, minRttMs: 400 },
    });
    expect((long.cc as LossTolerant).cruiseRateBytesPerSec).toBeCloseTo(0.85 * 720_000, 6);
    // In STARTUP a queue (with or without loss) ends STARTUP.
    const startup = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    startup.round(100_000, { rtt: flat });
    startup.round(200_000, { rtt: flat });
    expect((startup.cc as LossTolerant).mode).toBe('startup');
    fillSamples(startup, over);
    startup.round(200_000, { lost: 5, rtt: over, bytesInFlight: 1e9 });
    expect((startup.cc as LossTolerant).mode).toBe('drain');
    // NewReno, for contrast, reduces on any loss (R-CC-2).
    const reno = new NewReno({ maxDatagramBytes: 1200 });
    reno.onPacketsLost(10, [{ packetNumber: 0, sizeBytes: 1200, timeSentMs: 5, appLimited: false }], false);
    expect(reno.congestionWindowBytes).toBe(6000);
  });

  it('R-CC-7: cruise steers towards α = 8 MSS of own bytes queued; a large queue cuts; no queue grows 12.5%', () => {
    const alpha = 8 * mssBytes;
    const cruise = (): CcScript => {
      const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
      for (const r of [100_000, 200_000, 400_000, 800_000, 800_000, 800_000, 800_000, 800_000]) {
        script.round(r, { rtt: flat, bytesInFlight: 1e9 });
      }
      script.round(800_000, { rtt: flat });
      return script;
    };
    const rateOf = (script: CcScript) => (script.cc as LossTolerant).cruiseRateBytesPerSec;
    // Cruise entered at 0.9 × 800 000. PD step: q = 720 000 × 0.014 = 10 080 B > α; then Q = 20 ms adds the
    // trend term.
    const pd = cruise();
    expect(rateOf(pd)).toBeCloseTo(720_000, 6);
    fillSamples(pd, { latestRttMs: 64, smoothedRttMs: 64, minRttMs: 50 });
    pd.round(800_000, { rtt: { latestRttMs: 64, smoothedRttMs: 64, minRttMs: 50 } });
    const r1 = 720_000 + (0.15 * (alpha - 10_080) * 1000) / 50;
    expect(rateOf(pd)).toBeCloseTo(r1, 6);
    fillSamples(pd, { latestRttMs: 70, smoothedRttMs: 70, minRttMs: 50 });
    pd.round(800_000, { rtt: { latestRttMs: 70, smoothedRttMs: 70, minRttMs: 50 } });
    const q2 = r1 * 0.02;
    expect(rateOf(pd)).toBeCloseTo(r1 + ((0.15 * (alpha - q2) - 0.5 * (q2 - 10_080)) * 1000) / 50, 3);
    // Large queue: Q = 40 ms > 2 × 14.5 ms → rate = min(rate, D) × max(0.5, 1 − 40/50).
    const big = cruise();
    fillSamples(big, { latestRttMs: 90, smoothedRttMs: 90, minRttMs: 50 });
    big.round(600_000, { rtt: { latestRttMs: 90, smoothedRttMs: 90, minRttMs: 50 } });
    expect(rateOf(big)).toBeCloseTo(600_000 * 0.5, 6);
    // No queue for two rounds: 12.5% of the delivered rate, capped at 4 α / min RTT.
    const free = cruise();
    free.round(800_000, { rtt: flat });
    expect(rateOf(free)).toBeCloseTo(720_000 + (0.15 * alpha * 1000) / 50, 6); // first free round: PD
    free.round(800_000, { rtt: flat });
    expect(rateOf(free)).toBeCloseTo(Math.min(800_000 * 1.125, 800_000 + (4 * alpha * 1000) / 50), 6);
    // A round mostly application-limited leaves the rate alone and paces at least at 2.885 × bw, as STARTUP.
    const idle = cruise();
    idle.round(50_000, { appLimited: true, rtt: flat });
    expect(rateOf(idle)).toBeCloseTo(720_000, 6);
    const bw = (idle.cc as LossTolerant).bottleneckBandwidthBytesPerSec;
    expect(idle.cc.pacingRateBytesPerSec(flat)).toBeCloseTo(2.885 * bw, 6);
    idle.round(800_000, { rtt: flat }); // busy again: pacing at the cruising rate
    expect(idle.cc.pacingRateBytesPerSec(flat)).toBeCloseTo(rateOf(idle), 6);
    // The PD step never more than halves the rate, and the floor is 4 MSS per min RTT.
    const halve = cruise();
    fillSamples(halve, { latestRttMs: 78, smoothedRttMs: 78, minRttMs: 50 });
    halve.round(800_000, { rtt: { latestRttMs: 78, smoothedRttMs: 78, minRttMs: 50 } }); // q = 22 400, Q < 29
    expect(rateOf(halve)).toBeGreaterThanOrEqual(360_000);
    const floor = cruise();
    for (let i = 0; i < 30; i++)
      floor.round(10_000, { rtt: { latestRttMs: 100, smoothedRttMs: 100, minRttMs: 50 } });
    expect(rateOf(floor)).toBeGreaterThanOrEqual((4 * mssBytes * 1000) / 50 - 1e-6);
  });

  it('R-CC-8: min RTT falls with any lower sample; 3 rounds above 2 × min + 5 ms re-learn it (path change)', () => {
    const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    const cc = script.cc as LossTolerant;
    for (const r of [100_000, 200_000, 400_000, 800_000, 800_000, 800_000, 800_000, 800_000]) {
      script.round(r, { rtt: flat, bytesInFlight: 1e9 });
    }
    script.round(800_000, { rtt: flat });
    expect(cc.minRttMs).toBe(50);
    const at = (ms: number) => ({ latestRttMs: ms, smoothedRttMs: ms, minRttMs: 50 });
    // Two elevated rounds, then one at 104 ms (not above 2 × 50 + 5): the count restarts.
    script.round(800_000, { rtt: at(300) });
    script.round(800_000, { rtt: at(300) });
    script.round(800_000, { rtt: at(104) });
    script.round(800_000, { rtt: at(300) });
    script.round(800_000, { rtt: at(300) });
    expect(cc.minRttMs).toBe(50);
    script.round(800_000, { rtt: at(310) });
    expect(cc.minRttMs).toBe(310); // the last elevated round's minimum
    expect(cc.mode).toBe('cruise');
    expect(cc.cruiseRateBytesPerSec).toBeCloseTo(cc.bottleneckBandwidthBytesPerSec, 6);
    script.round(800_000, { rtt: at(40) });
    expect(cc.minRttMs).toBe(40); // a shorter path at once
  });
});
