import { describe, expect, it } from 'vitest';
import type { CcPacket, CcRtt, CongestionController } from '../../src/protocol/cc/congestion-controller.ts';
import { LossTolerant } from '../../src/protocol/cc/loss-tolerant.ts';
import { NewReno } from '../../src/protocol/cc/new-reno.ts';
import { Connection } from '../../src/protocol/connection.ts';
import type { RateSample } from '../../src/protocol/recovery/delivery-rate.ts';
import { CcScript, mssBytes } from '../unit/cc-script.ts';

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

  it('R-CC-5: default controller, model and formulas (window 2 × BDP + 3 MSS, pacing floor, background loss)', () => {
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
    script.round(800_000);
    expect(cc.mode).toBe('probe-bw');
    expect(cc.congestionWindowBytes).toBeCloseTo(2 * 800_000 * 0.05 + 3 * mssBytes, 6);
    // Losses and persistent congestion do not touch the window directly.
    script.cc.onPacketsLost(
      script.nowMs,
      [{ packetNumber: 0, sizeBytes: 1200, timeSentMs: 0, appLimited: false }],
      true,
    );
    expect(cc.congestionWindowBytes).toBeCloseTo(2 * 800_000 * 0.05 + 3 * mssBytes, 6);
    // Background loss: one flat round losing 3 of 10 packets (the one above counts too: 4 of 11).
    script.round(560_000, { packets: 7, lost: 3 });
    expect(cc.backgroundLoss).toBeCloseTo(4 / 11 / 8, 9);
    // Samples are scaled by 1 / (1 − b): a sample above the max shows it.
    script.round(900_000, { packets: 10 });
    const b = cc.backgroundLoss;
    expect(cc.bottleneckBandwidthBytesPerSec).toBeCloseTo(900_000 / (1 - b), 6);
    // The bandwidth filter keeps 10 rounds: the 900 000 sample ages out after 10 rounds of lower ones.
    for (let i = 0; i < 9; i++) script.round(700_000, { packets: 10 });
    expect(cc.bottleneckBandwidthBytesPerSec).toBeCloseTo(900_000 / (1 - b), 6);
    script.round(700_000, { packets: 10 });
    expect(cc.bottleneckBandwidthBytesPerSec).toBeLessThan(800_000);
    // The window never goes below 4 × MSS after STARTUP, however small the model.
    const tiny = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    for (const r of [1000, 1000, 1000, 1000, 1000]) tiny.round(r);
    expect((tiny.cc as LossTolerant).mode).not.toBe('startup');
    expect(tiny.cc.congestionWindowBytes).toBe(4 * mssBytes);
  });

  it('R-CC-6: queueing (latest and smoothed RTT > 1.25 × min + 2 ms) with loss > background + 2% backs off 0.85', () => {
    const atBoundary = (rtt: CcRtt, lost: number): number => {
      const script = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
      for (const r of [100_000, 200_000, 400_000, 800_000, 800_000, 800_000, 800_000, 800_000]) {
        script.round(r, { rtt: flat });
      }
      script.round(100_000, { packets: 100 - lost, lost, rtt });
      return (script.cc as LossTolerant).bottleneckBandwidthBytesPerSec;
    };
    const over = { latestRttMs: 64.6, smoothedRttMs: 64.6, minRttMs: 50 };
    expect(atBoundary(over, 3)).toBeCloseTo(0.85 * 800_000, 6);
    expect(atBoundary({ ...over, latestRttMs: 64.5 }, 3)).toBeCloseTo(800_000, 6); // not above 1.25 × 50 + 2
    expect(atBoundary({ ...over, smoothedRttMs: 50 }, 3)).toBeCloseTo(800_000, 6); // one inflated RTT is noise
    expect(atBoundary(over, 2)).toBeCloseTo(800_000, 6); // 2% is not above background 0 + 2%
    expect(atBoundary(flat, 30)).toBeCloseTo(800_000, 6); // loss without queueing is random loss
    // In STARTUP congestion also ends STARTUP.
    const startup = new CcScript(new LossTolerant({ maxDatagramBytes: mssBytes }));
    startup.round(100_000, { rtt: flat });
    startup.round(200_000, { rtt: flat });
    expect((startup.cc as LossTolerant).mode).toBe('startup');
    startup.round(200_000, { lost: 5, rtt: over, bytesInFlight: 1e9 });
    expect((startup.cc as LossTolerant).mode).toBe('drain');
    expect((startup.cc as LossTolerant).bottleneckBandwidthBytesPerSec).toBeCloseTo(200_000, 6); // max(0.85 × 200k, sample)
    // NewReno, for contrast, reduces on any loss (R-CC-2).
    const reno = new NewReno({ maxDatagramBytes: 1200 });
    reno.onPacketsLost(10, [{ packetNumber: 0, sizeBytes: 1200, timeSentMs: 5, appLimited: false }], false);
    expect(reno.congestionWindowBytes).toBe(6000);
  });
});
