import type { CcPacket, CcRtt, CongestionController } from '../../src/protocol/cc/congestion-controller.ts';
import { Pacer } from '../../src/protocol/cc/pacer.ts';
import { DeliveryRateSampler, type DeliverySnapshot } from '../../src/protocol/recovery/delivery-rate.ts';
import { RttEstimator } from '../../src/protocol/recovery/rtt-estimator.ts';

/**
 * A packet-level bottleneck for testing a congestion controller alone (spec §9, R-CC-4..6): the sender paces and
 * windows with the controller under test, a FIFO link forwards at `rateBytesPerSec`, then a fraction `lossRate`
 * of packets is dropped at random (after the bottleneck, so lost packets used capacity: the bottleneck rate is
 * the true path rate the model should find), and each packet that arrives is acknowledged alone. The path never
 * reorders, so loss detection is R-LOSS-3 with a zero reordering window (a packet sent before an acknowledged one
 * is lost at once) plus a timer for tail losses: a packet unacknowledged 1.25 × max(smoothed, latest RTT) + 5 ms
 * after it was sent is lost (a late ACK of it is reported as a spurious loss, R-LOSS-7).
 */
export interface BottleneckOptions {
  /** Bottleneck forwarding rate (bytes/s). */
  rateBytesPerSec: number;
  /** One-way propagation delay each way (ms). */
  oneWayDelayMs: number;
  /** Probability that a packet is lost after the bottleneck. */
  lossRate: number;
  /** Seed of the loss pattern (logged by the caller on failure). */
  seed: number;
  /** Simulated duration (ms). */
  durationMs: number;
  /** Size of every packet (bytes); default 1200. */
  packetBytes?: number;
  /** Drop-tail limit of the bottleneck queue (bytes); default unlimited. */
  queueLimitBytes?: number;
  /** Rate at which the application produces data (bytes/s); default unlimited (bulk). */
  appRateBytesPerSec?: number;
}

/** The sender's state after each ACK. */
export interface BottleneckTrace {
  atMs: number;
  congestionWindowBytes: number;
  pacingRateBytesPerSec: number;
  bytesInFlight: number;
  rtt: CcRtt;
}

/** What a run produced. */
export interface BottleneckResult {
  trace: BottleneckTrace[];
  /** Payload bytes acknowledged. */
  deliveredBytes: number;
  packetsSent: number;
  packetsLost: number;
}

/** mulberry32: a tiny seeded PRNG, enough for a loss pattern. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sent {
  packet: CcPacket;
  delivery: DeliverySnapshot;
  state: 'flight' | 'acked' | 'lost';
}

/** Runs `cc` over the bottleneck; `onAck` sees the controller after each ACK. */
export function runBottleneck(
  cc: CongestionController,
  options: BottleneckOptions,
  onAck?: (nowMs: number) => void,
): BottleneckResult {
  const size = options.packetBytes ?? 1200;
  const random = seeded(options.seed);
  const sampler = new DeliveryRateSampler();
  const rtt = new RttEstimator(100);
  const pacer = new Pacer(10 * size);
  const sent: Sent[] = [];
  const acks: { atMs: number; pn: number }[] = [];
  let ackHead = 0;
  let oldestUnresolved = 0;
  let bytesInFlight = 0;
  let linkFreeAtMs = 0;
  let appSentBytes = 0;
  const result: BottleneckResult = { trace: [], deliveredBytes: 0, packetsSent: 0, packetsLost: 0 };
  const ccRtt = (): CcRtt => ({
    latestRttMs: rtt.latestRttMs,
    smoothedRttMs: rtt.smoothedRttMs,
    minRttMs: rtt.minRttMs,
  });
  const appReadyAtMs = (): number => {
    const rate = options.appRateBytesPerSec;
    return rate === undefined ? 0 : ((appSentBytes + size) * 1000) / rate;
  };
  /** Declares every in-flight packet numbered below `belowPn` lost and tells the controller. */
  const declareLost = (belowPn: number): void => {
    const lost: CcPacket[] = [];
    for (; oldestUnresolved < belowPn; oldestUnresolved++) {
      const old = sent[oldestUnresolved]!;
      if (old.state !== 'flight') continue;
      old.state = 'lost';
      bytesInFlight -= size;
      result.packetsLost++;
      lost.push(old.packet);
    }
    if (lost.length > 0) cc.onPacketsLost(nowMs, lost, false);
  };
  let nowMs = 0;
  for (let steps = 0; steps < 10_000_000; steps++) {
    const nextAck = acks[ackHead]?.atMs ?? Number.POSITIVE_INFINITY;
    while (oldestUnresolved < sent.length && sent[oldestUnresolved]!.state !== 'flight') oldestUnresolved++;
    const oldest = sent[oldestUnresolved];
    const lossTimer = oldest
      ? oldest.packet.timeSentMs + 1.25 * Math.max(rtt.smoothedRttMs, rtt.latestRttMs) + 5
      : Number.POSITIVE_INFINITY;
    let nextSend = Number.POSITIVE_INFINITY;
    if (bytesInFlight < cc.congestionWindowBytes) {
      const rate = cc.pacingRateBytesPerSec(ccRtt());
      nextSend = Math.max(pacer.nextSendTimeMs(nowMs, size, rate), appReadyAtMs(), nowMs);
    }
    nowMs = Math.min(lossTimer, nextAck, nextSend);
    if (nowMs > options.durationMs) break;
    if (lossTimer === nowMs) {
      declareLost(oldestUnresolved + 1);
      continue;
    }
    if (nextAck <= nextSend) {
      const pn = acks[ackHead++]!.pn;
      const entry = sent[pn]!;
      rtt.update(nowMs - entry.packet.timeSentMs, 0);
      if (entry.state === 'lost') {
        entry.state = 'acked';
        cc.onSpuriousLoss(nowMs, entry.packet);
      } else {
        entry.state = 'acked';
        bytesInFlight -= size;
        result.deliveredBytes += size;
        const sample = sampler.onAck(nowMs, [{ ...entry.packet, delivery: entry.delivery }]);
        cc.onPacketsAcked(nowMs, [entry.packet], ccRtt(), bytesInFlight, sample);
      }
      declareLost(pn);
      result.trace.push({
        atMs: nowMs,
        congestionWindowBytes: cc.congestionWindowBytes,
        pacingRateBytesPerSec: cc.pacingRateBytesPerSec(ccRtt()) ?? Number.POSITIVE_INFINITY,
        bytesInFlight,
        rtt: ccRtt(),
      });
      onAck?.(nowMs);
      continue;
    }
    const pn = sent.length;
    appSentBytes += size;
    const appLimited = options.appRateBytesPerSec !== undefined && appReadyAtMs() > nowMs;
    const packet: CcPacket = { packetNumber: pn, sizeBytes: size, timeSentMs: nowMs, appLimited };
    const delivery = sampler.onPacketSent(nowMs, bytesInFlight, appLimited);
    sent.push({ packet, delivery, state: 'flight' });
    result.packetsSent++;
    bytesInFlight += size;
    pacer.onSend(nowMs, size, cc.pacingRateBytesPerSec(ccRtt()));
    cc.onPacketSent(nowMs, packet, bytesInFlight);
    const queuedBytes = (Math.max(linkFreeAtMs - nowMs, 0) * options.rateBytesPerSec) / 1000;
    if (options.queueLimitBytes !== undefined && queuedBytes + size > options.queueLimitBytes) continue;
    linkFreeAtMs = Math.max(linkFreeAtMs, nowMs) + (size * 1000) / options.rateBytesPerSec;
    if (random() < options.lossRate) continue;
    acks.push({ atMs: linkFreeAtMs + 2 * options.oneWayDelayMs, pn });
  }
  return result;
}
