import { performance } from 'node:perf_hooks';
import { labelOf, SeededRandom } from '../../sim/random.ts';
import type { ScenarioResult } from '../scenario.ts';
import { type Im30Params, im30Link } from '../scenarios/im-30.ts';
import { ImDeliveryLog, imMessageBytes } from '../scenarios/im-log.ts';
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
  const log = new ImDeliveryLog<Side>(['a', 'b']);
  const timers = new Set<NodeJS.Timeout>();
  const receiveFrom = (from: Side) => (data: Uint8Array) => log.received(from, performance.now(), data);
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
      const channel = path.channels[side];
      const next = (offsetMs: number): void => {
        if (side === 'a') onProgress?.(offsetMs / endMs);
        const size = imMessageBytes(random, params.minMessageBytes, params.maxMessageBytes);
        const data = log.message(side, performance.now(), size);
        void channel.send(data);
        const nextMs = offsetMs + random.exponential(1000 / params.messagesPerSecond);
        if (nextMs < endMs) at(nextMs, () => next(nextMs));
      };
      const firstMs = side === 'a' ? 0 : random.exponential(1000 / params.messagesPerSecond);
      at(firstMs, () => next(firstMs));
    }
    await waitUntil(() => performance.now() - startMs >= endMs && timers.size === 0, endMs + 10_000);
    await waitUntil(() => log.delivered >= log.sent, params.drainLimitS * 1000);
    const wire = path.wire();
    const relay = path.relayStats();
    const stats = [path.a.stats(), path.b.stats()];
    return {
      params: realParams(params, encrypt),
      results: {
        ...log.results(wire.bytes),
        retransmissions: stats.reduce((sum, s) => sum + s.fragmentRetransmissions, 0),
        queueDrops: (relay.upstream.dropped.queue ?? 0) + (relay.downstream.dropped.queue ?? 0),
      },
      samples: { latencyMs: log.latencies },
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await path.close();
  }
}
