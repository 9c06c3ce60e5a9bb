import { linkFromProfile } from '../../sim/link.ts';
import { Simulation } from '../../sim/simulation.ts';
import type { ScenarioResult } from '../scenario.ts';
import { type Im30Params, im30Link } from '../scenarios/im-30.ts';
import { ImDeliveryLog, imMessageBytes } from '../scenarios/im-log.ts';
import { round } from '../scenarios/stats.ts';
import { KcpEndpoint, type KcpMode, kcpTunings } from './kcp-endpoint.ts';
import type { KcpModule } from './node-kcp.ts';

type Side = 'client' | 'server';

/** KCP's segment payload at its default 1400-byte MTU: 1400 − 24 header bytes (ikcp.c). */
const kcpMssBytes = 1376;

/**
 * im-30 with C KCP at both ends (message mode, one conversation): the same path, seed and workload streams
 * as `runIm30` (Poisson 20 msg/s each way, log-uniform 16 B–16 KiB), so the two see the same messages.
 * KCP needs no handshake, so the server's first messages leave at once rather than after the client's.
 */
export function runIm30WithKcp(
  binding: KcpModule,
  params: Im30Params,
  mode: KcpMode,
  onProgress?: (fraction: number) => void,
): ScenarioResult & { samples: { latencyMs: number[] } } {
  const sim = new Simulation({ seed: params.seed });
  const log = new ImDeliveryLog<Side>(['client', 'server']);
  let refused = 0;
  const receiver = (from: Side) => (nowMs: number, data: Uint8Array) => log.received(from, nowMs, data);
  const endpoints: Record<Side, KcpEndpoint> = {
    client: new KcpEndpoint(binding, { peer: 'server', mode, onMessage: receiver('server') }),
    server: new KcpEndpoint(binding, { peer: 'client', mode, onMessage: receiver('client') }),
  };
  const endMs = params.durationS * 1000;
  try {
    sim.addEndpoint('client', endpoints.client);
    sim.addEndpoint('server', endpoints.server);
    const link = im30Link(params);
    sim.connect('client', 'server', linkFromProfile(link), linkFromProfile(link));
    for (const side of ['client', 'server'] as const) {
      const random = sim.forkRandom(`im-30 workload ${side}`);
      const next = (nowMs: number): void => {
        if (side === 'client') onProgress?.(nowMs / endMs);
        const size = imMessageBytes(random, params.minMessageBytes, params.maxMessageBytes);
        const data = log.message(side, nowMs, size);
        if (!endpoints[side].send(nowMs, data)) refused++;
        const at = nowMs + random.exponential(1000 / params.messagesPerSecond);
        if (at < endMs) sim.schedule(at, next);
      };
      sim.schedule(side === 'client' ? 0 : random.exponential(1000 / params.messagesPerSecond), next);
    }
    sim.run({
      untilMs: endMs + params.drainLimitS * 1000,
      stopWhen: () => sim.now >= endMs && log.delivered + refused >= log.sent,
    });
  } finally {
    endpoints.client.release();
    endpoints.server.release();
  }
  const forward = sim.linkBetween('client', 'server')!.counters;
  const reverse = sim.linkBetween('server', 'client')!.counters;
  const wireBytes = forward.bytesSent + reverse.bytesSent;
  const segments = log.sentSizes.reduce((a, b) => a + Math.ceil(b / kcpMssBytes), 0);
  return {
    params: {
      ...params,
      fec: false,
      profile: `kcp-${mode}`,
      kcp: { ...kcpTunings[mode], windowSegments: 128 },
    },
    results: {
      ...log.results(wireBytes),
      sendsRefused: refused,
      queueDrops: (forward.dropped['queue'] ?? 0) + (reverse.dropped['queue'] ?? 0),
      dataSendsPerSegment: round(
        (endpoints.client.stats.dataSegmentSends + endpoints.server.stats.dataSegmentSends) /
          Math.max(1, segments),
        3,
      ),
    },
    samples: { latencyMs: log.latencies },
  };
}
