import { type BulkFlow, BulkFlows } from '../../harness/bulk-flows.ts';
import type { ConnectionConfig } from '../../protocol/connection-config.ts';
import type { TraceSinks } from '../../protocol/trace.ts';
import { bagLoss } from '../../sim/link/bag-loss.ts';
import { bernoulliLoss } from '../../sim/link/bernoulli-loss.ts';
import { fixedDelay } from '../../sim/link/fixed-delay.ts';
import { gilbertLoss } from '../../sim/link/gilbert-loss.ts';
import type { LinkNode } from '../../sim/link/node.ts';
import { type RateLimit, rateLimit } from '../../sim/link/rate-limit.ts';
import { type SojournProbe, sojournProbe } from '../../sim/link/sojourn-probe.ts';
import { uniformDelay } from '../../sim/link/uniform-delay.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from '../scenario.ts';
import { quantile, round } from './stats.ts';

/** The congestion controllers bulk-30 compares (spec §9). */
export type BulkController = ConnectionConfig['congestionControl'];

/** Parameters of one bulk-30 run (scenarios.md "bulk-30"). */
export interface Bulk30Params {
  seed: number;
  /** Percent of datagrams lost, each direction. */
  lossPercent: number;
  lossModel: 'bernoulli' | 'bag' | 'gilbert';
  /** Mean burst length (datagrams) for `gilbert`. */
  burst: number;
  /** One-way delay, each direction (ms). */
  delayMs: number;
  /** Delay jitter (ms): each datagram's one-way delay is uniform in delayMs ± jitterMs, reordering allowed. */
  jitterMs: number;
  /** Forward bottleneck rate (Mbit/s of UDP payload). */
  rateMbps: number;
  /** Drop-tail queue of the bottleneck (bytes). */
  queueBytes: number;
  /** Payload bytes A sends to B. */
  transferBytes: number;
  /** Size of each message queued on the reliable channel (bytes). */
  messageBytes: number;
  /** The sender keeps at least this many bytes queued (so it is never application-limited). */
  queuedTargetBytes: number;
  /** Receive window per channel and per connection (bytes): a bulk receiver must buffer several RTTs of data
   * behind a lost packet (at 30% loss a packet may need several repairs), or flow control stalls the sender. */
  receiveWindowBytes: number;
  /** A run that has not finished by this virtual time stops; goodput is then measured over this time. */
  timeLimitS: number;
  profile: string;
}

/** Resolves scenario options into bulk-30 parameters. */
export function bulk30Params(options: ScenarioOptions): Bulk30Params {
  const quick = options.quick ?? false;
  return {
    seed: options.seed,
    lossPercent: options.lossPercent ?? 30,
    lossModel: options.lossModel ?? 'bernoulli',
    burst: options.burst ?? 3,
    delayMs: options.delayMs ?? (options.rttMs !== undefined ? options.rttMs / 2 : 30),
    jitterMs: options.jitterMs ?? 0,
    rateMbps: options.rateMbps ?? 20,
    queueBytes: 150_000,
    // Quick mode keeps the full 20 MB (≈ 2 s of wall time for the three controllers): a shorter transfer would be
    // mostly startup and tail, and would not measure the steady state the targets are about.
    transferBytes: options.durationS !== undefined ? 0 : 20_000_000,
    messageBytes: 65_536,
    queuedTargetBytes: 2 * 65_536 * 16,
    receiveWindowBytes: 8 * 1024 * 1024,
    timeLimitS: options.durationS ?? (quick ? 40 : 120),
    profile: options.profile ?? 'default',
  };
}

/** The figures of one controller's transfer. */
export interface BulkRunResult {
  /** Payload bytes delivered in order to B's application per second of transfer (Mbit/s). */
  goodputMbps: number;
  /** The erasure-channel limit: rate × (1 − loss) (Mbit/s). */
  capacityMbps: number;
  /** goodput / capacity. */
  efficiency: number;
  /** Fragment retransmissions (repairs and copies) per original fragment. */
  retransmitRatio: number;
  /** 99th percentile of the bottleneck sojourn (queueing + serialisation) of forward datagrams (ms). */
  queueDelayP99Ms: number;
  /** Time until the last byte was delivered, or the time limit (ms). */
  transferMs: number;
  /** Payload bytes delivered in order. */
  deliveredBytes: number;
  /** Whether the whole transfer finished within the time limit. */
  completed: boolean;
  /** Forward datagrams dropped by the bottleneck queue. */
  queueDrops: number;
  /** Messages delivered out of order or twice (must be 0). */
  orderErrors: number;
}

function lossNodes(params: Bulk30Params): LinkNode[] {
  if (params.lossPercent <= 0) return [];
  const p = params.lossPercent / 100;
  if (params.lossModel === 'gilbert') return [gilbertLoss({ meanLoss: p, meanBurst: params.burst })];
  if (params.lossModel === 'bag') return [bagLoss(Math.round(params.lossPercent))];
  return [bernoulliLoss(p)];
}

function delayNode(params: Bulk30Params): LinkNode {
  if (params.jitterMs <= 0) return fixedDelay(params.delayMs);
  return uniformDelay(Math.max(0, params.delayMs - params.jitterMs), params.delayMs + params.jitterMs);
}

/** The bulk-30 path of one run: the bottleneck and its sojourn probe, and each direction's nodes. */
export interface Bulk30Path {
  bottleneck: RateLimit;
  probe: SojournProbe;
  /** A → B: bottleneck, probe, loss, delay. */
  forward: LinkNode[];
  /** B → A (ACKs): loss, delay. */
  reverse: LinkNode[];
}

/** Builds the bulk-30 path; Ferry's run and the KCP adapter's use it, so both cross the same nodes. */
export function bulk30Path(params: Bulk30Params): Bulk30Path {
  const probe = sojournProbe();
  const bottleneck = rateLimit({ rateBps: params.rateMbps * 1e6, queueBytes: params.queueBytes });
  return {
    bottleneck,
    probe,
    forward: [bottleneck, probe, ...lossNodes(params), delayNode(params)],
    reverse: [...lossNodes(params), delayNode(params)],
  };
}

/** Payload bytes per full fragment, estimated from the sender's data packets. */
function fragmentPayloadBytes(flow: BulkFlow): number {
  return flow.client ? Math.max(1, flow.client.config.maxDatagramBytes - 70) : 1130;
}

/** One transfer of `params.transferBytes` from A to B with the given controller. */
export function runBulkTransfer(
  params: Bulk30Params,
  controller: BulkController,
  config?: Partial<ConnectionConfig>,
  trace?: TraceSinks,
): BulkRunResult {
  const { bottleneck, probe, forward, reverse } = bulk30Path(params);
  const net = new BulkFlows({
    seed: params.seed,
    flows: [
      {
        config: {
          channelWindowBytes: params.receiveWindowBytes,
          connectionWindowBytes: 2 * params.receiveWindowBytes,
          ...config,
          congestionControl: controller,
        },
        transferBytes: params.transferBytes > 0 ? params.transferBytes : undefined,
        trace,
      },
    ],
    forward: () => forward,
    reverse: () => reverse,
    messageBytes: params.messageBytes,
    queuedTargetBytes: params.queuedTargetBytes,
  });
  const limitMs = params.timeLimitS * 1000;
  net.run(limitMs);
  const flow = net.flows[0]!;
  const completed = Number.isFinite(flow.transferBytes) && flow.completed;
  const transferMs = completed ? flow.lastDeliveryMs : limitMs;
  const goodputMbps = (flow.deliveredBytes * 8) / 1000 / Math.max(transferMs, 1);
  const capacityMbps = params.rateMbps * (1 - params.lossPercent / 100);
  const stats = flow.client?.stats;
  const fragments = Math.max(1, Math.ceil(flow.issuedBytes / fragmentPayloadBytes(flow)));
  return {
    goodputMbps: round(goodputMbps, 3),
    capacityMbps: round(capacityMbps, 3),
    efficiency: round(goodputMbps / capacityMbps, 4),
    retransmitRatio: round((stats?.fragmentRetransmissions ?? 0) / fragments, 4),
    queueDelayP99Ms: round(quantile(probe.sojournsMs, 0.99)),
    transferMs: round(transferMs),
    deliveredBytes: flow.deliveredBytes,
    completed,
    queueDrops: bottleneck.counters.dropped.queue ?? 0,
    orderErrors: flow.orderErrors,
  };
}

/** The controllers every bulk-30 run reports: Ferry's default first, then the loss-based references. */
export const bulkControllers: readonly BulkController[] = ['loss-tolerant', 'newreno', 'cubic'];

/**
 * bulk-30: A sends `transferBytes` to B on one reliable channel, as fast as the protocol allows, through a
 * 20 Mbit/s bottleneck with a 150 KB drop-tail queue, 30 ms each way and random loss both ways. The top-level
 * results are the default (loss-tolerant) controller's; `newreno` and `cubic` hold the same figures for the
 * loss-based controllers on the same path and seed.
 */
export function runBulk30(
  params: Bulk30Params,
  onProgress?: (fraction: number) => void,
  trace?: TraceSinks,
): ScenarioResult {
  const [main, ...others] = bulkControllers.map((controller, i) => {
    // `--trace` records the default controller's transfer, the one the top-level results describe.
    const result = runBulkTransfer(params, controller, undefined, i === 0 ? trace : undefined);
    onProgress?.((i + 1) / bulkControllers.length);
    return result;
  });
  return {
    params: { ...params, controllers: bulkControllers },
    results: {
      ...main!,
      newreno: others[0]!,
      cubic: others[1]!,
    },
  };
}

/** One row of a bulk-30 loss sweep. */
export interface Bulk30SweepRow {
  lossPercent: number;
  lossModel: Bulk30Params['lossModel'];
  /** Figures per controller. */
  results: Record<BulkController, BulkRunResult>;
}

/**
 * Runs bulk-30 at each loss rate of `lossPercents` (other knobs from `options`) for every controller; the rows
 * for a `--sweep loss=…` table or plot.
 */
export function runBulk30Sweep(
  options: ScenarioOptions,
  lossPercents: readonly number[],
  controllers: readonly BulkController[] = bulkControllers,
): Bulk30SweepRow[] {
  return lossPercents.map((lossPercent) => {
    const params = bulk30Params({ ...options, lossPercent });
    const results = {} as Record<BulkController, BulkRunResult>;
    for (const controller of controllers) results[controller] = runBulkTransfer(params, controller);
    return { lossPercent, lossModel: params.lossModel, results };
  });
}

/** `ferry bench bulk-30`. */
export const bulk30Scenario: Scenario = {
  name: 'bulk-30',
  headline: ['goodputMbps', 'efficiency', 'queueDelayP99Ms', 'newreno.efficiency', 'cubic.efficiency'],
  summary: 'bulk transfer: 20 MB through 20 Mbit/s, RTT 60 ms, 150 KB queue, 30% loss both ways',
  run: (options) => runBulk30(bulk30Params(options), options.onProgress, options.trace),
};
