/**
 * Event-loop throughput of the simulator: datagrams delivered per wall-second through a 3-node link
 * (bottleneck → Bernoulli loss → uniform jitter). Target ≥ 500k deliveries/s (issue 2).
 * Run: `node --import tsx bench/sim-throughput.ts`.
 */
import { performance } from 'node:perf_hooks';
import b from 'benny';
import type { SimEndpoint, Transmit } from '../src/sim/endpoint.ts';
import { bernoulliLoss } from '../src/sim/link/bernoulli-loss.ts';
import { rateLimit } from '../src/sim/link/rate-limit.ts';
import { uniformDelay } from '../src/sim/link/uniform-delay.ts';
import { Link } from '../src/sim/link.ts';
import { Simulation } from '../src/sim/simulation.ts';

const datagramBytes = 1200;
const burstDatagrams = 50;
const burstIntervalMs = 1;

/** Sends `burstDatagrams` datagrams every `burstIntervalMs` until `total` have been sent. */
class Source implements SimEndpoint {
  private pending = 0;
  private sent = 0;
  private nextBurstMs = 0;
  private readonly payload = new Uint8Array(datagramBytes);
  constructor(private readonly total: number) {}
  handleDatagram(): void {}
  pollTransmit(): Transmit | undefined {
    if (this.pending === 0) return undefined;
    this.pending--;
    this.sent++;
    return { to: 'b', bytes: this.payload };
  }
  nextTimeout(): number | undefined {
    return this.sent < this.total ? this.nextBurstMs : undefined;
  }
  handleTimeout(now: number): void {
    this.pending = Math.min(burstDatagrams, this.total - this.sent);
    this.nextBurstMs = now + burstIntervalMs;
  }
}

/** Counts what arrives. */
class Sink implements SimEndpoint {
  received = 0;
  handleDatagram(): void {
    this.received++;
  }
  pollTransmit(): Transmit | undefined {
    return undefined;
  }
  nextTimeout(): number | undefined {
    return undefined;
  }
  handleTimeout(): void {}
}

/** One run: `total` datagrams offered; returns how many were delivered. */
export function runThroughput(total: number, seed = 1): number {
  const sim = new Simulation({ seed });
  const sink = new Sink();
  sim.addEndpoint('a', new Source(total));
  sim.addEndpoint('b', sink);
  // 600 Mbit/s carries the offered 480 Mbit/s (50 × 1200 B per ms) with a short queue.
  const forward = new Link([
    rateLimit({ rateBps: 600e6, queueBytes: 256 * 1024 }),
    bernoulliLoss(0.05),
    uniformDelay(20, 40),
  ]);
  sim.connect('a', 'b', forward, new Link([]));
  sim.run();
  return sink.received;
}

/** Plain figure: deliveries per wall-second, best of a few runs. */
function plainFigure(): void {
  const total = 1_000_000;
  runThroughput(100_000); // warm up the JIT
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const delivered = runThroughput(total, i + 1);
    const perSecond = delivered / ((performance.now() - started) / 1000);
    best = Math.max(best, perSecond);
  }
  console.log(
    `sim-throughput: ${Math.round(best).toLocaleString('en-US')} deliveries/s (3-node link, best of 3)`,
  );
}

plainFigure();
await b.suite(
  'sim event loop (100k datagrams offered through a 3-node link)',
  b.add('rateLimit → bernoulliLoss → uniformDelay', () => {
    runThroughput(100_000);
  }),
  b.cycle(),
  b.complete(),
);
