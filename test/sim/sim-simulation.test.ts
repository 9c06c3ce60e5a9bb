import { describe, expect, it } from 'vitest';
import type { SimAddress } from '../../src/sim/address.ts';
import type { SimEndpoint, Transmit } from '../../src/sim/endpoint.ts';
import { SimulationLimitError } from '../../src/sim/errors.ts';
import { EventRecorder, fingerprint } from '../../src/sim/events.ts';
import { bernoulliLoss } from '../../src/sim/link/bernoulli-loss.ts';
import { fixedDelay } from '../../src/sim/link/fixed-delay.ts';
import { Link } from '../../src/sim/link.ts';
import { Simulation } from '../../src/sim/simulation.ts';

/** A scriptable endpoint: queue transmits, set a deadline, and see what it was called with. */
class Probe implements SimEndpoint {
  readonly received: { now: number; from: SimAddress; bytes: Uint8Array }[] = [];
  readonly timeouts: number[] = [];
  readonly outbox: Transmit[] = [];
  deadline: number | undefined;
  /** handleTimeout calls made before the deadline (must stay 0). */
  early = 0;
  onTimeout: (now: number) => void = () => {
    this.deadline = undefined;
  };
  handleDatagram(now: number, from: SimAddress, bytes: Uint8Array): void {
    this.received.push({ now, from, bytes });
  }
  pollTransmit(): Transmit | undefined {
    return this.outbox.shift();
  }
  nextTimeout(): number | undefined {
    return this.deadline;
  }
  handleTimeout(now: number): void {
    if (!(now >= (this.deadline ?? Number.POSITIVE_INFINITY))) this.early++;
    this.timeouts.push(now);
    this.onTimeout(now);
  }
}

function pair(seed = 1, aToB: Link = new Link([fixedDelay(10)]), bToA: Link = new Link([fixedDelay(10)])) {
  const recorder = new EventRecorder();
  const sim = new Simulation({ seed, onEvent: recorder.record });
  const a = new Probe();
  const b = new Probe();
  sim.addEndpoint('a', a);
  sim.addEndpoint('b', b);
  sim.connect('a', 'b', aToB, bToA);
  return { sim, a, b, recorder };
}

describe('Simulation', () => {
  it('jumps straight to a far deadline without intermediate events', () => {
    const { sim, a } = pair();
    a.deadline = 1e9;
    const result = sim.run();
    expect(result).toEqual({ reason: 'idle', events: 1, nowMs: 1e9 });
    expect(a.timeouts).toEqual([1e9]);
  });

  it('delivers after the link delay, from the right address, in send order at equal times', () => {
    const { sim, a, b } = pair();
    for (let i = 0; i < 5; i++) a.outbox.push({ to: 'b', bytes: new Uint8Array([i]) });
    sim.run();
    expect(b.received.map((r) => [r.now, r.from, r.bytes[0]])).toEqual([
      [10, 'a', 0],
      [10, 'a', 1],
      [10, 'a', 2],
      [10, 'a', 3],
      [10, 'a', 4],
    ]);
    expect(sim.counters.deliveries).toBe(5);
  });

  it('drains an endpoint after a delivery, so a reply goes out at the same instant', () => {
    const { sim, a, b } = pair();
    const responder = b.handleDatagram.bind(b);
    b.handleDatagram = (now, from, bytes) => {
      responder(now, from, bytes);
      b.outbox.push({ to: from, bytes });
    };
    a.outbox.push({ to: 'b', bytes: new Uint8Array([7]) });
    sim.run();
    expect(a.received.map((r) => r.now)).toEqual([20]);
  });

  it('re-arms on every deadline change and ignores stale timer entries', () => {
    const { sim, a, b } = pair();
    // a's deadline moves later on every datagram it receives; only the last one may fire.
    a.deadline = 15;
    const base = a.handleDatagram.bind(a);
    a.handleDatagram = (now, from, bytes) => {
      base(now, from, bytes);
      a.deadline = now + 15;
    };
    b.onTimeout = (now) => {
      b.outbox.push({ to: 'a', bytes: new Uint8Array(1) });
      b.deadline = now + 1 <= 4 ? now + 1 : undefined;
    };
    b.deadline = 0;
    sim.run();
    // b sends at 0..4, a receives at 10..14, so a's deadline ends at 29; 15 and the others are stale.
    expect(a.received.map((r) => r.now)).toEqual([10, 11, 12, 13, 14]);
    expect(a.timeouts).toEqual([29]);
    expect(b.timeouts).toEqual([0, 1, 2, 3, 4]);
    expect(a.early + b.early).toBe(0);
  });

  it('fires a deadline already in the past at the current time', () => {
    const { sim, a } = pair();
    sim.schedule(50, () => {
      a.deadline = 10;
    });
    sim.run();
    expect(a.timeouts).toEqual([50]);
  });

  it('runs hooks in virtual time and polls every endpoint afterwards', () => {
    const { sim, a, b, recorder } = pair();
    const order: string[] = [];
    sim.schedule(100, () => {
      order.push('first');
      a.outbox.push({ to: 'b', bytes: new Uint8Array(3) });
    });
    sim.schedule(100, () => order.push('second'));
    sim.schedule(40, () => order.push('early'));
    sim.run();
    expect(order).toEqual(['early', 'first', 'second']);
    expect(b.received.map((r) => r.now)).toEqual([110]);
    expect(recorder.lines).toEqual([
      '40 hook',
      '100 hook',
      '100 send a>b 3',
      '100 hook',
      `110 deliver a>b 3 ${fingerprint(new Uint8Array(3))}`,
    ]);
    expect(() => sim.schedule(sim.now - 1, () => {})).toThrow(RangeError);
  });

  it('drops and counts datagrams to an unconnected address', () => {
    const { sim, a, recorder } = pair();
    a.outbox.push({ to: 'nowhere', bytes: new Uint8Array(4) });
    sim.run();
    expect(sim.counters.noRoute).toBe(1);
    expect(recorder.lines).toEqual(['0 drop a>nowhere 4 no-route@-1']);
  });

  it('stops at untilMs with the clock there, resumes later, and honours stopWhen', () => {
    const { sim, a } = pair();
    let ticks = 0;
    a.deadline = 0;
    a.onTimeout = (now) => {
      ticks++;
      a.deadline = now + 10;
    };
    expect(sim.run({ untilMs: 55 })).toEqual({ reason: 'until', events: 6, nowMs: 55 });
    expect(a.timeouts).toEqual([0, 10, 20, 30, 40, 50]);
    expect(sim.run({ stopWhen: () => ticks === 9 })).toEqual({ reason: 'stopped', events: 3, nowMs: 80 });
    expect(sim.run({ untilMs: 1000, stopWhen: () => false }).nowMs).toBe(1000);
  });

  it('the clock advances to untilMs even when idle', () => {
    const { sim } = pair();
    expect(sim.run({ untilMs: 500 })).toEqual({ reason: 'idle', events: 0, nowMs: 500 });
  });

  it('throws a SimulationLimitError on a livelocked endpoint instead of hanging', () => {
    const sim = new Simulation({ seed: 1, maxEventsPerInstant: 10_000 });
    const a = new Probe();
    sim.addEndpoint('a', a);
    a.deadline = 5;
    a.onTimeout = () => {}; // never advances its deadline
    expect(() => sim.run()).toThrow(/events at one instant/);
    expect(a.timeouts).toHaveLength(10_000);
    const { sim: other, a: spinner } = pair();
    spinner.deadline = 0;
    spinner.onTimeout = (now) => {
      spinner.deadline = now + 1;
    };
    expect(() => other.run({ maxEvents: 100 })).toThrow(/maxEvents \(100\)/);
  });

  it('throws on an endpoint whose transmit queue never empties', () => {
    const sim = new Simulation({ seed: 1, maxTransmitsPerDrain: 1000 });
    sim.addEndpoint('x', {
      handleDatagram() {},
      pollTransmit: () => ({ to: 'x', bytes: new Uint8Array(1) }),
      nextTimeout: () => undefined,
      handleTimeout() {},
    });
    expect(() => sim.run()).toThrow(SimulationLimitError);
  });

  it('rejects duplicate endpoints, unknown addresses and double connections', () => {
    const { sim } = pair();
    expect(() => sim.addEndpoint('a', new Probe())).toThrow(/already exists/);
    expect(() => sim.connect('a', 'zz', new Link([]), new Link([]))).toThrow(/unknown endpoint/);
    expect(() => sim.connectOneWay('a', 'b', new Link([]))).toThrow(/already connected/);
    const shared = new Link([]);
    sim.addEndpoint('c', new Probe());
    sim.connectOneWay('a', 'c', shared);
    expect(() => sim.connectOneWay('b', 'c', shared)).toThrow(/already attached/);
  });

  it('keeps per-link counters that add up', () => {
    const { sim, a, b } = pair(3, new Link([bernoulliLoss(0.3), fixedDelay(5)]));
    for (let i = 0; i < 1000; i++) a.outbox.push({ to: 'b', bytes: new Uint8Array(10) });
    sim.run();
    const link = sim.linkBetween('a', 'b')!;
    expect(link.counters.sent).toBe(1000);
    expect(link.counters.bytesSent).toBe(10_000);
    expect(link.counters.delivered + (link.counters.dropped.loss ?? 0)).toBe(1000);
    expect(link.counters.delivered).toBe(b.received.length);
    expect(link.nodes[0]?.counters.dropped.loss).toBe(link.counters.dropped.loss);
    expect(sim.linkBetween('b', 'a')?.counters.sent).toBe(0);
    expect(sim.linkBetween('a', 'nowhere')).toBeUndefined();
  });

  it('gives each direction its own random stream, fixed by the addresses', () => {
    const lossPattern = (seed: number) => {
      const { sim, a, b } = pair(seed, new Link([bernoulliLoss(0.5)]), new Link([bernoulliLoss(0.5)]));
      for (let i = 0; i < 64; i++) {
        a.outbox.push({ to: 'b', bytes: new Uint8Array([i]) });
        b.outbox.push({ to: 'a', bytes: new Uint8Array([i]) });
      }
      sim.run();
      return [b.received.map((r) => r.bytes[0]), a.received.map((r) => r.bytes[0])];
    };
    const [forward, backward] = lossPattern(1);
    expect(forward).not.toEqual(backward);
    expect(lossPattern(1)).toEqual([forward, backward]);
  });
});
