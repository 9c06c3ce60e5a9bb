import { describe, expect, it } from 'vitest';
import type { CcPacket, CongestionController } from '../../src/protocol/cc/congestion-controller.ts';
import { NewReno } from '../../src/protocol/cc/new-reno.ts';
import { Pacer } from '../../src/protocol/cc/pacer.ts';
import { Connection } from '../../src/protocol/connection.ts';

// spec.md §9 (congestion control and pacing): one test per requirement id (design.md rule 10).

const pkt = (packetNumber: number, timeSentMs: number, appLimited = false): CcPacket => ({
  packetNumber,
  sizeBytes: 1200,
  timeSentMs,
  appLimited,
});

/** A controller with a fixed window and no pacing that records what the connection tells it. */
class FixedWindow implements CongestionController {
  readonly name = 'fixed';
  readonly congestionWindowBytes = 2400;
  sent: number[] = [];
  acked: number[] = [];
  pacingRateBytesPerSec(): number | undefined {
    return undefined;
  }
  onPacketSent(_nowMs: number, packet: CcPacket): void {
    this.sent.push(packet.packetNumber);
  }
  onPacketsAcked(_nowMs: number, packets: readonly CcPacket[]): void {
    for (const p of packets) this.acked.push(p.packetNumber);
  }
  onPacketsLost(): void {}
  onSpuriousLoss(): void {}
}

describe('spec §9 congestion control and pacing', () => {
  it('R-CC-1: new data only while bytes in flight are below the window; ACK-only packets are not in flight', () => {
    const cid = Uint8Array.of(1, 2, 3, 4);
    const fixed = new FixedWindow();
    const config = { redundancyMaxFragmentBytes: 0 };
    const client = new Connection(0, {
      role: 'client',
      connectionId: cid,
      config,
      congestionController: fixed,
    });
    const server = new Connection(0, { role: 'server', connectionId: cid, config });
    client.send(0, 0, new Uint8Array(10_000));
    const sent: Uint8Array[] = [];
    for (let d = client.pollTransmit(0); d; d = client.pollTransmit(0)) sent.push(d);
    const total = sent.reduce((n, d) => n + d.length, 0);
    expect(total - sent.at(-1)!.length).toBeLessThan(2400); // the last one may overshoot the window…
    expect(total).toBeGreaterThanOrEqual(2400); // …and then nothing more goes out
    expect(client.congestion.bytesInFlight).toBe(total);
    expect(fixed.sent).toEqual(sent.map((_, i) => i));
    for (const d of sent) server.handleDatagram(10, d);
    const ack = server.pollTransmit(10)!;
    expect(server.stats.ackOnlyPackets).toBe(1);
    expect(server.congestion.bytesInFlight).toBe(0);
    client.handleDatagram(20, ack);
    expect(fixed.acked).toEqual(sent.map((_, i) => i));
    expect(client.congestion.bytesInFlight).toBe(0);
    expect(client.pollTransmit(20)).toBeDefined(); // the window opened again
  });

  it('R-CC-2: NewReno: slow start, one halving per recovery period, linear growth, persistent congestion, undo', () => {
    const cc = new NewReno({ maxDatagramBytes: 1200 });
    expect(cc.congestionWindowBytes).toBe(12_000); // min(10 × 1200, max(14720, 2 × 1200))
    cc.onPacketsAcked(100, [pkt(0, 0)]);
    expect(cc.congestionWindowBytes).toBe(13_200); // slow start: + acknowledged bytes
    cc.onPacketsAcked(100, [pkt(1, 0, true)]);
    expect(cc.congestionWindowBytes).toBe(13_200); // application-limited: no growth
    cc.onPacketsLost(200, [pkt(2, 150)], false);
    expect([cc.congestionWindowBytes, cc.ssthreshBytes]).toEqual([6600, 6600]);
    cc.onPacketsLost(210, [pkt(3, 160)], false); // sent before recovery started: same period
    expect(cc.congestionWindowBytes).toBe(6600);
    cc.onPacketsAcked(250, [pkt(4, 190)]); // sent before recovery: no growth
    expect(cc.congestionWindowBytes).toBe(6600);
    for (let i = 0; i < 5; i++) cc.onPacketsAcked(400, [pkt(10 + i, 300)]); // 6000 bytes < window
    expect(cc.congestionWindowBytes).toBe(6600);
    cc.onPacketsAcked(400, [pkt(20, 300)]); // 7200 ≥ 6600: one datagram more
    expect(cc.congestionWindowBytes).toBe(7800);
    cc.onPacketsLost(500, [pkt(21, 450)], true);
    expect(cc.congestionWindowBytes).toBe(2400); // persistent congestion: minimum window
    const undo = new NewReno({ maxDatagramBytes: 1200 });
    undo.onPacketsLost(200, [pkt(2, 150)], false);
    undo.onSpuriousLoss(300, pkt(5, 250)); // sent after the reduction: not its cause
    expect(undo.congestionWindowBytes).toBe(6000);
    undo.onSpuriousLoss(300, pkt(2, 150));
    expect([undo.congestionWindowBytes, undo.ssthreshBytes]).toEqual([12_000, Number.POSITIVE_INFINITY]);
  });

  it('R-CC-3: a leaky bucket paces at the controller rate with a burst allowance', () => {
    const pacer = new Pacer(12_000);
    const rate = 1_200_000; // 1200 bytes per ms
    expect(pacer.nextSendTimeMs(0, 1200, undefined)).toBe(0);
    for (let i = 0; i < 10; i++) {
      expect(pacer.nextSendTimeMs(0, 1200, rate)).toBe(0);
      pacer.onSend(0, 1200, rate);
    }
    expect(pacer.nextSendTimeMs(0, 1200, rate)).toBe(1);
    expect(pacer.nextSendTimeMs(0.5, 1200, rate)).toBe(1);
    expect(pacer.nextSendTimeMs(100, 1200, rate)).toBe(100);
    for (let i = 0; i < 10; i++) pacer.onSend(100, 1200, rate); // the bucket never holds more than the burst
    expect(pacer.nextSendTimeMs(100, 1200, rate)).toBe(101);
  });
});
