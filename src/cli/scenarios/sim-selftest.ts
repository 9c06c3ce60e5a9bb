import type { SimAddress } from '../../sim/address.ts';
import type { SimEndpoint, Transmit } from '../../sim/endpoint.ts';
import { BaseNode, type Drop, type Emit, type SimPacket } from '../../sim/link/node.ts';
import { defaultQueueBytes, Link, type LinkProfile, profileNodes } from '../../sim/link.ts';
import type { SeededRandom } from '../../sim/random.ts';
import { Simulation } from '../../sim/simulation.ts';
import { UsageError } from '../errors.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from '../scenario.ts';

// Datagram layout: [0, 8) send time (source), [8, 12) probe index, [12, 20) probe time (both by the probe).
const datagramBytes = 1200;
/** Offered load relative to the bottleneck rate, so the queue fills and its bound is exercised. */
const overload = 1.2;
/** Offered datagrams per second when no rate limit is configured. */
const unlimitedPps = 1000;

/**
 * Stamps each datagram that leaves the bottleneck with its order and time, so the sink can measure
 * what the loss and delay nodes did independently of the queue in front of them.
 */
class Probe extends BaseNode {
  readonly kind = 'selftest-probe';
  private index = 0;
  /** Time the last datagram passed, ms. */
  lastAtMs = 0;

  process(packet: SimPacket, emit: Emit, _drop: Drop): void {
    this.countIn(packet);
    this.lastAtMs = packet.at;
    const view = new DataView(packet.bytes.buffer, packet.bytes.byteOffset, packet.bytes.byteLength);
    view.setUint32(8, this.index++);
    view.setFloat64(12, packet.at);
    this.pass(packet, emit);
  }
}

/** Sends datagrams as a Poisson process of `ratePps` until `stopMs`. */
class Source implements SimEndpoint {
  offered = 0;
  private nextSendMs: number;
  private due = false;

  constructor(
    private readonly random: SeededRandom,
    private readonly ratePps: number,
    private readonly stopMs: number,
  ) {
    this.nextSendMs = random.exponential(1000 / ratePps);
  }

  handleDatagram(): void {}

  pollTransmit(now: number): Transmit | undefined {
    if (!this.due) return undefined;
    this.due = false;
    this.offered++;
    const bytes = new Uint8Array(datagramBytes);
    new DataView(bytes.buffer).setFloat64(0, now);
    return { to: 'b', bytes };
  }

  nextTimeout(): number | undefined {
    return this.nextSendMs < this.stopMs ? this.nextSendMs : undefined;
  }

  handleTimeout(now: number): void {
    this.due = true;
    this.nextSendMs = now + this.random.exponential(1000 / this.ratePps);
  }
}

/** Records, per arriving datagram, its probe index, delay after the probe and wait before it. */
class Sink implements SimEndpoint {
  readonly probeIndexes: number[] = [];
  readonly delaysMs: number[] = [];
  maxQueueWaitMs = 0;
  bytes = 0;

  handleDatagram(now: number, _from: SimAddress, bytes: Uint8Array): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const probeAt = view.getFloat64(12);
    this.probeIndexes.push(view.getUint32(8));
    this.delaysMs.push(now - probeAt);
    this.maxQueueWaitMs = Math.max(this.maxQueueWaitMs, probeAt - view.getFloat64(0));
    this.bytes += bytes.length;
  }

  pollTransmit(): Transmit | undefined {
    return undefined;
  }

  nextTimeout(): number | undefined {
    return undefined;
  }

  handleTimeout(): void {}
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

/** Loss rate and burst lengths from which probe indexes in [0, total) arrived. */
function lossStats(received: readonly number[], total: number) {
  const arrived = new Uint8Array(total);
  for (const i of received) arrived[i] = 1;
  let lost = 0;
  let bursts = 0;
  for (let i = 0; i < total; i++) {
    if (arrived[i]) continue;
    lost++;
    if (i === 0 || arrived[i - 1]) bursts++;
  }
  return { lossRate: total ? lost / total : 0, meanBurst: bursts ? lost / bursts : 0 };
}

function meanAndStdev(xs: readonly number[]) {
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = xs.length ? sum / xs.length : 0;
  let squares = 0;
  for (const x of xs) squares += (x - mean) ** 2;
  return { mean, stdev: xs.length > 1 ? Math.sqrt(squares / (xs.length - 1)) : 0 };
}

/** The delay distribution a profile configures: its mean and standard deviation, ms. */
function configuredDelay(profile: LinkProfile) {
  const delayMs = profile.delayMs ?? 0;
  const jitterMs = profile.jitterMs ?? 0;
  if (jitterMs === 0) return { mean: delayMs, stdev: 0 };
  if (profile.jitterModel === 'normal') return { mean: delayMs, stdev: jitterMs };
  const lo = Math.max(0, delayMs - jitterMs);
  const hi = delayMs + jitterMs;
  return { mean: (lo + hi) / 2, stdev: (hi - lo) / Math.sqrt(12) };
}

/** Mean burst length the loss model should produce (bag's is not a parameter: null). */
function configuredBurst(profile: LinkProfile): number | null {
  const p = (profile.lossPercent ?? 0) / 100;
  if (p === 0) return 0;
  if (profile.lossModel === 'gilbert') return profile.burst ?? 2;
  if (profile.lossModel === 'bag') return null;
  return 1 / (1 - p);
}

/** Runs the self-test: traffic through one configured link, configured vs measured. */
function runSelftest(options: ScenarioOptions): ScenarioResult {
  if (options.profile !== undefined) throw new UsageError('sim-selftest has no tuning profiles');
  const durationS = options.durationS ?? (options.quick ? 20 : 120);
  const lossModel = options.lossModel ?? 'bernoulli';
  const profile: LinkProfile = {
    lossPercent: options.lossPercent ?? 30,
    lossModel,
    ...(lossModel === 'gilbert' ? { burst: options.burst ?? 3 } : {}),
    delayMs: options.delayMs ?? (options.rttMs !== undefined ? options.rttMs / 2 : 50),
    jitterMs: options.jitterMs ?? 15,
    jitterModel: 'uniform',
    fifo: false,
    rateMbps: options.rateMbps ?? 10,
    queueBytes: defaultQueueBytes,
  };
  const rateMbps = profile.rateMbps ?? 0;
  const offeredPps = rateMbps > 0 ? (overload * rateMbps * 1e6) / (8 * datagramBytes) : unlimitedPps;

  let nodes: ReturnType<typeof profileNodes>;
  try {
    nodes = profileNodes(profile);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  const probe = new Probe();
  const bottleneck = nodes.findIndex((n) => n.kind === 'rate-limit');
  nodes.splice(bottleneck + 1, 0, probe);

  const stopMs = durationS * 1000;
  const sim = new Simulation({ seed: options.seed });
  const source = new Source(sim.forkRandom('source'), offeredPps, stopMs);
  const sink = new Sink();
  sim.addEndpoint('a', source);
  sim.addEndpoint('b', sink);
  sim.connect('a', 'b', new Link(nodes), new Link([]));
  const onProgress = options.onProgress;
  if (onProgress) {
    for (let i = 1; i <= 20; i++)
      sim.schedule((stopMs * i) / 20, (now) => onProgress(Math.min(1, now / stopMs)));
  }
  sim.run();

  const probed = probe.counters.delivered;
  const loss = lossStats(sink.probeIndexes, probed);
  const delay = meanAndStdev(sink.delaysMs);
  const expectedDelay = configuredDelay(profile);
  const queueBoundMs = rateMbps > 0 ? ((profile.queueBytes ?? defaultQueueBytes) * 8) / (rateMbps * 1000) : 0;
  // The bottleneck starts busy at the first arrival (≈ 0) and drains after the source stops.
  const bottleneckMbps = (probe.counters.bytesOut * 8) / (Math.max(probe.lastAtMs, 1) * 1000);
  const deliveredMbps = (sink.bytes * 8) / (stopMs * 1000);
  const lossFraction = (profile.lossPercent ?? 0) / 100;

  return {
    params: {
      ...profile,
      durationS,
      datagramBytes,
      offeredPps: round(offeredPps, 2),
      ...(rateMbps > 0 ? { offeredLoad: overload } : {}),
    },
    results: {
      datagrams: { offered: source.offered, pastBottleneck: probed, delivered: sink.probeIndexes.length },
      lossRate: { configured: lossFraction, measured: round(loss.lossRate, 5) },
      meanBurst: { configured: configuredBurst(profile), measured: round(loss.meanBurst) },
      delayMeanMs: { configured: round(expectedDelay.mean), measured: round(delay.mean) },
      delayStdevMs: { configured: round(expectedDelay.stdev), measured: round(delay.stdev) },
      bottleneckMbps: { configured: rateMbps, measured: round(bottleneckMbps) },
      deliveredMbps: { expected: round(bottleneckMbps * (1 - lossFraction)), measured: round(deliveredMbps) },
      queue: {
        boundMs: round(queueBoundMs),
        maxWaitMs: round(sink.maxQueueWaitMs),
        respected: rateMbps === 0 || sink.maxQueueWaitMs <= queueBoundMs + 1e-9,
        drops: source.offered - probed,
      },
    },
  };
}

/** `ferry bench sim-selftest`: checks the simulator's link models, configured vs measured. */
export const simSelftest: Scenario = {
  name: 'sim-selftest',
  headline: ['lossRate.measured', 'meanBurst.measured', 'delayMeanMs.measured', 'queue.respected'],
  summary: 'pushes traffic through one simulated link and prints configured vs measured loss, delay, rate',
  run: runSelftest,
};
