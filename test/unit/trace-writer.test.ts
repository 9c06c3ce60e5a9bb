import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EventSpool } from '../../src/cli/trace/event-spool.ts';
import { MediaTrace } from '../../src/cli/trace/media-trace.ts';
import { QlogTraceWriter, qlogVersion } from '../../src/cli/trace/qlog-writer.ts';
import { LossTolerant } from '../../src/protocol/cc/loss-tolerant.ts';
import { NewReno } from '../../src/protocol/cc/new-reno.ts';
import {
  ConnectionTracer,
  congestionStateOf,
  type TraceEventName,
  traceEventNames,
  traceFrame,
} from '../../src/protocol/trace.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-trace-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `t${files++}.qlog`);

/** A collecting sink for the core-side helpers. */
function memorySink() {
  const events: { time: number; name: TraceEventName; data: unknown }[] = [];
  return {
    events,
    event(time: number, name: TraceEventName, data: unknown) {
      events.push({ time, name, data });
    },
  };
}

const eventArb = fc.record({
  time: fc.double({ min: 0, max: 1e7, noNaN: true }),
  name: fc.constantFrom(...traceEventNames),
  data: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
});

describe('QlogTraceWriter', () => {
  it('R-TRACE-1, R-TRACE-5: writes the events of both vantage points as one qlog file, holding bounded memory', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 60 }),
        fc.array(eventArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 4000 }),
        (clientEvents, serverEvents, flushChars) => {
          const path = freshPath();
          const writer = new QlogTraceWriter(path, { flushChars });
          const byTime = (a: { time: number }, b: { time: number }) => a.time - b.time;
          const expected = { client: [...clientEvents].sort(byTime), server: [...serverEvents].sort(byTime) };
          let longest = 0;
          for (const side of ['client', 'server'] as const) {
            for (const e of expected[side]) {
              writer.sinks[side].event(e.time, e.name, e.data as never);
              longest = Math.max(longest, JSON.stringify(e).length + 16);
              // Each vantage point flushes once it holds flushChars: never more than that plus one event.
              expect(writer.bufferedChars).toBeLessThan(2 * (flushChars + longest));
            }
          }
          expect(writer.eventCount).toBe(clientEvents.length + serverEvents.length);
          writer.finish({ title: 'test run', summary: { seed: 1 } });
          const text = readFileSync(path, 'utf8');
          expect(text.endsWith('\n')).toBe(true);
          const file = JSON.parse(text);
          expect(file).toMatchObject({ qlog_version: qlogVersion, qlog_format: 'JSON', title: 'test run' });
          expect(file.summary).toEqual({ seed: 1 });
          expect(file.traces.map((t: { vantage_point: { type: string } }) => t.vantage_point.type)).toEqual([
            'client',
            'server',
          ]);
          for (const [i, side] of (['client', 'server'] as const).entries()) {
            const trace = file.traces[i];
            expect(trace.common_fields).toEqual({
              protocol_type: ['FERRY'],
              time_format: 'relative',
              reference_time: 0,
            });
            // JSON round trip of the data; times rounded to the microsecond.
            expect(trace.events).toEqual(
              expected[side].map((e) => ({
                time: Math.round(e.time * 1000) / 1000,
                name: e.name,
                data: JSON.parse(JSON.stringify(e.data)),
              })),
            );
          }
          // The spools are gone: only the final file remains.
          expect(existsSync(`${path}.client.part`) || existsSync(`${path}.server.part`)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('R-TRACE-5: a long run streams to disk; memory stays at the flush threshold', () => {
    const path = freshPath();
    const writer = new QlogTraceWriter(path, { flushChars: 4096 });
    let peak = 0;
    for (let i = 0; i < 50_000; i++) {
      writer.sinks.client.event(i, 'recovery:packet_lost', {
        header: { packet_type: 'data', packet_number: i },
        trigger: 'time_threshold',
      });
      peak = Math.max(peak, writer.bufferedChars);
    }
    expect(peak).toBeLessThan(4096 + 200);
    writer.finish({ title: 'long' });
    const file = JSON.parse(readFileSync(path, 'utf8'));
    expect(file.traces[0].events).toHaveLength(50_000);
    expect(file.traces[0].events[49_999].data.header.packet_number).toBe(49_999);
    expect(file.traces[1].events).toEqual([]);
  });

  it('abort leaves no file and no spool; finish twice is refused', () => {
    const path = freshPath();
    const writer = new QlogTraceWriter(path);
    writer.sinks.server.event(1, 'fec:block_unrecoverable', { count: 1 });
    writer.abort();
    expect(readdirSync(dir).filter((f) => f.startsWith(path.slice(dir.length + 1)))).toEqual([]);
    const done = new QlogTraceWriter(freshPath());
    done.finish({ title: 'x' });
    expect(() => done.finish({ title: 'x' })).toThrow(/already finished/);
  });

  it('an unwritable path throws at once', () => {
    expect(() => new QlogTraceWriter(join(dir, 'missing-dir', 'x.qlog'))).toThrow();
  });

  it('EventSpool joins events with ",\\n" and copies itself into another file', () => {
    const spool = new EventSpool(join(dir, 'spool.part'), 8);
    spool.append('{"a":1}');
    spool.append('{"b":2}');
    expect(spool.count).toBe(2);
    const target = join(dir, 'copy.txt');
    const fd = openSync(target, 'w');
    spool.copyInto(fd);
    closeSync(fd);
    spool.remove();
    expect(readFileSync(target, 'utf8')).toBe('{"a":1},\n{"b":2}');
    expect(existsSync(join(dir, 'spool.part'))).toBe(false);
  });
});

describe('trace helpers of the core', () => {
  it('traceFrame: ACK ranges and delay, MESSAGE payload as length, fields in snake_case', () => {
    expect(
      traceFrame({
        type: 'ack',
        ackDelayUs: 2500,
        ranges: [
          { smallest: 8, largest: 10 },
          { smallest: 1, largest: 5 },
        ],
      }),
    ).toEqual({
      frame_type: 'ack',
      ack_delay: 2.5,
      acked_ranges: [
        [8, 10],
        [1, 5],
      ],
    });
    expect(
      traceFrame({
        type: 'message',
        channelId: 4,
        messageId: 7,
        offset: 1200,
        totalLength: 5000,
        payload: new Uint8Array(300),
        lengthPresent: true,
      }),
    ).toEqual({
      frame_type: 'message',
      channel_id: 4,
      message_id: 7,
      offset: 1200,
      total_length: 5000,
      length: 300,
    });
    expect(traceFrame({ type: 'close', code: 3, reason: 'bye' })).toEqual({
      frame_type: 'close',
      code: 3,
      reason: 'bye',
    });
    expect(traceFrame({ type: 'ping' })).toEqual({ frame_type: 'ping' });
  });

  it('congestionStateOf: the loss-tolerant phase, or slow start / congestion avoidance', () => {
    expect(congestionStateOf(new LossTolerant({ maxDatagramBytes: 1200 }))).toBe('startup');
    const reno = new NewReno({ maxDatagramBytes: 1200 });
    expect(congestionStateOf(reno)).toBe('slow_start');
    reno.ssthreshBytes = reno.congestionWindowBytes;
    expect(congestionStateOf(reno)).toBe('congestion_avoidance');
    expect(congestionStateOf({ congestionWindowBytes: 1 })).toBe('unknown');
  });

  it('ConnectionTracer: metrics carry only changed fields; states only on a change', () => {
    const sink = memorySink();
    const tracer = new ConnectionTracer(sink);
    const sample = {
      minRttMs: 50,
      smoothedRttMs: 60,
      latestRttMs: 55,
      rttVarMs: 5,
      congestionWindowBytes: 12_000,
      bytesInFlight: 3000,
      pacingRateBytesPerSec: 1000,
    };
    tracer.metrics(1, sample);
    tracer.metrics(2, sample);
    tracer.metrics(3, { ...sample, bytesInFlight: 1800, minRttMs: Number.POSITIVE_INFINITY });
    tracer.congestionState(1, 'startup');
    tracer.congestionState(2, 'startup');
    tracer.congestionState(3, 'cruise');
    expect(sink.events).toEqual([
      {
        time: 1,
        name: 'recovery:metrics_updated',
        data: {
          min_rtt: 50,
          smoothed_rtt: 60,
          latest_rtt: 55,
          rtt_variance: 5,
          congestion_window: 12_000,
          bytes_in_flight: 3000,
          pacing_rate: 8000,
        },
      },
      { time: 3, name: 'recovery:metrics_updated', data: { bytes_in_flight: 1800 } },
      { time: 1, name: 'recovery:congestion_state_updated', data: { new: 'startup' } },
      { time: 3, name: 'recovery:congestion_state_updated', data: { old: 'startup', new: 'cruise' } },
    ]);
  });

  it('MediaTrace emits media:* events, and nothing without a sink', () => {
    const sink = memorySink();
    const media = new MediaTrace(sink);
    media.framePlayed(10, { channel: 'audio', frame_id: 1, playout_delay: 120 });
    media.frameLate(20, { channel: 'video', frame_id: 2, lateness: 15 });
    media.concealment(20, { channel: 'video', frame_id: 2 });
    expect(sink.events.map((e) => e.name)).toEqual([
      'media:frame_played',
      'media:frame_late',
      'media:concealment',
    ]);
    expect(() => new MediaTrace(undefined).framePlayed(1, { channel: 'audio', frame_id: 1 })).not.toThrow();
  });
});
