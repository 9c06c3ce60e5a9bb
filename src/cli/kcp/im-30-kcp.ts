import { linkFromProfile } from '../../sim/link.ts';
import { Simulation } from '../../sim/simulation.ts';
import type { ScenarioResult } from '../scenario.ts';
import { type Im30Params, im30Link } from '../scenarios/im-30.ts';
import { quantile, round } from '../scenarios/stats.ts';
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
  const sentAt: Record<Side, number[]> = { client: [], server: [] };
  const sizes: Record<Side, number[]> = { client: [], server: [] };
  const last: Record<Side, number> = { client: -1, server: -1 };
  const seen: Record<Side, Set<number>> = { client: new Set(), server: new Set() };
  const latencies: number[] = [];
  let duplicates = 0;
  let outOfOrder = 0;
  let delivered = 0;
  let payloadBytes = 0;
  let refused = 0;
  const receiver = (from: Side) => (nowMs: number, data: Uint8Array) => {
    const seq = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
    if (seen[from].has(seq)) duplicates++;
    if (seq < last[from]) outOfOrder++;
    seen[from].add(seq);
    last[from] = Math.max(last[from], seq);
    delivered++;
    payloadBytes += data.length;
    latencies.push(nowMs - sentAt[from][seq]!);
  };
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
      const logMin = Math.log(params.minMessageBytes);
      const logMax = Math.log(params.maxMessageBytes);
      const next = (nowMs: number): void => {
        if (side === 'client') onProgress?.(nowMs / endMs);
        const size = Math.round(Math.exp(logMin + random.float() * (logMax - logMin)));
        const data = new Uint8Array(size);
        new DataView(data.buffer).setUint32(0, sentAt[side].length);
        sentAt[side].push(nowMs);
        sizes[side].push(size);
        if (!endpoints[side].send(nowMs, data)) refused++;
        const at = nowMs + random.exponential(1000 / params.messagesPerSecond);
        if (at < endMs) sim.schedule(at, next);
      };
      sim.schedule(side === 'client' ? 0 : random.exponential(1000 / params.messagesPerSecond), next);
    }
    const sentTotal = () => sentAt.client.length + sentAt.server.length;
    sim.run({
      untilMs: endMs + params.drainLimitS * 1000,
      stopWhen: () => sim.now >= endMs && delivered + refused >= sentTotal(),
    });
  } finally {
    endpoints.client.release();
    endpoints.server.release();
  }
  const forward = sim.linkBetween('client', 'server')!.counters;
  const reverse = sim.linkBetween('server', 'client')!.counters;
  const wireBytes = forward.bytesSent + reverse.bytesSent;
  const sentPayload = [...sizes.client, ...sizes.server].reduce((a, b) => a + b, 0);
  const segments = [...sizes.client, ...sizes.server].reduce((a, b) => a + Math.ceil(b / kcpMssBytes), 0);
  return {
    params: {
      ...params,
      fec: false,
      profile: `kcp-${mode}`,
      kcp: { ...kcpTunings[mode], windowSegments: 128 },
    },
    results: {
      sent: sentAt.client.length + sentAt.server.length,
      delivered,
      duplicates,
      outOfOrder,
      latencyP50Ms: round(quantile(latencies, 0.5)),
      latencyP99Ms: round(quantile(latencies, 0.99)),
      latencyP999Ms: round(quantile(latencies, 0.999)),
      latencyMaxMs: round(latencies.length ? Math.max(...latencies) : Number.NaN),
      overhead: round((wireBytes - sentPayload) / sentPayload, 3),
      payloadBytes,
      wireBytes,
      sendsRefused: refused,
      queueDrops: (forward.dropped['queue'] ?? 0) + (reverse.dropped['queue'] ?? 0),
      dataSendsPerSegment: round(
        (endpoints.client.stats.dataSegmentSends + endpoints.server.stats.dataSegmentSends) /
          Math.max(1, segments),
        3,
      ),
    },
    samples: { latencyMs: latencies },
  };
}
