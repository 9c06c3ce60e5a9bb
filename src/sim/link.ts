import { bagLoss } from './link/bag-loss.ts';
import { bernoulliLoss } from './link/bernoulli-loss.ts';
import { corrupt } from './link/corrupt.ts';
import { duplicate } from './link/duplicate.ts';
import { fixedDelay } from './link/fixed-delay.ts';
import { gilbertLoss } from './link/gilbert-loss.ts';
import { inFlightLimit } from './link/in-flight-limit.ts';
import { mtu } from './link/mtu.ts';
import type { Drop, DropCause, Emit, LinkNode, SimPacket } from './link/node.ts';
import { normalJitter } from './link/normal-jitter.ts';
import { rateLimit } from './link/rate-limit.ts';
import { uniformDelay } from './link/uniform-delay.ts';
import { labelOf, type SeededRandom } from './random.ts';

/** Where a link hands its packets: `deliver` after the last node, `drop` with the dropping node's index. */
export interface LinkSink {
  deliver(packet: SimPacket): void;
  drop(packet: SimPacket, cause: DropCause, nodeIndex: number): void;
}

/** Accounting for a whole one-way link. */
export class LinkCounters {
  /** Datagrams handed to the link. */
  sent = 0;
  /** Payload bytes handed to the link. */
  bytesSent = 0;
  /** Datagrams that left the last node (scheduled for delivery). */
  delivered = 0;
  /** Payload bytes that left the last node. */
  bytesDelivered = 0;
  /** Datagrams dropped inside the link, by cause. */
  dropped: Partial<Record<DropCause, number>> = {};
}

/**
 * One direction of a path: an ordered chain of nodes. A packet enters node 0 at its send time; each node
 * emits it (with a later `at`) to the next; the last node's output goes to the sink. Random nodes get
 * their own stream, forked by (kind, occurrence of that kind), so inserting a node of another kind or
 * appending one never changes what the existing nodes draw.
 */
export class Link {
  /** The nodes, in the order a packet crosses them. */
  readonly nodes: readonly LinkNode[];
  /** Whole-link counters. */
  readonly counters = new LinkCounters();
  private readonly entry: Emit;
  private sink: LinkSink | undefined;

  constructor(nodes: readonly LinkNode[], random?: SeededRandom) {
    this.nodes = nodes;
    if (random) this.bindRandom(random);
    // Build the chain of emit closures once: node i emits into node i + 1, the last into the sink.
    let next: Emit = (packet) => this.exit(packet);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      const emit = next;
      const drop: Drop = (packet, cause) => this.dropAt(packet, cause, i);
      next = (packet) => node.process(packet, emit, drop);
    }
    this.entry = next;
  }

  /** Forks `random` into every random node that has no stream yet. */
  bindRandom(random: SeededRandom): void {
    const seen = new Map<string, number>();
    for (const node of this.nodes) {
      const occurrence = seen.get(node.kind) ?? 0;
      seen.set(node.kind, occurrence + 1);
      if (node.usesRandom) node.bindRandom(random.fork(labelOf(`${node.kind}#${occurrence}`)));
    }
  }

  /** Sets where packets go after the link (the simulation does this in `connect`); a link has one sink. */
  attach(sink: LinkSink): void {
    if (this.sink) throw new Error('this link is already attached: use a new Link per direction');
    this.sink = sink;
  }

  /** Sends one datagram into the link at virtual time `nowMs`. */
  send(bytes: Uint8Array, nowMs: number): void {
    this.counters.sent++;
    this.counters.bytesSent += bytes.length;
    this.entry({ bytes, sentAt: nowMs, at: nowMs });
  }

  private exit(packet: SimPacket): void {
    this.counters.delivered++;
    this.counters.bytesDelivered += packet.bytes.length;
    this.sink?.deliver(packet);
  }

  private dropAt(packet: SimPacket, cause: DropCause, nodeIndex: number): void {
    this.counters.dropped[cause] = (this.counters.dropped[cause] ?? 0) + 1;
    this.sink?.drop(packet, cause, nodeIndex);
  }
}

/** The knobs scenarios use to describe one direction of a path; every field is optional. */
export interface LinkProfile {
  /** Percent of datagrams lost, 0–100 (bag: rounded to an integer per 100). Default 0. */
  lossPercent?: number;
  /** Loss model. Default `bernoulli`. */
  lossModel?: 'bernoulli' | 'bag' | 'gilbert';
  /** Mean burst length in datagrams for `gilbert`. Default 2. */
  burst?: number;
  /** Mean one-way delay, ms. Default 0. */
  delayMs?: number;
  /** Jitter, ms: half-width of a uniform band (delayMs ± jitterMs) or, with `jitterModel: 'normal'`, a stdev. */
  jitterMs?: number;
  /** Jitter distribution. Default `uniform`. */
  jitterModel?: 'uniform' | 'normal';
  /** True: no overtaking. Default false (jitter reorders). */
  fifo?: boolean;
  /** Bottleneck rate, Mbit/s; absent = unlimited. */
  rateMbps?: number;
  /** Drop-tail queue at the bottleneck, bytes. Default 65536 (used only with rateMbps). */
  queueBytes?: number;
  /** Largest datagram that passes, bytes; absent = no limit. */
  mtu?: number;
  /** Percent of datagrams duplicated. Default 0. */
  duplicatePercent?: number;
  /** Percent of datagrams with flipped bits. Default 0. */
  corruptPercent?: number;
  /** Most datagrams inside the link at once (KCP's simulator caps its delay line at 1000); absent = no cap. */
  maxInFlight?: number;
}

/** Default drop-tail queue when a profile sets a rate but no queue. */
export const defaultQueueBytes = 65_536;

/**
 * The nodes for a profile, in path order: MTU, bottleneck (lost datagrams still use its capacity, so
 * capacity = rate × (1 − loss) as scenarios.md assumes), loss, duplication, delay/jitter, corruption, and
 * the in-flight cap (last, as it needs delivery times). Nodes whose knob is zero or absent are left out.
 * Uniform jitter is the band delayMs ± jitterMs with its lower edge clamped at 0 ms.
 */
export function profileNodes(profile: LinkProfile): LinkNode[] {
  const nodes: LinkNode[] = [];
  if (profile.mtu !== undefined) nodes.push(mtu(profile.mtu));
  if (profile.rateMbps !== undefined) {
    nodes.push(
      rateLimit({ rateBps: profile.rateMbps * 1e6, queueBytes: profile.queueBytes ?? defaultQueueBytes }),
    );
  }
  const lossPercent = profile.lossPercent ?? 0;
  if (lossPercent > 0) {
    const model = profile.lossModel ?? 'bernoulli';
    if (model === 'bag') nodes.push(bagLoss(Math.round(lossPercent)));
    else if (model === 'gilbert')
      nodes.push(gilbertLoss({ meanLoss: lossPercent / 100, meanBurst: profile.burst ?? 2 }));
    else nodes.push(bernoulliLoss(lossPercent / 100));
  }
  if ((profile.duplicatePercent ?? 0) > 0) nodes.push(duplicate((profile.duplicatePercent ?? 0) / 100));
  const delayMs = profile.delayMs ?? 0;
  const jitterMs = profile.jitterMs ?? 0;
  const fifo = profile.fifo ?? false;
  if (jitterMs > 0 && profile.jitterModel === 'normal') nodes.push(normalJitter(delayMs, jitterMs, { fifo }));
  else if (jitterMs > 0)
    nodes.push(uniformDelay(Math.max(0, delayMs - jitterMs), delayMs + jitterMs, { fifo }));
  else if (delayMs > 0) nodes.push(fixedDelay(delayMs));
  if ((profile.corruptPercent ?? 0) > 0) nodes.push(corrupt((profile.corruptPercent ?? 0) / 100));
  if (profile.maxInFlight !== undefined) nodes.push(inFlightLimit(profile.maxInFlight));
  return nodes;
}

/** A link built from a profile (see `profileNodes`); random streams are bound by `random` or by `connect`. */
export function linkFromProfile(profile: LinkProfile, random?: SeededRandom): Link {
  return new Link(profileNodes(profile), random);
}
