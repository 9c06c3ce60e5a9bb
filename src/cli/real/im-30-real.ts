import { performance } from 'node:perf_hooks';
import { labelOf, SeededRandom } from '../../sim/random.ts';
import type { ScenarioResult } from '../scenario.ts';
import { type Im30Params, im30Link } from '../scenarios/im-30.ts';
import { quantile, round } from '../scenarios/stats.ts';
import { profileConfig } from '../validate-profiles.ts';
import { openRealPath } from './real-path.ts';
import { realParams, waitUntil } from './real-run.ts';

type Side = 'a' | 'b';

/**
 * im-30 over real UDP on loopback: both sides send Poisson-timed messages of log-uniform size on one
 * reliable-ordered channel for `durationS` of wall time, through the relay's im-30 link; latency runs from the
 * send call to delivery. The workload streams are the simulated run's (same seed: same sizes and gaps).
 */
export async function runIm30Real(
  params: Im30Params,
  onProgress?: (fraction: number) => void,
  encrypt = false,
): Promise<ScenarioResult & { samples: { latencyMs: number[] } }> {
  const link = im30Link(params);
  const path = await openRealPath({
    encrypt,
    forward: link,
    reverse: link,
    seed: params.seed,
    config: profileConfig(params.profile),
  });
  const root = new SeededRandom(params.seed);
  const sentAt: Record<Side, number[]> = { a: [], b: [] };
  const sizes: Record<Side, number[]> = { a: [], b: [] };
  const last: Record<Side, number> = { a: -1, b: -1 };
  const seen: Record<Side, Set<number>> = { a: new Set(), b: new Set() };
  const latencies: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let duplicates = 0;
  let outOfOrder = 0;
  let delivered = 0;
  let payloadBytes = 0;
  const receiveFrom = (from: Side) => (data: Uint8Array) => {
    const seq = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
    if (seen[from].has(seq)) duplicates++;
    if (seq < last[from]) outOfOrder++;
    seen[from].add(seq);
    last[from] = Math.max(last[from], seq);
    delivered++;
    payloadBytes += data.length;
    latencies.push(performance.now() - sentAt[from][seq]!);
  };
  const endMs = params.durationS * 1000;
  try {
    path.channels.b.on('message', receiveFrom('a'));
    path.channels.a.on('message', receiveFrom('b'));
    const startMs = performance.now();
    const at = (offsetMs: number, run: () => void): void => {
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          run();
        },
        Math.max(0, startMs + offsetMs - performance.now()),
      );
      timers.add(timer);
    };
    for (const side of ['a', 'b'] as const) {
      const random = root.fork(labelOf(`im-30 workload ${side === 'a' ? 'client' : 'server'}`));
      const logMin = Math.log(params.minMessageBytes);
      const logMax = Math.log(params.maxMessageBytes);
      const channel = path.channels[side];
      const next = (offsetMs: number): void => {
        if (side === 'a') onProgress?.(offsetMs / endMs);
        const size = Math.round(Math.exp(logMin + random.float() * (logMax - logMin)));
        const data = new Uint8Array(size);
        new DataView(data.buffer).setUint32(0, sentAt[side].length);
        sentAt[side].push(performance.now());
        sizes[side].push(size);
        void channel.send(data);
        const nextMs = offsetMs + random.exponential(1000 / params.messagesPerSecond);
        if (nextMs < endMs) at(nextMs, () => next(nextMs));
      };
      const firstMs = side === 'a' ? 0 : random.exponential(1000 / params.messagesPerSecond);
      at(firstMs, () => next(firstMs));
    }
    const sentTotal = () => sentAt.a.length + sentAt.b.length;
    await waitUntil(() => performance.now() - startMs >= endMs && timers.size === 0, endMs + 10_000);
    await waitUntil(() => delivered >= sentTotal(), params.drainLimitS * 1000);
    const wire = path.wire();
    const relay = path.relayStats();
    const sentPayload = [...sizes.a, ...sizes.b].reduce((x, y) => x + y, 0);
    const stats = [path.a.stats(), path.b.stats()];
    return {
      params: realParams(params, encrypt),
      results: {
        sent: sentTotal(),
        delivered,
        duplicates,
        outOfOrder,
        latencyP50Ms: round(quantile(latencies, 0.5)),
        latencyP99Ms: round(quantile(latencies, 0.99)),
        latencyP999Ms: round(quantile(latencies, 0.999)),
        latencyMaxMs: round(latencies.length ? Math.max(...latencies) : Number.NaN),
        overhead: round((wire.bytes - sentPayload) / sentPayload, 3),
        payloadBytes,
        wireBytes: wire.bytes,
        retransmissions: stats.reduce((sum, s) => sum + s.fragmentRetransmissions, 0),
        queueDrops: (relay.upstream.dropped.queue ?? 0) + (relay.downstream.dropped.queue ?? 0),
      },
      samples: { latencyMs: latencies },
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await path.close();
  }
}
