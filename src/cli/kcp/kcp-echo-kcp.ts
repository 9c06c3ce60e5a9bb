import { linkFromProfile } from '../../sim/link.ts';
import { Simulation } from '../../sim/simulation.ts';
import type { ScenarioResult } from '../scenario.ts';
import { echoMetrics, type KcpEchoParams, kcpEchoLink } from '../scenarios/kcp-echo.ts';
import { round } from '../scenarios/stats.ts';
import { KcpEndpoint, type KcpMode, kcpTunings } from './kcp-endpoint.ts';
import type { KcpModule } from './node-kcp.ts';

/**
 * kcp-echo with C KCP at both ends instead of Ferry: the same link profile, addresses and seed as
 * `runKcpEcho`, so both protocols see the same loss and delay draws for the same datagram positions.
 * The message is test.cpp's 8 bytes (sequence number, then padding); results use the same keys.
 */
export function runKcpEchoWithKcp(
  binding: KcpModule,
  params: KcpEchoParams,
  mode: KcpMode,
  onProgress?: (fraction: number) => void,
): ScenarioResult & { samples: { latencyMs: number[] } } {
  const sim = new Simulation({ seed: params.seed });
  const rtts: number[] = [];
  const sentAt: number[] = [];
  const seenAtB = new Set<number>();
  const seenAtA = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let lastAtB = -1;
  let lastAtA = -1;
  const seqOf = (data: Uint8Array) =>
    new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  const server: KcpEndpoint = new KcpEndpoint(binding, {
    peer: 'client',
    mode,
    onMessage: (nowMs, data) => {
      const seq = seqOf(data);
      if (seenAtB.has(seq)) duplicates++;
      if (seq < lastAtB) outOfOrder++;
      seenAtB.add(seq);
      lastAtB = Math.max(lastAtB, seq);
      server.send(nowMs, data);
    },
  });
  const client = new KcpEndpoint(binding, {
    peer: 'server',
    mode,
    onMessage: (nowMs, data) => {
      const seq = seqOf(data);
      if (seenAtA.has(seq)) duplicates++;
      if (seq < lastAtA) outOfOrder++;
      seenAtA.add(seq);
      lastAtA = Math.max(lastAtA, seq);
      if (rtts.length < params.messages) rtts.push(nowMs - sentAt[seq]!);
    },
  });
  try {
    sim.addEndpoint('client', client);
    sim.addEndpoint('server', server);
    const link = kcpEchoLink(params);
    sim.connect('client', 'server', linkFromProfile(link), linkFromProfile(link));
    let seq = 0;
    const sendNext = (nowMs: number): void => {
      if (rtts.length >= params.messages) return;
      onProgress?.(rtts.length / params.messages);
      const data = new Uint8Array(params.messageBytes);
      new DataView(data.buffer).setUint32(0, seq);
      sentAt[seq] = nowMs;
      seq++;
      client.send(nowMs, data);
      sim.schedule(nowMs + params.intervalMs, sendNext);
    };
    sim.schedule(0, sendNext);
    sim.run({ stopWhen: () => rtts.length >= params.messages, untilMs: 3_600_000 });
  } finally {
    client.release();
    server.release();
  }
  const forward = sim.linkBetween('client', 'server')!.counters;
  const reverse = sim.linkBetween('server', 'client')!.counters;
  const tuning = kcpTunings[mode];
  return {
    params: { ...params, profile: `kcp-${mode}`, kcp: { ...tuning, windowSegments: 128, minRtoMs: 30 } },
    results: {
      ...echoMetrics(
        rtts,
        { datagrams: forward.sent + reverse.sent, bytes: forward.bytesSent + reverse.bytesSent },
        duplicates,
        outOfOrder,
      ),
      dataSendsPerSegment: round(
        (client.stats.dataSegmentSends + server.stats.dataSegmentSends) /
          (client.stats.messagesSent + server.stats.messagesSent),
        3,
      ),
    },
    samples: { latencyMs: rtts },
  };
}
