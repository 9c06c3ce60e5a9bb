import { performance } from 'node:perf_hooks';
import { defaultConnectionConfig } from '../../index.ts';
import type { LinkProfile } from '../../sim/link.ts';
import type { ScenarioResult } from '../scenario.ts';
import type { Bulk30Params } from '../scenarios/bulk-30.ts';
import { round } from '../scenarios/stats.ts';
import { openRealPath } from './real-path.ts';
import { realParams, waitUntil } from './real-run.ts';

/** Sends not yet confirmed that the sender keeps queued (each `messageBytes`): enough to fill several RTTs. */
const outstandingMessages = 32;
/** Payload bytes per full fragment, as bulk-30's simulated run estimates them. */
const fragmentPayloadBytes = Math.max(1, defaultConnectionConfig.maxDatagramBytes - 70);

/**
 * bulk-30 over real UDP on loopback with Ferry's default controller: A sends `transferBytes` (or, with a
 * duration, sends until the time limit) on one reliable-ordered channel through the relay's bulk-30 link
 * (bottleneck and drop-tail queue forward, loss both ways). The relay does not expose queue sojourns, so
 * `queueDelayP99Ms` is null in real runs.
 */
export async function runBulk30Real(
  params: Bulk30Params,
  onProgress?: (fraction: number) => void,
  encrypt = false,
): Promise<ScenarioResult> {
  const loss: LinkProfile = {
    lossPercent: params.lossPercent,
    lossModel: params.lossModel,
    burst: params.burst,
  };
  const delay: LinkProfile = { delayMs: params.delayMs, jitterMs: params.jitterMs };
  const forward = { ...loss, ...delay, rateMbps: params.rateMbps, queueBytes: params.queueBytes };
  const path = await openRealPath({
    encrypt,
    forward,
    reverse: { ...loss, ...delay },
    seed: params.seed,
    config: {
      channelWindowBytes: params.receiveWindowBytes,
      connectionWindowBytes: 2 * params.receiveWindowBytes,
    },
  });
  const transferBytes = params.transferBytes > 0 ? params.transferBytes : Number.POSITIVE_INFINITY;
  const limitMs = params.timeLimitS * 1000;
  let issuedBytes = 0;
  let outstanding = 0;
  let deliveredBytes = 0;
  let lastDeliveryMs = 0;
  let orderErrors = 0;
  let expectSeq = 0;
  let seq = 0;
  let stopped = false;
  const startMs = performance.now();
  try {
    path.channels.b.on('message', (data: Uint8Array) => {
      const got = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
      if (got !== expectSeq) orderErrors++;
      expectSeq = got + 1;
      deliveredBytes += data.length;
      lastDeliveryMs = performance.now() - startMs;
      if (Number.isFinite(transferBytes)) onProgress?.(deliveredBytes / transferBytes);
    });
    const topUp = (): void => {
      while (!stopped && outstanding < outstandingMessages && issuedBytes < transferBytes) {
        const data = new Uint8Array(Math.min(params.messageBytes, transferBytes - issuedBytes));
        new DataView(data.buffer).setUint32(0, seq++);
        issuedBytes += data.length;
        outstanding++;
        path.channels.a.send(data).then(
          () => {
            outstanding--;
            topUp();
          },
          () => undefined,
        );
      }
    };
    topUp();
    await waitUntil(() => deliveredBytes >= transferBytes, limitMs);
    stopped = true;
    const completed = deliveredBytes >= transferBytes;
    const transferMs = completed ? lastDeliveryMs : limitMs;
    const goodputMbps = (deliveredBytes * 8) / 1000 / Math.max(transferMs, 1);
    const capacityMbps = params.rateMbps * (1 - params.lossPercent / 100);
    const fragments = Math.max(1, Math.ceil(issuedBytes / fragmentPayloadBytes));
    const relay = path.relayStats();
    return {
      params: realParams(params, encrypt),
      results: {
        goodputMbps: round(goodputMbps, 3),
        capacityMbps: round(capacityMbps, 3),
        efficiency: round(goodputMbps / capacityMbps, 4),
        retransmitRatio: round(path.a.stats().fragmentRetransmissions / fragments, 4),
        queueDelayP99Ms: null,
        transferMs: round(transferMs),
        deliveredBytes,
        completed,
        queueDrops: relay.upstream.dropped.queue ?? 0,
        orderErrors,
      },
    };
  } finally {
    stopped = true;
    await path.close();
  }
}
