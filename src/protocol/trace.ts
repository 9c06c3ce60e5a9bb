import type { Frame } from './wire/frame-types.ts';

/**
 * The event trace of spec §15: qlog-style events (draft-ietf-quic-qlog-main-schema) that the core hands to an
 * optional {@link TraceSink}, synchronously, with the `nowMs` it was given. Sans-IO: the core never formats or
 * writes anything; with no sink it builds no event at all (every emission is behind `if (this.trace)`).
 * Field names follow qlog (snake_case); durations are ms, sizes bytes, rates bits per second (spec §15.3).
 */

/** Which endpoint of a run a trace belongs to (qlog `vantage_point.type`). */
export type TraceVantage = 'client' | 'server';

/** A packet's header as traced: its type and number (spec §3). */
export interface TracePacketHeader {
  /** `data` (a DATA packet) or `fec_repair` (a FEC_REPAIR packet, whose number is its block's first source). */
  packet_type: 'data' | 'fec_repair';
  packet_number: number;
}

/** One frame of a traced packet: `frame_type` is the frame's name in spec §4, its fields in snake_case. */
export interface TraceFrame {
  frame_type: string;
  [field: string]: unknown;
}

/** `transport:packet_sent` and `transport:packet_received`. */
export interface TracePacketData {
  header: TracePacketHeader;
  /** UDP payload bytes. */
  raw: { length: number };
  frames: TraceFrame[];
  /** Why a packet was sent outside the normal schedule: a PTO probe or a proactive redundant copy (§6.5). */
  trigger?: 'pto_probe' | 'redundant_copy';
}

/** `transport:packet_dropped`: a datagram the connection discarded undecoded. */
export interface TracePacketDroppedData {
  raw: { length: number };
  /** `invalid`: not a decodable DATA packet for this connection; `duplicate`: a packet number already received. */
  trigger: 'invalid' | 'duplicate';
}

/** `recovery:packet_lost` and `recovery:spurious_loss`. */
export interface TracePacketLostData {
  header: TracePacketHeader;
  /** How it was declared lost (R-LOSS-2): packet threshold or time threshold. Absent on spurious losses. */
  trigger?: 'reordering_threshold' | 'time_threshold';
}

/** `recovery:metrics_updated`: only the fields that changed since the connection's previous one. */
export interface TraceMetricsData {
  min_rtt?: number;
  smoothed_rtt?: number;
  latest_rtt?: number;
  rtt_variance?: number;
  congestion_window?: number;
  bytes_in_flight?: number;
  /** Bits per second. */
  pacing_rate?: number;
}

/** `recovery:congestion_state_updated`. */
export interface TraceCongestionStateData {
  /** Absent on a connection's first state. */
  old?: string;
  new: string;
}

/** `recovery:loss_timer_updated`: the probe timeout fired (R-LOSS-6). */
export interface TraceLossTimerData {
  timer_type: 'pto';
  event_type: 'expired';
}

/** `fec:repair_sent` and `fec:repair_received`: one REPAIR packet (spec §11.3). */
export interface TraceRepairData {
  header: TracePacketHeader;
  raw: { length: number };
  /** k: the block's sources. */
  source_count: number;
  /** m: the block's REPAIR packets. */
  repair_count: number;
  repair_index: number;
}

/** `fec:packet_recovered`: a DATA packet rebuilt from parity and handed to the connection (R-FEC-6). */
export interface TraceRecoveredData {
  header: TracePacketHeader;
  raw: { length: number };
}

/** `fec:feedback_sent` and `fec:feedback_received`: one FEEDBACK packet (spec §11.9, R-FEC-15). */
export interface TraceFeedbackData {
  raw: { length: number };
  /** Blocks asked for. */
  request_count: number;
  /** Packets asked for with no known block. */
  missing_count: number;
}

/** `fec:block_unrecoverable`: blocks given up with sources missing (R-FEC-8). */
export interface TraceUnrecoverableData {
  count: number;
}

/** `media:*`: one media frame at the receiver's playout (spec §12). */
export interface TraceMediaFrameData {
  /** The media stream, e.g. `audio` or `video`. */
  channel: string;
  frame_id: number;
  /** When the frame was captured at the sender (ms, the run's clock). */
  capture_time?: number;
  /** Playout time minus capture time (ms). */
  playout_delay?: number;
  /** How long after its playout time the frame completed, or would have (ms). */
  lateness?: number;
  /** How the frame's data arrived: `direct`, `retransmit`, `fec`. */
  recovered_by?: string;
}

/** Data of every event, by name (the table of spec §15.3). */
export interface TraceEventMap {
  'transport:packet_sent': TracePacketData;
  'transport:packet_received': TracePacketData;
  'transport:packet_dropped': TracePacketDroppedData;
  'recovery:packet_lost': TracePacketLostData;
  'recovery:spurious_loss': TracePacketLostData;
  'recovery:metrics_updated': TraceMetricsData;
  'recovery:congestion_state_updated': TraceCongestionStateData;
  'recovery:loss_timer_updated': TraceLossTimerData;
  'fec:repair_sent': TraceRepairData;
  'fec:repair_received': TraceRepairData;
  'fec:packet_recovered': TraceRecoveredData;
  'fec:block_unrecoverable': TraceUnrecoverableData;
  'fec:feedback_sent': TraceFeedbackData;
  'fec:feedback_received': TraceFeedbackData;
  'media:frame_played': TraceMediaFrameData;
  'media:frame_late': TraceMediaFrameData;
  'media:concealment': TraceMediaFrameData;
}

/** An event name of spec §15.3. */
export type TraceEventName = keyof TraceEventMap;

const eventNames: Record<TraceEventName, true> = {
  'transport:packet_sent': true,
  'transport:packet_received': true,
  'transport:packet_dropped': true,
  'recovery:packet_lost': true,
  'recovery:spurious_loss': true,
  'recovery:metrics_updated': true,
  'recovery:congestion_state_updated': true,
  'recovery:loss_timer_updated': true,
  'fec:repair_sent': true,
  'fec:repair_received': true,
  'fec:packet_recovered': true,
  'fec:block_unrecoverable': true,
  'fec:feedback_sent': true,
  'fec:feedback_received': true,
  'media:frame_played': true,
  'media:frame_late': true,
  'media:concealment': true,
};

/** Every event name the trace may contain (spec §15.3), in table order. */
export const traceEventNames: readonly TraceEventName[] = Object.keys(eventNames) as TraceEventName[];

/**
 * Receives trace events, synchronously, in the order they happen at one endpoint. `nowMs` is the time the core
 * was given. The sink must not call back into the connection.
 */
export interface TraceSink {
  event<N extends TraceEventName>(nowMs: number, name: N, data: TraceEventMap[N]): void;
}

/** Sinks for the two endpoints of a simulated run (vantage points `client` and `server`). */
export interface TraceSinks {
  client: TraceSink;
  server: TraceSink;
}

/** `fooBarMs` → `foo_bar_ms`. */
function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A frame as traced (spec §15.4): its numeric, string and boolean fields in snake_case; byte payloads as their
 * `length`; ACK ranges as `acked_ranges` [[smallest, largest], …] and the ACK delay in ms as `ack_delay`.
 */
export function traceFrame(frame: Frame): TraceFrame {
  const out: TraceFrame = { frame_type: frame.type };
  for (const [key, value] of Object.entries(frame)) {
    if (key === 'type' || key === 'lengthPresent') continue;
    if (value instanceof Uint8Array) out['length'] = value.length;
    else if (key === 'ackDelayUs' && typeof value === 'number') out['ack_delay'] = value / 1000;
    else if (key === 'ranges' && Array.isArray(value)) {
      out['acked_ranges'] = (value as { smallest: number; largest: number }[]).map((r) => [
        r.smallest,
        r.largest,
      ]);
    } else if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
      out[snakeCase(key)] = value;
    }
  }
  return out;
}

/** The traced frames of a packet. */
export function traceFrames(frames: readonly Frame[]): TraceFrame[] {
  return frames.map(traceFrame);
}

/**
 * The congestion state of a controller as traced: the loss-tolerant controller's phase (`startup`, `drain`,
 * `cruise`, spec §9.3); for window-based controllers `slow_start` or `congestion_avoidance` (RFC 9002 §7).
 */
export function congestionStateOf(cc: { readonly congestionWindowBytes: number }): string {
  const view = cc as { mode?: unknown; ssthreshBytes?: unknown };
  if (typeof view.mode === 'string') return view.mode;
  if (typeof view.ssthreshBytes === 'number') {
    return cc.congestionWindowBytes < view.ssthreshBytes ? 'slow_start' : 'congestion_avoidance';
  }
  return 'unknown';
}

/** The recovery figures a connection reports in `recovery:metrics_updated`. */
export interface TraceMetricsSample {
  minRttMs: number;
  smoothedRttMs: number;
  latestRttMs: number;
  rttVarMs: number;
  congestionWindowBytes: number;
  bytesInFlight: number;
  pacingRateBytesPerSec: number | undefined;
}

/**
 * The per-connection state of tracing: remembers the last metrics and congestion state so that
 * `recovery:metrics_updated` carries only what changed and `congestion_state_updated` fires only on a change
 * (as qlog recommends). A connection creates one only when it has a sink.
 */
export class ConnectionTracer {
  private readonly last: TraceMetricsData = {};
  private state: string | undefined;

  constructor(readonly sink: TraceSink) {}

  /** Emits `recovery:metrics_updated` with the fields that changed, if any did. */
  metrics(nowMs: number, sample: TraceMetricsSample): void {
    const next: TraceMetricsData = {
      min_rtt: sample.minRttMs,
      smoothed_rtt: sample.smoothedRttMs,
      latest_rtt: sample.latestRttMs,
      rtt_variance: sample.rttVarMs,
      congestion_window: sample.congestionWindowBytes,
      bytes_in_flight: sample.bytesInFlight,
      pacing_rate:
        sample.pacingRateBytesPerSec === undefined ? undefined : Math.round(sample.pacingRateBytesPerSec * 8),
    };
    const changed: TraceMetricsData = {};
    let any = false;
    for (const key of Object.keys(next) as (keyof TraceMetricsData)[]) {
      const value = next[key];
      if (value === undefined || !Number.isFinite(value) || value === this.last[key]) continue;
      changed[key] = value;
      this.last[key] = value;
      any = true;
    }
    if (any) this.sink.event(nowMs, 'recovery:metrics_updated', changed);
  }

  /** Emits `recovery:congestion_state_updated` when `state` differs from the last one. */
  congestionState(nowMs: number, state: string): void {
    if (state === this.state) return;
    const data: TraceCongestionStateData =
      this.state === undefined ? { new: state } : { old: this.state, new: state };
    this.state = state;
    this.sink.event(nowMs, 'recovery:congestion_state_updated', data);
  }
}
