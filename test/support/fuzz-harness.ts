import fc from 'fast-check';
import { FerryPair, type Side } from '../../src/harness/ferry-pair.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import { Connection } from '../../src/protocol/connection.ts';
import type { ConnectionConfig } from '../../src/protocol/connection-config.ts';
import type { ReceivedMessage } from '../../src/protocol/connection-events.ts';
import { connectionInvariantViolations } from './invariants.ts';

/** A datagram one side sent in a clean run, with its send time. */
export interface CapturedDatagram {
  atMs: number;
  bytes: Uint8Array;
}

/** Real datagrams of one clean FerryPair run ({@link fuzzWorkload}), by the side that sent them. */
export interface Corpus {
  seed: number;
  client: CapturedDatagram[];
  server: CapturedDatagram[];
}

/** Small windows and caps so a fuzz run reaches every limit quickly (spec §14). */
export const fuzzConfig: Partial<ConnectionConfig> = {
  channelWindowBytes: 8192,
  connectionWindowBytes: 32_768,
  maxMessageBytes: 65_536,
  maxReceiveBufferBytes: 32_768 + 2 * 65_536,
  maxPendingMessages: 512,
  maxPendingMessagesPerChannel: 128,
  maxChannels: 8,
  sendBufferBytes: 65_536,
};

/** When the fuzz workload's client closes (ms). */
export const fuzzCloseAtMs = 600;

/**
 * A FerryPair at 20% loss with traffic on all four channel modes (small, empty and multi-fragment messages, both
 * directions); the client closes at {@link fuzzCloseAtMs}, gracefully or not. Deterministic for its seed, so a
 * run with injected datagrams is identical to the clean run until the first injection.
 */
export function fuzzWorkload(
  seed: number,
  graceful: boolean,
  onMessage?: (side: Side, message: ReceivedMessage) => void,
): FerryPair {
  const link = { delayMs: 20, jitterMs: 5, lossPercent: 20 };
  const pair = new FerryPair({
    seed,
    forward: link,
    reverse: link,
    config: fuzzConfig,
    onMessage: (side, _now, message) => onMessage?.(side, message),
  });
  const unordered = makeChannelId(0, 'client', ChannelMode.reliableUnordered);
  const deadline = makeChannelId(0, 'client', ChannelMode.deadline);
  const unreliable = makeChannelId(0, 'client', ChannelMode.unreliable);
  const reply = makeChannelId(0, 'server', ChannelMode.reliableOrdered);
  const open = (c: Connection | undefined): c is Connection => c?.state === 'open';
  for (let i = 0; i < 16; i++) {
    pair.at(i * 25, (now) => {
      const client = pair.client;
      if (!open(client) || !client.canSend(6000)) return;
      client.send(now, 0, new Uint8Array(8 + (i % 5) * 30).fill(i));
      if (i % 4 === 0) client.send(now, unordered, new Uint8Array(2500).fill(i));
      client.send(now, deadline, new Uint8Array(160).fill(i), { deadlineMs: 60 });
      client.send(now, unreliable, new Uint8Array(90).fill(i));
      if (i % 5 === 0) client.send(now, 0, new Uint8Array(0));
      const server = pair.server;
      if (i % 5 === 2 && open(server) && server.canSend(12_000))
        server.send(now, reply, new Uint8Array(12_000).fill(i));
    });
  }
  pair.at(fuzzCloseAtMs, (now) => {
    if (open(pair.client)) pair.client.close(now, { graceful });
  });
  return pair;
}

const corpora = new Map<number, Corpus>();

/** The datagrams each side sent in the clean graceful run of {@link fuzzWorkload} for `seed` (cached). */
export function captureCorpus(seed: number): Corpus {
  const cached = corpora.get(seed);
  if (cached) return cached;
  const sent = new Map<Connection, CapturedDatagram[]>();
  const original = Connection.prototype.pollTransmit;
  Connection.prototype.pollTransmit = function (this: Connection, nowMs: number) {
    const bytes = original.call(this, nowMs);
    if (bytes) {
      const list = sent.get(this) ?? [];
      list.push({ atMs: nowMs, bytes: bytes.slice() });
      sent.set(this, list);
    }
    return bytes;
  };
  try {
    const pair = fuzzWorkload(seed, true);
    pair.sim.run({ untilMs: 60_000 });
    const corpus = {
      seed,
      client: sent.get(pair.client) ?? [],
      server: (pair.server && sent.get(pair.server)) ?? [],
    };
    corpora.set(seed, corpus);
    return corpus;
  } finally {
    Connection.prototype.pollTransmit = original;
  }
}

/** One way to derive a hostile datagram from captured ones (`base`, `other` index the corpus, modulo). */
export type Mutation =
  | { op: 'replay'; base: number }
  | { op: 'flip'; base: number; bits: number[] }
  | { op: 'truncate'; base: number; at: number }
  | { op: 'splice'; base: number; other: number; at: number; otherAt: number }
  | { op: 'overwrite'; base: number; at: number; bytes: Uint8Array }
  | { op: 'insert'; base: number; at: number; bytes: Uint8Array }
  | { op: 'repeat-body'; base: number; headerBytes: number }
  | { op: 'random'; bytes: Uint8Array };

/** Mutations of captured datagrams, weighted towards the small edits that reach deep into the decoders. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('replay' as const), base: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('flip' as const),
      base: fc.nat(),
      bits: fc.array(fc.nat({ max: 12_000 }), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('truncate' as const), base: fc.nat(), at: fc.nat({ max: 1500 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('splice' as const),
      base: fc.nat(),
      other: fc.nat(),
      at: fc.nat({ max: 1500 }),
      otherAt: fc.nat({ max: 1500 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('overwrite' as const),
      base: fc.nat(),
      at: fc.nat({ max: 1500 }),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      base: fc.nat(),
      at: fc.nat({ max: 1500 }),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('repeat-body' as const),
      base: fc.nat(),
      headerBytes: fc.integer({ min: 1, max: 16 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 1500 }) }),
  },
);

function pick(list: readonly Uint8Array[], index: number): Uint8Array {
  return list.length === 0 ? new Uint8Array(0) : list[index % list.length]!;
}

/** The datagram `m` stands for, derived from `pool` (a fresh copy: the caller may keep it). */
export function applyMutation(pool: readonly Uint8Array[], m: Mutation): Uint8Array {
  if (m.op === 'random') return m.bytes.slice();
  const base = pick(pool, m.base);
  switch (m.op) {
    case 'replay':
      return base.slice();
    case 'flip': {
      const out = base.slice();
      if (out.length > 0) for (const bit of m.bits) out[(bit >>> 3) % out.length]! ^= 1 << (bit & 7);
      return out;
    }
    case 'truncate':
      return base.slice(0, base.length === 0 ? 0 : m.at % base.length);
    case 'splice': {
      const other = pick(pool, m.other);
      const a = base.subarray(0, m.at % (base.length + 1));
      const b = other.subarray(m.otherAt % (other.length + 1));
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    }
    case 'overwrite': {
      const out = base.slice();
      const at = out.length === 0 ? 0 : m.at % out.length;
      for (let i = 0; i < m.bytes.length && at + i < out.length; i++) out[at + i] = m.bytes[i]!;
      return out;
    }
    case 'insert': {
      const at = m.at % (base.length + 1);
      const out = new Uint8Array(base.length + m.bytes.length);
      out.set(base.subarray(0, at));
      out.set(m.bytes, at);
      out.set(base.subarray(at), at + m.bytes.length);
      return out;
    }
    case 'repeat-body': {
      const cut = Math.min(m.headerBytes, base.length);
      const body = base.subarray(cut);
      const out = new Uint8Array(base.length + body.length);
      out.set(base);
      out.set(body, base.length);
      return out;
    }
  }
}

/** When hostile datagrams start (spec §10 states of the attacked connection). */
export type FuzzState = 'fresh' | 'mid-transfer' | 'closing' | 'draining' | 'closed';

/** All of {@link FuzzState}. */
export const fuzzStates: readonly FuzzState[] = ['fresh', 'mid-transfer', 'closing', 'draining', 'closed'];

/** A small xorshift PRNG: the mini pair's loss and timing draws (seeded by the case, so a case replays). */
function xorshift(seed: number): () => number {
  let x = (seed | 0) ^ 0x9e3779b9 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Recent datagrams each side sent, the material for mutations (replayed ACKs name packets really sent). */
const recentLimit = 64;

/**
 * Two connections wired directly (no simulator, so a fuzz run spends its time in the protocol core): each `step`
 * advances time 1–4 ms, fires due timers, lets the applications send and read, and carries datagrams both ways
 * with 20% loss. Every received message is checked for exactly-once per (side, channel, message id).
 */
class MiniPair {
  readonly client: Connection;
  readonly server: Connection;
  nowMs = 0;
  private steps = 0;
  readonly recent = { client: [] as Uint8Array[], server: [] as Uint8Array[] };
  private readonly seen = new Set<string>();
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = xorshift(seed);
    const connectionId = new Uint8Array([seed & 255, 0x5a, 0xa5, 7]);
    this.client = new Connection(0, { role: 'client', connectionId, config: fuzzConfig });
    this.server = new Connection(0, { role: 'server', connectionId, config: fuzzConfig });
    this.app();
    this.flush('client', false);
  }

  connection(side: Side): Connection {
    return side === 'client' ? this.client : this.server;
  }

  /** One tick of the legitimate exchange. */
  step(): void {
    this.nowMs += 1 + Math.floor(this.random() * 4);
    this.steps++;
    for (const c of [this.client, this.server]) {
      const t = c.nextTimeout();
      if (t !== undefined && t <= this.nowMs) c.handleTimeout(this.nowMs);
    }
    this.app();
    this.flush('client', true);
    this.flush('server', true);
  }

  /** Drains `side`'s transmits to its peer (lossy when `lossy`), remembering them as mutation material. */
  flush(side: Side, lossy: boolean): void {
    const from = this.connection(side);
    const to = this.connection(side === 'client' ? 'server' : 'client');
    const recent = this.recent[side];
    let sent = 0;
    for (let bytes = from.pollTransmit(this.nowMs); bytes; bytes = from.pollTransmit(this.nowMs)) {
      if (++sent > 10_000) throw new Error(`${side}: pollTransmit never drains`);
      recent.push(bytes);
      if (recent.length > recentLimit) recent.shift();
      if (!lossy || this.random() >= 0.2) to.handleDatagram(this.nowMs, bytes);
    }
    this.read(side === 'client' ? 'server' : 'client');
  }

  /** Both applications: the client sends on all four channel modes, the server replies; both read everything. */
  private app(): void {
    const i = this.steps;
    const client = this.client;
    if (i % 2 === 0 && client.state === 'open' && client.canSend(9000)) {
      const mode = ((i >> 1) % 4) as ChannelMode;
      const size = i % 40 === 0 ? 9000 : [0, 8, 200, 1500][(i >> 1) % 4]!;
      client.send(this.nowMs, makeChannelId(i % 3, 'client', mode), new Uint8Array(size).fill(i));
    }
    const server = this.server;
    if (i % 7 === 3 && server.state === 'open' && server.canSend(3000)) {
      server.send(this.nowMs, makeChannelId(0, 'server', ChannelMode.reliableOrdered), new Uint8Array(3000));
    }
    this.read('client');
    this.read('server');
  }

  private read(side: Side): void {
    const c = this.connection(side);
    let events = 0;
    while (c.pollEvent()) if (++events > 1_000_000) throw new Error(`${side}: pollEvent never drains`);
    for (let m = c.receive(); m; m = c.receive()) {
      const key = `${side}:${m.channelId}:${m.messageId}`;
      if (this.seen.has(key)) throw new Error(`message ${key} delivered twice`);
      this.seen.add(key);
    }
  }

  /** Throws when either connection breaks an invariant. */
  check(step: string): void {
    for (const side of ['client', 'server'] as const) {
      const broken = connectionInvariantViolations(this.connection(side));
      if (broken.length > 0) throw new Error(`${step}, ${side}: ${broken.join('; ')}`);
    }
  }
}

/** Builds a mini pair and runs it until `target` is in `state` (as far as the exchange allows). */
function pairAt(seed: number, target: Side, state: FuzzState): MiniPair {
  const pair = new MiniPair(seed);
  if (state === 'fresh') return pair; // the client's first flight is out; the server has received nothing
  for (let i = 0; i < 16; i++) pair.step();
  const c = pair.connection(target);
  if (state === 'closing') c.close(pair.nowMs);
  if (state === 'draining' || state === 'closed') c.close(pair.nowMs, { graceful: false });
  pair.flush(target, true);
  if (state === 'closed') {
    for (let i = 0; i < 10_000 && c.state !== 'closed'; i++) pair.step();
  }
  return pair;
}

/** One fuzz case: which connection is attacked, from which state, and with what. */
export interface FuzzCase {
  seed: number;
  target: Side;
  state: FuzzState;
  /** Each hostile datagram follows `steps` ticks of legitimate exchange. */
  datagrams: { mutation: Mutation; steps: number }[];
}

/** What a fuzz case did. */
export interface FuzzOutcome {
  datagrams: number;
  /** Hostile datagrams the target decoded and processed (not dropped as malformed or duplicate). */
  accepted: number;
  /** Times the target was closed by hostile input and rebuilt at the case's state. */
  rebuilt: number;
}

/**
 * Fuzzes the target connection of a mini pair: from the case's state, each hostile datagram — a mutation of what
 * the peer recently sent, or of the FerryPair corpus — goes to the target after some legitimate ticks, and both
 * connections must then satisfy every invariant (nothing thrown, bounds held, no duplicate delivery). Before
 * authentication (spec §13) a well-formed forgery may close the target; the pair is then rebuilt at the same
 * state so the rest of the case still reaches deep states. Throws on a broken invariant.
 */
export function runFuzzCase(fuzzCase: FuzzCase, corpus: readonly Uint8Array[]): FuzzOutcome {
  let incarnation = 0;
  let pair = pairAt(fuzzCase.seed, fuzzCase.target, fuzzCase.state);
  pair.check('setup');
  let accepted = 0;
  for (const [i, { mutation, steps }] of fuzzCase.datagrams.entries()) {
    if (fuzzCase.state !== 'closed' && pair.connection(fuzzCase.target).state === 'closed') {
      pair = pairAt(fuzzCase.seed + ++incarnation * 7919, fuzzCase.target, fuzzCase.state);
    }
    for (let s = 0; s < steps; s++) pair.step();
    const target = pair.connection(fuzzCase.target);
    const peer = fuzzCase.target === 'client' ? 'server' : 'client';
    // One mutation in four starts from the FerryPair corpus (another connection's packets), the rest from the peer.
    const pool = 'base' in mutation && mutation.base % 4 === 3 ? corpus : pair.recent[peer];
    const before = target.stats.packetsReceived;
    target.handleDatagram(pair.nowMs, applyMutation(pool.length > 0 ? pool : corpus, mutation));
    accepted += target.stats.packetsReceived - before;
    pair.flush(fuzzCase.target, true);
    pair.check(`datagram ${i} (${mutation.op})`);
  }
  return { datagrams: fuzzCase.datagrams.length, accepted, rebuilt: incarnation };
}

/** Arbitrary fuzz cases of up to `maxDatagrams` hostile datagrams each. */
export function fuzzCaseArb(maxDatagrams: number): fc.Arbitrary<FuzzCase> {
  return fc.record({
    seed: fc.nat({ max: 2 ** 30 }),
    target: fc.constantFrom<Side>('client', 'server'),
    state: fc.constantFrom(...fuzzStates),
    datagrams: fc.array(
      fc.record({ mutation: mutationArb, steps: fc.oneof(fc.constant(0), fc.nat({ max: 3 })) }),
      { minLength: 1, maxLength: maxDatagrams, size: 'max' },
    ),
  });
}

/** The FerryPair corpus of `seeds` seeds, both directions, as one pool of datagrams. */
export function corpusPool(seeds: number): Uint8Array[] {
  const pool: Uint8Array[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const corpus = captureCorpus(seed);
    for (const d of [...corpus.client, ...corpus.server]) pool.push(d.bytes);
  }
  return pool;
}
