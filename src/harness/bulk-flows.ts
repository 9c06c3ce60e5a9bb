import type { Connection } from '../protocol/connection.ts';
import type { ConnectionConfig } from '../protocol/connection-config.ts';
import { Endpoint } from '../protocol/endpoint.ts';
import type { TraceSinks } from '../protocol/trace.ts';
import type { LinkNode } from '../sim/link/node.ts';
import { Link } from '../sim/link.ts';
import { Simulation } from '../sim/simulation.ts';
import { AppEndpoint } from './app-endpoint.ts';

/** One bulk flow of a {@link BulkFlows} network. */
export interface BulkFlowSpec {
  /** Connection tunables of both ends (e.g. `congestionControl`). */
  config?: Partial<ConnectionConfig>;
  /** When the sender opens the connection and starts sending (ms). Default 0. */
  startMs?: number;
  /** Payload bytes to send; default unlimited (a sender that never runs dry). */
  transferBytes?: number;
  /** Trace sinks of the flow's sender (`client`) and receiver (`server`), spec §15; none by default. */
  trace?: TraceSinks;
}

/** Options of {@link BulkFlows}. */
export interface BulkFlowsOptions {
  /** Simulator seed. */
  seed: number;
  /** The flows; flow i runs from endpoint `c<i>` to `s<i>`. */
  flows: readonly BulkFlowSpec[];
  /**
   * Nodes of flow i's forward (sender → receiver) path. Return the SAME node instance for several flows to make
   * them share it: a shared rate limiter is one bottleneck queue for all of them.
   */
  forward: (flow: number) => LinkNode[];
  /** Nodes of flow i's reverse (ACK) path. */
  reverse: (flow: number) => LinkNode[];
  /** Size of each message the senders queue (bytes). Default 64 KiB. */
  messageBytes?: number;
  /** Each sender keeps at least this many bytes queued, so it is never application-limited. Default 2 MiB. */
  queuedTargetBytes?: number;
}

/** The state and measurements of one bulk flow. */
export class BulkFlow {
  /** The sender's connection, once started. */
  client: Connection | undefined;
  /** The receiver's connection, once the first datagram arrived. */
  server: Connection | undefined;
  /** Payload bytes delivered in order to the receiving application. */
  deliveredBytes = 0;
  /** Time of the latest delivery (ms). */
  lastDeliveryMs = 0;
  /** Messages delivered out of order or twice (must stay 0). */
  orderErrors = 0;
  /** Payload bytes queued by the sender so far. */
  issuedBytes = 0;
  /** Delivery log: time (ms) and cumulative delivered bytes after each message. */
  readonly deliveryTimesMs: number[] = [];
  readonly deliveryTotals: number[] = [];
  private nextSeq = 0;
  private expectSeq = 0;

  constructor(
    /** The flow's index. */
    readonly index: number,
    /** Bytes to send (Infinity: unlimited). */
    readonly transferBytes: number,
  ) {}

  /** Whether every byte of a finite transfer has been delivered. */
  get completed(): boolean {
    return this.deliveredBytes >= this.transferBytes;
  }

  /** Cumulative delivered bytes as of time `tMs`. */
  deliveredAt(tMs: number): number {
    const times = this.deliveryTimesMs;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! <= tMs) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : this.deliveryTotals[lo - 1]!;
  }

  /** Goodput over [fromMs, toMs) in bytes per second. */
  goodputBytesPerSec(fromMs: number, toMs: number): number {
    return ((this.deliveredAt(toMs) - this.deliveredAt(fromMs)) * 1000) / Math.max(toMs - fromMs, 1e-9);
  }

  /** Queues messages until the target backlog is reached or the transfer is fully issued. */
  topUp(nowMs: number, messageBytes: number, targetBytes: number): void {
    const connection = this.client;
    if (connection?.state !== 'open') return;
    while (
      this.issuedBytes < this.transferBytes &&
      connection.sendBufferedBytesTotal < targetBytes &&
      connection.canSend(messageBytes)
    ) {
      const size = Math.min(messageBytes, this.transferBytes - this.issuedBytes);
      const data = new Uint8Array(size);
      new DataView(data.buffer).setUint32(0, this.nextSeq++);
      connection.send(nowMs, 0, data);
      this.issuedBytes += size;
    }
  }

  /** Records one message delivered to the receiving application. */
  onDelivered(nowMs: number, data: Uint8Array): void {
    const seq = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
    if (seq !== this.expectSeq) this.orderErrors++;
    this.expectSeq = seq + 1;
    this.deliveredBytes += data.length;
    this.lastDeliveryMs = nowMs;
    this.deliveryTimesMs.push(nowMs);
    this.deliveryTotals.push(this.deliveredBytes);
  }
}

/**
 * Bulk senders and receivers over paths built from caller-supplied link nodes: the harness for bulk-30 and the
 * congestion-control simulations (fairness, adaptation). Flows whose paths share a node instance share it as one
 * resource, so several flows can compete for one bottleneck. Deterministic for a given seed and setup.
 */
export class BulkFlows {
  readonly sim: Simulation;
  readonly flows: BulkFlow[];
  private readonly messageBytes: number;
  private readonly queuedTargetBytes: number;

  constructor(options: BulkFlowsOptions) {
    this.sim = new Simulation({ seed: options.seed });
    this.messageBytes = options.messageBytes ?? 65_536;
    this.queuedTargetBytes = options.queuedTargetBytes ?? 2 * 1024 * 1024;
    this.flows = options.flows.map((spec, i) => this.addFlow(options, spec, i));
  }

  private addFlow(options: BulkFlowsOptions, spec: BulkFlowSpec, i: number): BulkFlow {
    const flow = new BulkFlow(i, spec.transferBytes ?? Number.POSITIVE_INFINITY);
    const clientAddress = `c${i}`;
    const serverAddress = `s${i}`;
    const clientEndpoint = new Endpoint({
      random: this.sim.forkRandom(`bulk client ${i}`),
      acceptConnections: false,
      config: spec.config,
      trace: spec.trace?.client,
    });
    const serverEndpoint = new Endpoint({
      random: this.sim.forkRandom(`bulk server ${i}`),
      acceptConnections: true,
      config: spec.config,
      trace: spec.trace?.server,
    });
    const serviceClient = (nowMs: number): void => {
      const connection = flow.client;
      if (!connection) return;
      let topUp = false;
      for (let e = connection.pollEvent(); e; e = connection.pollEvent()) {
        if (e.type === 'delivered' || e.type === 'writable') topUp = true;
      }
      if (topUp) flow.topUp(nowMs, this.messageBytes, this.queuedTargetBytes);
    };
    const serviceServer = (nowMs: number): void => {
      if (!flow.server) flow.server = serverEndpoint.pollEvent()?.connection;
      const connection = flow.server;
      if (!connection) return;
      while (connection.pollEvent()) {}
      for (let m = connection.receive(); m; m = connection.receive()) flow.onDelivered(nowMs, m.data);
    };
    this.sim.addEndpoint(clientAddress, new AppEndpoint(clientEndpoint, serviceClient));
    this.sim.addEndpoint(serverAddress, new AppEndpoint(serverEndpoint, serviceServer));
    this.sim.connect(
      clientAddress,
      serverAddress,
      new Link(options.forward(i)),
      new Link(options.reverse(i)),
    );
    this.sim.schedule(spec.startMs ?? 0, (nowMs) => {
      flow.client = clientEndpoint.connect(nowMs, serverAddress);
      flow.topUp(nowMs, this.messageBytes, this.queuedTargetBytes);
    });
    return flow;
  }

  /** Runs until every finite flow completed, or `untilMs`. */
  run(untilMs: number): void {
    const finite = this.flows.filter((f) => Number.isFinite(f.transferBytes));
    this.sim.run({
      untilMs,
      stopWhen: finite.length > 0 ? () => finite.every((f) => f.completed) : undefined,
    });
  }
}
