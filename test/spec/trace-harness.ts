import { FerryPair, type Side } from '../../src/harness/ferry-pair.ts';
import type { ConnectionStats } from '../../src/protocol/connection.ts';
import type { TraceEventMap, TraceEventName, TraceSink, TraceSinks } from '../../src/protocol/trace.ts';
import type { LinkProfile } from '../../src/sim/link.ts';

/** One recorded event. */
export interface RecordedEvent {
  time: number;
  name: TraceEventName;
  data: TraceEventMap[TraceEventName];
}

/** A sink that keeps every event in memory (tests only). */
export class CollectingSink implements TraceSink {
  readonly events: RecordedEvent[] = [];

  event<N extends TraceEventName>(nowMs: number, name: N, data: TraceEventMap[N]): void {
    this.events.push({ time: nowMs, name, data });
  }

  /** Events called `name`. */
  named<N extends TraceEventName>(name: N): TraceEventMap[N][] {
    return this.events.filter((e) => e.name === name).map((e) => e.data as TraceEventMap[N]);
  }
}

/** A pair of collecting sinks. */
export function collectingSinks(): { client: CollectingSink; server: CollectingSink } {
  return { client: new CollectingSink(), server: new CollectingSink() };
}

/** Settings of {@link runEcho}. */
export interface EchoRunOptions {
  seed: number;
  link: LinkProfile;
  fec: boolean;
  /** Messages the client sends, one every 20 ms; the server echoes each. */
  messages: number;
  trace?: TraceSinks;
}

/** What {@link runEcho} measured. */
export interface EchoRun {
  pair: FerryPair;
  stats: Record<Side, ConnectionStats>;
  /** Echo round-trip times (ms), in arrival order. */
  rttsMs: number[];
  /** Datagrams and bytes handed to each direction's link. */
  wire: Record<Side, { datagrams: number; bytes: number }>;
}

/**
 * An echo workload over a simulated path: the client sends messages of 8 B – 6 KiB (some span several
 * packets) every 20 ms, the server echoes each; runs until every echo arrived or 60 s of virtual time.
 */
export function runEcho(options: EchoRunOptions): EchoRun {
  const rttsMs: number[] = [];
  const sentAtMs: number[] = [];
  const pair = new FerryPair({
    seed: options.seed,
    forward: options.link,
    reverse: options.link,
    fec: options.fec,
    trace: options.trace,
    onMessage: (side, nowMs, message) => {
      if (side === 'server') {
        pair.server?.send(nowMs, message.channelId, message.data.slice());
        return;
      }
      const seq = new DataView(message.data.buffer, message.data.byteOffset, 4).getUint32(0);
      rttsMs.push(nowMs - sentAtMs[seq]!);
    },
  });
  const random = pair.sim.forkRandom('trace echo sizes');
  const send = (nowMs: number): void => {
    const seq = sentAtMs.length;
    if (seq >= options.messages) return;
    const data = new Uint8Array(8 + Math.floor(random.float() * 6000));
    new DataView(data.buffer).setUint32(0, seq);
    sentAtMs.push(nowMs);
    pair.client.send(nowMs, 0, data);
    pair.at(nowMs + 20, send);
  };
  pair.at(0, send);
  pair.sim.run({ untilMs: 60_000, stopWhen: () => rttsMs.length >= options.messages });
  const forward = pair.sim.linkBetween('client', 'server')!.counters;
  const reverse = pair.sim.linkBetween('server', 'client')!.counters;
  return {
    pair,
    stats: { client: { ...pair.client.stats }, server: { ...pair.server!.stats } },
    rttsMs,
    wire: {
      client: { datagrams: forward.sent, bytes: forward.bytesSent },
      server: { datagrams: reverse.sent, bytes: reverse.bytesSent },
    },
  };
}
