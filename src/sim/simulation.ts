import { EventQueue, type QueueItem } from '../protocol/event-queue.ts';
import type { SimAddress } from './address.ts';
import type { SimEndpoint } from './endpoint.ts';
import { SimulationLimitError } from './errors.ts';
import type { SimEvent } from './events.ts';
import type { DropCause, SimPacket } from './link/node.ts';
import type { Link } from './link.ts';
import { labelOf, SeededRandom } from './random.ts';

/** An application hook, run at its scheduled virtual time. */
export type SimHook = (nowMs: number) => void;

/** Options of a `Simulation`. */
export interface SimulationOptions {
  /** PRNG seed; the same seed (and the same setup) gives the same run. */
  seed: number;
  /** Receives every send, delivery, drop, timeout and hook, in order (for logs and determinism checks). */
  onEvent?: (event: SimEvent) => void;
  /** Most events that may happen at one virtual instant before `run` throws (livelock guard). Default 1e6. */
  maxEventsPerInstant?: number;
  /** Most datagrams one `pollTransmit` drain may return before `run` throws. Default 1e6. */
  maxTransmitsPerDrain?: number;
}

/** Options of one `run` call. */
export interface RunOptions {
  /** Stop before the first event due after this time and leave the clock here. Default: run until idle. */
  untilMs?: number;
  /** Checked after every event; true stops the run. */
  stopWhen?: () => boolean;
  /** Most events this call may process before it throws `SimulationLimitError`. Default 1e8. */
  maxEvents?: number;
}

/** Why `run` returned. */
export interface RunResult {
  /** `idle`: nothing left to do; `until`: reached `untilMs`; `stopped`: `stopWhen` returned true. */
  reason: 'idle' | 'until' | 'stopped';
  /** Events processed by this call (stale timer entries excluded). */
  events: number;
  /** Virtual time when it returned. */
  nowMs: number;
}

/** Whole-simulation counters. */
export interface SimulationCounters {
  /** Datagrams delivered to endpoints. */
  deliveries: number;
  /** Endpoint timeouts fired. */
  timeouts: number;
  /** Application hooks run. */
  hooks: number;
  /** Datagrams sent to an address with no link from the sender: dropped. */
  noRoute: number;
}

interface EndpointState {
  readonly address: SimAddress;
  readonly endpoint: SimEndpoint;
  readonly routes: Map<SimAddress, Route>;
  /** Deadline of the live timer entry, undefined when none is queued. */
  armedAt: number | undefined;
  /** Generation of the live timer entry; older entries are stale (lazy deletion). */
  generation: number;
}

interface Route {
  readonly from: SimAddress;
  readonly to: EndpointState;
  readonly link: Link;
}

const DELIVER = 0;
const TIMER = 1;
const HOOK = 2;

/** One queue entry; a single class with every field keeps the hot path monomorphic. */
class Entry implements QueueItem {
  seq = 0;
  constructor(
    public at: number,
    readonly kind: number,
    readonly bytes: Uint8Array | undefined,
    readonly route: Route | undefined,
    readonly state: EndpointState | undefined,
    readonly generation: number,
    readonly hook: SimHook | undefined,
  ) {}
}

/**
 * A deterministic discrete-event network simulator (quinn's `Pair`, neqo's test simulator). Virtual time
 * jumps to the next event; nothing sleeps. Endpoints are sans-IO (`SimEndpoint`); links are chains of
 * nodes that compute each datagram's fate when it is sent, so a delivered datagram costs one queue entry.
 * After a delivery or timeout the endpoint's transmits are drained and its deadline re-read; after a hook,
 * every endpoint's are (in the order they were added). Same seed + same setup → identical run.
 */
export class Simulation {
  /** The root PRNG; fork it (`forkRandom`) for anything that needs randomness. */
  readonly random: SeededRandom;
  /** Whole-simulation counters. */
  readonly counters: SimulationCounters = { deliveries: 0, timeouts: 0, hooks: 0, noRoute: 0 };
  private readonly queue = new EventQueue<Entry>();
  private readonly endpoints = new Map<SimAddress, EndpointState>();
  private readonly onEvent: ((event: SimEvent) => void) | undefined;
  private readonly maxEventsPerInstant: number;
  private readonly maxTransmitsPerDrain: number;
  private nowMs = 0;

  constructor(options: SimulationOptions) {
    this.random = new SeededRandom(options.seed);
    this.onEvent = options.onEvent;
    this.maxEventsPerInstant = options.maxEventsPerInstant ?? 1_000_000;
    this.maxTransmitsPerDrain = options.maxTransmitsPerDrain ?? 1_000_000;
  }

  /** Current virtual time, ms. */
  get now(): number {
    return this.nowMs;
  }

  /** An independent random stream for `name` (e.g. an endpoint's address); stable across setups. */
  forkRandom(name: string): SeededRandom {
    return this.random.fork(labelOf(name));
  }

  /** Registers an endpoint under `address`. */
  addEndpoint(address: SimAddress, endpoint: SimEndpoint): void {
    if (this.endpoints.has(address)) throw new Error(`endpoint '${address}' already exists`);
    this.endpoints.set(address, { address, endpoint, routes: new Map(), armedAt: undefined, generation: 0 });
  }

  /** Connects two endpoints with one link per direction (each link is used by this pair only). */
  connect(a: SimAddress, b: SimAddress, linkAtoB: Link, linkBtoA: Link): void {
    this.connectOneWay(a, b, linkAtoB);
    this.connectOneWay(b, a, linkBtoA);
  }

  /** Routes datagrams from `from` to `to` through `link`; unbound random nodes get streams forked by direction. */
  connectOneWay(from: SimAddress, to: SimAddress, link: Link): void {
    const source = this.endpoint(from);
    const target = this.endpoint(to);
    if (source.routes.has(to)) throw new Error(`'${from}' is already connected to '${to}'`);
    link.bindRandom(this.random.fork(labelOf(`link ${from}>${to}`)));
    const route: Route = { from, to: target, link };
    link.attach({
      deliver: (packet) => this.queueDelivery(packet, route),
      drop: (packet, cause, node) => this.reportDrop(packet, route, cause, node),
    });
    source.routes.set(to, route);
  }

  /** The link carrying `from` → `to`, for its counters. */
  linkBetween(from: SimAddress, to: SimAddress): Link | undefined {
    return this.endpoints.get(from)?.routes.get(to)?.link;
  }

  /** Runs `hook` at virtual time `atMs` (≥ now); afterwards every endpoint is polled. */
  schedule(atMs: number, hook: SimHook): void {
    if (!(atMs >= this.nowMs)) throw new RangeError(`cannot schedule at ${atMs} ms: now is ${this.nowMs} ms`);
    this.queue.push(new Entry(atMs, HOOK, undefined, undefined, undefined, 0, hook));
  }

  /** Processes events in time order until idle, `untilMs`, `stopWhen` or the event budget. */
  run(options: RunOptions = {}): RunResult {
    const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
    const maxEvents = options.maxEvents ?? 1e8;
    const stopWhen = options.stopWhen;
    for (const state of this.endpoints.values()) this.service(state);
    let events = 0;
    let instantEvents = 0;
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || next.at > untilMs) break;
      this.queue.pop();
      if (next.kind === TIMER && next.generation !== next.state!.generation) continue;
      if (next.at > this.nowMs) {
        this.nowMs = next.at;
        instantEvents = 0;
      }
      if (++events > maxEvents) this.limit(`run exceeded maxEvents (${maxEvents})`, events);
      if (++instantEvents > this.maxEventsPerInstant) {
        this.limit(`more than ${this.maxEventsPerInstant} events at one instant: livelock?`, events);
      }
      this.dispatch(next);
      if (stopWhen?.()) return { reason: 'stopped', events, nowMs: this.nowMs };
    }
    if (this.queue.size === 0 && untilMs === Number.POSITIVE_INFINITY) {
      return { reason: 'idle', events, nowMs: this.nowMs };
    }
    if (untilMs > this.nowMs && untilMs !== Number.POSITIVE_INFINITY) this.nowMs = untilMs;
    return { reason: this.queue.size === 0 ? 'idle' : 'until', events, nowMs: this.nowMs };
  }

  private dispatch(entry: Entry): void {
    const now = this.nowMs;
    if (entry.kind === DELIVER) {
      const route = entry.route!;
      const bytes = entry.bytes!;
      this.counters.deliveries++;
      this.onEvent?.({ type: 'deliver', at: now, from: route.from, to: route.to.address, bytes });
      route.to.endpoint.handleDatagram(now, route.from, bytes);
      this.service(route.to);
    } else if (entry.kind === TIMER) {
      const state = entry.state!;
      state.armedAt = undefined;
      this.counters.timeouts++;
      this.onEvent?.({ type: 'timeout', at: now, address: state.address });
      state.endpoint.handleTimeout(now);
      this.service(state);
    } else {
      this.counters.hooks++;
      this.onEvent?.({ type: 'hook', at: now });
      entry.hook!(now);
      for (const state of this.endpoints.values()) this.service(state);
    }
  }

  /** Drains an endpoint's transmits into its links, then re-arms its timer if the deadline changed. */
  private service(state: EndpointState): void {
    const now = this.nowMs;
    const endpoint = state.endpoint;
    let drained = 0;
    for (let transmit = endpoint.pollTransmit(now); transmit; transmit = endpoint.pollTransmit(now)) {
      if (++drained > this.maxTransmitsPerDrain) {
        this.limit(
          `'${state.address}' returned more than ${this.maxTransmitsPerDrain} transmits in one drain`,
          0,
        );
      }
      const route = state.routes.get(transmit.to);
      if (route === undefined) {
        this.counters.noRoute++;
        this.onEvent?.({
          type: 'drop',
          at: now,
          from: state.address,
          to: transmit.to,
          size: transmit.bytes.length,
          cause: 'no-route',
          node: -1,
        });
        continue;
      }
      this.onEvent?.({
        type: 'send',
        at: now,
        from: state.address,
        to: transmit.to,
        size: transmit.bytes.length,
      });
      route.link.send(transmit.bytes, now);
    }
    let deadline = endpoint.nextTimeout();
    if (deadline === Number.POSITIVE_INFINITY) deadline = undefined;
    if (deadline === state.armedAt) return;
    if (deadline !== undefined && Number.isNaN(deadline)) {
      throw new TypeError(`'${state.address}'.nextTimeout() returned NaN`);
    }
    state.generation++;
    state.armedAt = deadline;
    if (deadline !== undefined) {
      this.queue.push(
        new Entry(Math.max(deadline, now), TIMER, undefined, undefined, state, state.generation, undefined),
      );
    }
  }

  private queueDelivery(packet: SimPacket, route: Route): void {
    const at = Math.max(packet.at, this.nowMs);
    this.queue.push(new Entry(at, DELIVER, packet.bytes, route, undefined, 0, undefined));
  }

  private reportDrop(packet: SimPacket, route: Route, cause: DropCause, node: number): void {
    this.onEvent?.({
      type: 'drop',
      at: packet.at,
      from: route.from,
      to: route.to.address,
      size: packet.bytes.length,
      cause,
      node,
    });
  }

  private endpoint(address: SimAddress): EndpointState {
    const state = this.endpoints.get(address);
    if (!state) throw new Error(`unknown endpoint '${address}'`);
    return state;
  }

  private limit(message: string, events: number): never {
    throw new SimulationLimitError(`${message} at t=${this.nowMs} ms`, this.nowMs, events);
  }
}
