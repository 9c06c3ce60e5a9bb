import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Side } from '../../src/harness/ferry-pair.ts';
import { traceEventNames } from '../../src/protocol/trace.ts';
import { lossyLinkArb } from '../prop/link-arbitrary.ts';
import { type CollectingSink, collectingSinks, runEcho } from './trace-harness.ts';

const sides: readonly Side[] = ['client', 'server'];
const linkArb = lossyLinkArb({ maxDelayMs: 60, maxJitterMs: 20, bottleneck: true });
const runArb = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  link: linkArb,
  fec: fc.boolean(),
  messages: fc.integer({ min: 5, max: 40 }),
});

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

describe('trace events of a connection (spec §15)', () => {
  it('R-TRACE-3: event counts agree with the connection, FEC and link counters', () => {
    fc.assert(
      fc.property(runArb, (options) => {
        const sinks = collectingSinks();
        const run = runEcho({ ...options, trace: sinks });
        for (const side of sides) {
          const sink: CollectingSink = sinks[side];
          const stats = run.stats[side];
          const sent = sink.named('transport:packet_sent');
          expect(sent.length).toBe(stats.packetsSent);
          expect(sum(sent.map((p) => p.raw.length))).toBe(stats.bytesSent);
          expect(sink.named('transport:packet_received').length).toBe(stats.packetsReceived);
          expect(sink.named('transport:packet_dropped').length).toBe(
            stats.packetsDropped + stats.duplicatePackets,
          );
          expect(sink.named('recovery:packet_lost').length).toBe(stats.lostPackets);
          expect(sink.named('recovery:spurious_loss').length).toBe(stats.spuriousLosses);
          const repairs = sink.named('fec:repair_sent');
          const feedback = sink.named('fec:feedback_sent');
          // Every datagram on the wire is a traced DATA, REPAIR or FEEDBACK packet.
          expect(sent.length + repairs.length + feedback.length).toBe(run.wire[side].datagrams);
          expect(sum([...sent, ...repairs, ...feedback].map((p) => p.raw.length))).toBe(run.wire[side].bytes);
          const connection = side === 'client' ? run.pair.client : run.pair.server!;
          const fec = run.pair.fec?.[side].session(connection)?.stats;
          expect(feedback.length).toBe(fec?.feedbackSent ?? 0);
          expect(repairs.length).toBe(fec?.paritySent ?? 0);
          expect(sink.named('fec:packet_recovered').length).toBe(fec?.packetsRecovered ?? 0);
          expect(sink.named('fec:repair_received').length).toBe(fec?.repairsReceived ?? 0);
          expect(sum(sink.named('fec:block_unrecoverable').map((b) => b.count))).toBe(
            fec?.blocksUnrecoverable ?? 0,
          );
        }
      }),
      { numRuns: 12 },
    );
  });

  it('R-TRACE-1: every event has a documented name, and times never go backwards within a trace', () => {
    fc.assert(
      fc.property(runArb, (options) => {
        const sinks = collectingSinks();
        runEcho({ ...options, trace: sinks });
        for (const side of sides) {
          const events = sinks[side].events;
          expect(events.length).toBeGreaterThan(0);
          for (const event of events) expect(traceEventNames).toContain(event.name);
          for (let i = 1; i < events.length; i++) {
            expect(events[i]!.time).toBeGreaterThanOrEqual(events[i - 1]!.time);
          }
        }
      }),
      { numRuns: 6 },
    );
  });

  it('R-TRACE-4: tracing changes nothing, and the same seed gives the same trace', () => {
    fc.assert(
      fc.property(runArb, (options) => {
        const plain = runEcho(options);
        const first = collectingSinks();
        const traced = runEcho({ ...options, trace: first });
        expect(traced.stats).toEqual(plain.stats);
        expect(traced.rttsMs).toEqual(plain.rttsMs);
        expect(traced.wire).toEqual(plain.wire);
        const second = collectingSinks();
        runEcho({ ...options, trace: second });
        expect(second.client.events).toEqual(first.client.events);
        expect(second.server.events).toEqual(first.server.events);
      }),
      { numRuns: 6 },
    );
  });

  it('packet events carry their frames: an ACK received reports ranges, a MESSAGE its fragment', () => {
    const sinks = collectingSinks();
    runEcho({
      seed: 7,
      link: { lossPercent: 20, lossModel: 'bernoulli', delayMs: 20 },
      fec: false,
      messages: 20,
      trace: sinks,
    });
    const received = sinks.client.named('transport:packet_received');
    const ack = received.flatMap((p) => p.frames).find((f) => f.frame_type === 'ack');
    expect(ack?.['acked_ranges']).toEqual(expect.arrayContaining([expect.any(Array)]));
    expect(typeof ack?.['ack_delay']).toBe('number');
    const message = sinks.client
      .named('transport:packet_sent')
      .flatMap((p) => p.frames)
      .find((f) => f.frame_type === 'message');
    expect(message).toMatchObject({ channel_id: 0, message_id: 0, offset: 0 });
    expect(message?.['length']).toBeGreaterThan(0);
    const lost = sinks.client.named('recovery:packet_lost');
    expect(lost.length).toBeGreaterThan(0);
    for (const l of lost) expect(['reordering_threshold', 'time_threshold']).toContain(l.trigger);
    const metrics = sinks.client.named('recovery:metrics_updated');
    expect(metrics.some((m) => m.smoothed_rtt !== undefined && m.congestion_window !== undefined)).toBe(true);
    const states = sinks.client.named('recovery:congestion_state_updated');
    expect(states[0]).toEqual({ new: 'startup' });
  });
});
