import { fecPairStats } from '../../fec/fec-pair-stats.ts';
import { FerryPair, type Side } from '../../harness/ferry-pair.ts';
import type { ConnectionConfig } from '../../protocol/connection-config.ts';
import type { TraceSinks } from '../../protocol/trace.ts';
import type { LinkProfile } from '../../sim/link.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from '../scenario.ts';
import { profileConfig } from '../validate-profiles.ts';
import { ImDeliveryLog, imMessageBytes } from './im-log.ts';
import { jitteredLink, type PathParams, pathParams } from './path-params.ts';

/** Parameters of one im-30 run (scenarios.md "im-30"). */
export interface Im30Params extends PathParams {
  messagesPerSecond: number;
  minMessageBytes: number;
  maxMessageBytes: number;
  durationS: number;
  drainLimitS: number;
  profile: string;
  /** Forward error correction on both sides (spec §11). */
  fec: boolean;
}

/** Resolves scenario options into im-30 parameters. */
export function im30Params(options: ScenarioOptions): Im30Params {
  return {
    ...pathParams(options, { burst: 3, delayMs: 40, jitterMs: 10, rateMbps: 5, queueBytes: 64 * 1024 }),
    messagesPerSecond: 20,
    minMessageBytes: 16,
    maxMessageBytes: 16 * 1024,
    durationS: options.durationS ?? (options.quick ? 20 : 120),
    drainLimitS: 60,
    profile: options.profile ?? 'default',
    fec: options.fec ?? false,
  };
}

/** One direction of the im-30 path: loss, jitter with reordering, bottleneck, drop-tail queue. */
export function im30Link(params: Im30Params): LinkProfile {
  return jitteredLink(params);
}

/**
 * Instant messaging under loss: both sides send Poisson-timed messages of log-uniform size on one
 * reliable-ordered channel; latency runs from the send call to delivery to the receiving application.
 */
export function runIm30(
  params: Im30Params,
  config?: Partial<ConnectionConfig>,
  onProgress?: (fraction: number) => void,
  trace?: TraceSinks,
): ScenarioResult & { samples: { latencyMs: number[] } } {
  const link = im30Link(params);
  const log = new ImDeliveryLog<Side>(['client', 'server']);
  const pair = new FerryPair({
    seed: params.seed,
    config,
    fec: params.fec,
    trace,
    forward: link,
    reverse: link,
    onMessage: (side, nowMs, message) =>
      log.received(side === 'client' ? 'server' : 'client', nowMs, message.data),
  });
  const endMs = params.durationS * 1000;
  const pendingServer: Uint8Array[] = [];
  const workload = (side: Side) => {
    const random = pair.sim.forkRandom(`im-30 workload ${side}`);
    const next = (nowMs: number): void => {
      if (side === 'client') onProgress?.(nowMs / endMs);
      const data = log.message(
        side,
        nowMs,
        imMessageBytes(random, params.minMessageBytes, params.maxMessageBytes),
      );
      const connection = pair.connection(side);
      if (connection) {
        if (side === 'server')
          for (const queued of pendingServer.splice(0)) connection.send(nowMs, 0, queued);
        connection.send(nowMs, 0, data);
      } else {
        pendingServer.push(data); // the server's connection opens on the client's first datagram
      }
      const at = nowMs + random.exponential(1000 / params.messagesPerSecond);
      if (at < endMs) pair.at(at, next);
    };
    pair.at(side === 'client' ? 0 : random.exponential(1000 / params.messagesPerSecond), next);
  };
  workload('client');
  workload('server');
  pair.sim.run({
    untilMs: endMs + params.drainLimitS * 1000,
    stopWhen: () => pair.sim.now >= endMs && log.delivered >= log.sent && pendingServer.length === 0,
  });
  const forward = pair.sim.linkBetween('client', 'server')!.counters;
  const reverse = pair.sim.linkBetween('server', 'client')!.counters;
  const wireBytes = forward.bytesSent + reverse.bytesSent;
  return {
    params: { ...params },
    results: {
      ...log.results(wireBytes),
      retransmissions: pair.totalStat('fragmentRetransmissions'),
      redundantCopies: pair.totalStat('redundantCopies'),
      spuriousLosses: pair.totalStat('spuriousLosses'),
      queueDrops: (forward.dropped['queue'] ?? 0) + (reverse.dropped['queue'] ?? 0),
      ...(params.fec ? fecPairStats(pair) : {}),
    },
    samples: { latencyMs: log.latencies },
  };
}

/** `ferry bench im-30`. */
export const im30Scenario: Scenario = {
  name: 'im-30',
  headline: ['latencyP50Ms', 'latencyP99Ms', 'overhead', 'delivered', 'sent'],
  summary: 'instant messaging: Poisson 20 msg/s each way, 16 B–16 KiB, 30% loss, 40±10 ms, 5 Mbit/s',
  run: (options) => {
    const params = im30Params(options);
    return runIm30(params, profileConfig(params.profile), options.onProgress, options.trace);
  },
};
