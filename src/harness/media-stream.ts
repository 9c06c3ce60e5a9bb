import { PlayoutBuffer } from '../jitter/playout-buffer.ts';
import type { PlayoutOptions } from '../jitter/playout-options.ts';
import type { PlayoutEvent } from '../jitter/playout-types.ts';
import type { SeededRandom } from '../sim/random.ts';

/** Bytes of the frame header a media message starts with: sequence (u32) and capture time (f64 ms). */
export const mediaFrameHeaderBytes = 12;

/** One stream of timestamped frames (scenarios.md media-30: audio or video). */
export interface MediaStreamSpec {
  /** Name in results (`audio`, `video`). */
  name: string;
  /** Time between frames (ms). */
  frameIntervalMs: number;
  /** Size of frame `index` in bytes (at least {@link mediaFrameHeaderBytes}). */
  frameBytes: (index: number, random: SeededRandom) => number;
  /** Playout deadline after capture (ms): the channel's deadline and the playout buffer's bound. */
  deadlineMs: number;
}

/** Writes a media frame: header (sequence, capture time) then filler bytes. */
export function encodeMediaFrame(sequence: number, captureTimeMs: number, sizeBytes: number): Uint8Array {
  const data = new Uint8Array(Math.max(mediaFrameHeaderBytes, sizeBytes));
  const view = new DataView(data.buffer);
  view.setUint32(0, sequence >>> 0);
  view.setFloat64(4, captureTimeMs);
  for (let i = mediaFrameHeaderBytes; i < data.length; i++) data[i] = (sequence + i) & 0xff;
  return data;
}

/** Reads the header of a media frame, or undefined when it is too short. */
export function decodeMediaFrame(data: Uint8Array): { sequence: number; captureTimeMs: number } | undefined {
  if (data.length < mediaFrameHeaderBytes) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { sequence: view.getUint32(0), captureTimeMs: view.getFloat64(4) };
}

/** Per-stream playout figures (scenarios.md media-30). */
export interface PlayoutFigures {
  /** Frames captured and sent. */
  frames: number;
  /** Frames played on time. */
  played: number;
  /** Fraction of frames not played at their playout time (missing, incomplete or late). */
  residualLoss: number;
  /** Playout time − capture time of played frames: mean and 99th percentile (ms). */
  playoutDelayMeanMs: number;
  playoutDelayP99Ms: number;
  /** Frames that arrived after their playout slot or deadline, dropped by the playout buffer. */
  lateDrops: number;
  /** Concealment events (slots with no playable frame). */
  concealed: number;
}

/**
 * The receiving end of one media stream: a {@link PlayoutBuffer} bounded by the stream's deadline, fed with
 * complete frames and drained at its playout instants. `schedule(atMs, hook)` arms a wake-up (the simulator's).
 */
export class MediaReceiver {
  readonly buffer: PlayoutBuffer;
  private readonly delays: number[] = [];
  /** Sequence numbers played, for per-frame-type figures. */
  readonly playedSequences = new Set<number>();
  private played = 0;
  private wakeAtMs: number | undefined;

  constructor(
    readonly spec: MediaStreamSpec,
    private readonly schedule: (atMs: number, hook: (nowMs: number) => void) => void,
    options: Omit<PlayoutOptions, 'maxDelayMs'> = {},
    private readonly onPlayout?: (nowMs: number, event: PlayoutEvent) => void,
    private readonly onLate?: (nowMs: number, sequence: number, captureTimeMs: number) => void,
  ) {
    this.buffer = new PlayoutBuffer({ ...options, maxDelayMs: spec.deadlineMs });
  }

  /** A complete frame arrived. */
  onFrame(nowMs: number, data: Uint8Array): void {
    const header = decodeMediaFrame(data);
    if (!header) return;
    if (this.buffer.push(nowMs, { ...header, payload: data }) === 'late') {
      this.onLate?.(nowMs, header.sequence, header.captureTimeMs);
    }
    this.service(nowMs);
  }

  /** Plays whatever is due and re-arms the wake-up at the buffer's next playout instant. */
  service(nowMs: number): void {
    for (let e = this.buffer.pop(nowMs); e; e = this.buffer.pop(nowMs)) {
      this.onPlayout?.(nowMs, e);
      if (e.kind === 'frame') {
        this.played++;
        this.playedSequences.add(e.frame.sequence);
        this.delays.push(e.playoutDelayMs);
      }
    }
    const next = this.buffer.nextTimeout();
    if (
      next !== undefined &&
      (this.wakeAtMs === undefined || next < this.wakeAtMs || this.wakeAtMs <= nowMs)
    ) {
      this.wakeAtMs = next;
      this.schedule(next, (at) => this.service(at));
    }
  }

  /** The figures for `framesSent` frames captured. */
  figures(framesSent: number, quantile: (values: number[], q: number) => number): PlayoutFigures {
    const stats = this.buffer.stats;
    const mean = this.delays.length > 0 ? this.delays.reduce((a, b) => a + b, 0) / this.delays.length : 0;
    return {
      frames: framesSent,
      played: this.played,
      residualLoss: framesSent > 0 ? 1 - this.played / framesSent : 0,
      playoutDelayMeanMs: mean,
      playoutDelayP99Ms: this.delays.length > 0 ? quantile(this.delays, 0.99) : 0,
      lateDrops: stats.lateDrops,
      concealed: stats.concealed,
    };
  }
}
