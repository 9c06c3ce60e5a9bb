import type { TraceMediaFrameData, TraceSink } from '../../protocol/trace.ts';

/**
 * The `media:*` events of spec §15.3 for a media scenario's receiver (playout is application-side, so the
 * scenario reports it, not the core). Every method does nothing without a sink.
 */
export class MediaTrace {
  /** Wraps the receiving endpoint's sink (`undefined`: tracing off). */
  constructor(private readonly sink: TraceSink | undefined) {}

  /** A frame played out on time (complete in the jitter buffer at its playout time). */
  framePlayed(nowMs: number, data: TraceMediaFrameData): void {
    if (this.sink) this.sink.event(nowMs, 'media:frame_played', data);
  }

  /** A frame that was not complete at its playout time (counted lost). */
  frameLate(nowMs: number, data: TraceMediaFrameData): void {
    if (this.sink) this.sink.event(nowMs, 'media:frame_late', data);
  }

  /** The player concealed a missing frame (repeated or interpolated). */
  concealment(nowMs: number, data: TraceMediaFrameData): void {
    if (this.sink) this.sink.event(nowMs, 'media:concealment', data);
  }
}
