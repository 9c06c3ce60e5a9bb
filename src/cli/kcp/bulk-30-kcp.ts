import type { SimAddress } from '../../sim/address.ts';
import type { Transmit } from '../../sim/endpoint.ts';
import { Link } from '../../sim/link.ts';
import { Simulation } from '../../sim/simulation.ts';
import type { ScenarioResult } from '../scenario.ts';
import { type Bulk30Params, bulk30Path } from '../scenarios/bulk-30.ts';
import { quantile, round } from '../scenarios/stats.ts';
import { KcpEndpoint, type KcpEndpointOptions, type KcpMode, kcpTunings } from './kcp-endpoint.ts';
import type { KcpModule } from './node-kcp.ts';

/** KCP's segment payload at its default 1400-byte MTU: 1400 − 24 header bytes (ikcp.c). */
const kcpMssBytes = 1376;
/** Each message is 32 whole segments, so no segment leaves half full. */
const messageBytes = 32 * kcpMssBytes;
/** test.cpp's windows (segments), as in the other KCP adapters. */
const windowSegments = 128;
/** The sender keeps this many segments waiting (`ikcp_waitsnd`): two windows, so KCP never runs dry. */
const backlogSegments = 2 * windowSegments;

/** KCP segment header (ikcp.c): conv u32, cmd u8, frg u8, wnd u16, ts u32, sn u32, una u32, len u32, little-endian. */
const segmentHeaderBytes = 24;
const commandPush = 81;

/**
 * A KCP sender that tops its queue up after every event, as a bulk application writing as fast as it can, and
 * counts the distinct data segments it put on the wire (KCP numbers them 0, 1, 2, …: the highest sn + 1).
 */
class BulkKcpSender extends KcpEndpoint {
  issuedBytes = 0;
  /** Distinct data segments sent at least once. */
  segmentsSent = 0;
  private seq = 0;

  constructor(
    binding: KcpModule,
    options: KcpEndpointOptions,
    private readonly transferBytes: number,
  ) {
    super(binding, options);
  }

  /** Queues messages until `backlogSegments` wait or the whole transfer is issued. */
  topUp(nowMs: number): void {
    while (this.issuedBytes < this.transferBytes && this.waitingSegments() < backlogSegments) {
      const data = new Uint8Array(Math.min(messageBytes, this.transferBytes - this.issuedBytes));
      new DataView(data.buffer).setUint32(0, this.seq++);
      if (!this.send(nowMs, data)) return;
      this.issuedBytes += data.length;
    }
  }

  override handleDatagram(now: number, from: SimAddress, bytes: Uint8Array): void {
    super.handleDatagram(now, from, bytes);
    this.topUp(now);
  }

  override pollTransmit(): Transmit | undefined {
    const transmit = super.pollTransmit();
    if (transmit) {
      const bytes = transmit.bytes;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let at = 0; at + segmentHeaderBytes <= bytes.length; ) {
        if (view.getUint8(at + 4) === commandPush) {
          this.segmentsSent = Math.max(this.segmentsSent, view.getUint32(at + 12, true) + 1);
        }
        at += segmentHeaderBytes + view.getUint32(at + 20, true);
      }
    }
    return transmit;
  }

  override handleTimeout(now: number): void {
    super.handleTimeout(now);
    this.topUp(now);
  }
}

/**
 * bulk-30 with C KCP at both ends (message mode, one conversation, test.cpp's 128-segment windows, congestion
 * window off as in both test.cpp modes): the same path nodes, addresses and seed as Ferry's `runBulkTransfer`, so
 * both see the same loss draws for the same datagram positions. Results use bulk-30's keys; `retransmitRatio` is
 * data-segment resends per distinct segment sent.
 */
export function runBulk30WithKcp(
  binding: KcpModule,
  params: Bulk30Params,
  mode: KcpMode,
  onProgress?: (fraction: number) => void,
): ScenarioResult {
  const sim = new Simulation({ seed: params.seed });
  const path = bulk30Path(params);
  const transferBytes = params.transferBytes > 0 ? params.transferBytes : Number.POSITIVE_INFINITY;
  const limitMs = params.timeLimitS * 1000;
  let deliveredBytes = 0;
  let lastDeliveryMs = 0;
  let orderErrors = 0;
  let expectSeq = 0;
  const sender = new BulkKcpSender(
    binding,
    { peer: 's0', mode, windowSegments, onMessage: () => {} },
    transferBytes,
  );
  const receiver = new KcpEndpoint(binding, {
    peer: 'c0',
    mode,
    windowSegments,
    onMessage: (nowMs, data) => {
      const seq = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
      if (seq !== expectSeq) orderErrors++;
      expectSeq = seq + 1;
      deliveredBytes += data.length;
      lastDeliveryMs = nowMs;
    },
  });
  try {
    // The addresses of Ferry's bulk flow 0, so the links fork the same random streams.
    sim.addEndpoint('c0', sender);
    sim.addEndpoint('s0', receiver);
    sim.connect('c0', 's0', new Link(path.forward), new Link(path.reverse));
    sim.schedule(0, (nowMs) => sender.topUp(nowMs));
    if (onProgress) {
      for (let i = 1; i <= 20; i++) sim.schedule((limitMs * i) / 20, () => onProgress(i / 20));
    }
    sim.run({ untilMs: limitMs, stopWhen: () => deliveredBytes >= transferBytes });
  } finally {
    sender.release();
    receiver.release();
  }
  const completed = deliveredBytes >= transferBytes;
  const transferMs = completed ? lastDeliveryMs : limitMs;
  const goodputMbps = (deliveredBytes * 8) / 1000 / Math.max(transferMs, 1);
  const capacityMbps = params.rateMbps * (1 - params.lossPercent / 100);
  const segments = Math.max(1, sender.segmentsSent);
  return {
    params: {
      ...params,
      messageBytes,
      profile: `kcp-${mode}`,
      kcp: { ...kcpTunings[mode], windowSegments, minRtoMs: mode === 'fast' ? 30 : 100 },
    },
    results: {
      goodputMbps: round(goodputMbps, 3),
      capacityMbps: round(capacityMbps, 3),
      efficiency: round(goodputMbps / capacityMbps, 4),
      retransmitRatio: round((sender.stats.dataSegmentSends - segments) / segments, 4),
      queueDelayP99Ms: round(quantile(path.probe.sojournsMs, 0.99)),
      transferMs: round(transferMs),
      deliveredBytes,
      completed,
      queueDrops: path.bottleneck.counters.dropped.queue ?? 0,
      orderErrors,
      dataSendsPerSegment: round(sender.stats.dataSegmentSends / segments, 3),
    },
  };
}
