import { fecPairStats } from '../../fec/fec-pair-stats.ts';
import { FerryPair } from '../../harness/ferry-pair.ts';
import type { ConnectionConfig } from '../../protocol/connection-config.ts';
import type { TraceSinks } from '../../protocol/trace.ts';
import type { LinkProfile } from '../../sim/link.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from '../scenario.ts';
import { profileConfig } from '../validate-profiles.ts';
import { mean, quantile, round } from './stats.ts';

/** Parameters of one kcp-echo run (scenarios.md "kcp-echo"). */
export interface KcpEchoParams {
  seed: number;
  lossPercent: number;
  lossModel: 'bag' | 'bernoulli' | 'gilbert';
  burst: number;
  delayMinMs: number;
  delayMaxMs: number;
  intervalMs: number;
  messageBytes: number;
  messages: number;
  /** Bottleneck rate (Mbit/s) with a 64 KiB drop-tail queue, each direction; absent = none (KCP's test). */
  rateMbps?: number;
  profile: string;
  /** Forward error correction on both sides (spec §11). */
  fec: boolean;
}

/** Resolves scenario options into kcp-echo parameters (KCP's test.cpp defaults). */
export function kcpEchoParams(options: ScenarioOptions): KcpEchoParams {
  const delay = options.delayMs ?? (options.rttMs !== undefined ? options.rttMs / 2 : 45.5);
  const jitter = options.jitterMs ?? 15.5;
  return {
    seed: options.seed,
    lossPercent: options.lossPercent ?? 30,
    lossModel: options.lossModel ?? 'bag',
    burst: options.burst ?? 3,
    delayMinMs: Math.max(0, delay - jitter),
    delayMaxMs: delay + jitter,
    intervalMs: 20,
    messageBytes: 8,
    messages:
      options.durationS !== undefined
        ? Math.max(1, Math.round(options.durationS * 50))
        : options.quick
          ? 200
          : 1000,
    ...(options.rateMbps !== undefined ? { rateMbps: options.rateMbps } : {}),
    profile: options.profile ?? 'default',
    fec: options.fec ?? false,
  };
}

/** One direction of the kcp-echo path (each direction is drawn independently from the same profile). */
export function kcpEchoLink(params: KcpEchoParams): LinkProfile {
  return {
    lossPercent: params.lossPercent,
    lossModel: params.lossModel,
    burst: params.burst,
    delayMs: (params.delayMinMs + params.delayMaxMs) / 2,
    jitterMs: (params.delayMaxMs - params.delayMinMs) / 2,
    fifo: true,
    maxInFlight: 1000, // KCP's delay line holds at most 1000 packets
    ...(params.rateMbps !== undefined ? { rateMbps: params.rateMbps } : {}),
  };
}

/** The echo metrics of scenarios.md "kcp-echo", shared by Ferry's run and the KCP adapter's. */
export function echoMetrics(
  rtts: readonly number[],
  wire: { datagrams: number; bytes: number },
  duplicates: number,
  outOfOrder: number,
): Record<string, number> {
  return {
    avgRttMs: round(mean(rtts)),
    p99RttMs: round(quantile(rtts, 0.99)),
    maxRttMs: round(rtts.length > 0 ? Math.max(...rtts) : Number.NaN),
    echoed: rtts.length,
    // Per echoed message: undefined (NaN, null in JSON) when nothing was echoed.
    datagramsPerMsg: round(rtts.length > 0 ? wire.datagrams / rtts.length : Number.NaN, 3),
    bytesPerMsg: round(rtts.length > 0 ? wire.bytes / rtts.length : Number.NaN, 1),
    duplicates,
    outOfOrder,
  };
}

/**
 * KCP's own test, replicated: A sends an 8-byte message (its send time) every 20 ms until `messages` have been
 * echoed; B echoes each message as soon as it is delivered. One-way delay uniform, FIFO; KCP's bag loss.
 */
export function runKcpEcho(
  params: KcpEchoParams,
  config?: Partial<ConnectionConfig>,
  onProgress?: (fraction: number) => void,
  trace?: TraceSinks,
): ScenarioResult & { results: Record<string, number>; samples: { latencyMs: number[] } } {
  const link = kcpEchoLink(params);
  const rtts: number[] = [];
  const rttLog = (config as { rttLog?: number[] } | undefined)?.rttLog;
  const seenAtB = new Set<number>();
  const seenAtA = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let lastAtB = -1;
  let lastAtA = -1;
  const pair = new FerryPair({
    seed: params.seed,
    config,
    fec: params.fec,
    trace,
    forward: link,
    reverse: link,
    onMessage: (side, nowMs, message) => {
      const view = new DataView(message.data.buffer, message.data.byteOffset, message.data.byteLength);
      const seq = view.getUint32(0);
      if (side === 'server') {
        if (seenAtB.has(seq)) duplicates++;
        if (seq < lastAtB) outOfOrder++;
        seenAtB.add(seq);
        lastAtB = Math.max(lastAtB, seq);
        pair.server?.send(nowMs, message.channelId, message.data.slice());
        return;
      }
      if (seenAtA.has(seq)) duplicates++;
      if (seq < lastAtA) outOfOrder++;
      seenAtA.add(seq);
      lastAtA = Math.max(lastAtA, seq);
      rtts.push(nowMs - sentAt[seq]!);
      if (rttLog) rttLog.push(nowMs - sentAt[seq]!);
    },
  });
  const sentAt: number[] = [];
  let seq = 0;
  // A path that never delivers (100% loss) ends in the idle timeout: stop sending, report what was echoed.
  const done = () => rtts.length >= params.messages || pair.client.state !== 'open';
  const sendNext = (nowMs: number): void => {
    if (done()) return;
    onProgress?.(rtts.length / params.messages);
    const data = new Uint8Array(params.messageBytes);
    new DataView(data.buffer).setUint32(0, seq);
    sentAt[seq] = nowMs;
    seq++;
    pair.client.send(nowMs, 0, data);
    pair.at(nowMs + params.intervalMs, sendNext);
  };
  pair.at(0, sendNext);
  pair.sim.run({ stopWhen: done, untilMs: 3_600_000 });
  // Several echoes can arrive in the event that crosses the count: measure exactly the first `messages`.
  if (rtts.length > params.messages) rtts.length = params.messages;
  const forward = pair.sim.linkBetween('client', 'server')!.counters;
  const reverse = pair.sim.linkBetween('server', 'client')!.counters;
  return {
    params: { ...params },
    results: {
      ...echoMetrics(
        rtts,
        { datagrams: forward.sent + reverse.sent, bytes: forward.bytesSent + reverse.bytesSent },
        duplicates,
        outOfOrder,
      ),
      retransmissions: pair.totalStat('fragmentRetransmissions'),
      redundantCopies: pair.totalStat('redundantCopies'),
      probePackets: pair.totalStat('probePackets'),
      ackOnlyPackets: pair.totalStat('ackOnlyPackets'),
      spuriousLosses: pair.totalStat('spuriousLosses'),
      ...(params.fec ? fecPairStats(pair) : {}),
    },
    samples: { latencyMs: rtts },
  };
}

/** `ferry bench kcp-echo`. */
export const kcpEchoScenario: Scenario = {
  name: 'kcp-echo',
  headline: ['avgRttMs', 'maxRttMs', 'bytesPerMsg', 'echoed'],
  summary: "KCP's echo test: 8-byte message every 20 ms, echoed; latency under bag loss (default 30%)",
  run: (options) => {
    const params = kcpEchoParams(options);
    return runKcpEcho(params, profileConfig(params.profile), options.onProgress, options.trace);
  },
};
