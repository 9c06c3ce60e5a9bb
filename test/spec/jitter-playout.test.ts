import { describe, expect, it } from 'vitest';
import {
  PlayoutBuffer,
  type PlayoutEvent,
  type PlayoutFrame,
  type PlayoutOptions,
  PlayoutUsageError,
} from '../../src/jitter/index.ts';
import { drive, makeTrace } from '../prop/jitter-trace.ts';

// spec §12.2: one test (or more) per R-PLAY id.

const frame = (sequence: number, captureTimeMs: number, complete?: boolean): PlayoutFrame => ({
  sequence,
  captureTimeMs,
  payload: Uint8Array.of(sequence & 0xff),
  ...(complete === undefined ? {} : { complete }),
});

/**
 * A buffer whose target stays at `delayMs` so playout times are exact: the quantile is tiny (the target falls to
 * minDelayMs) and the deadline is later (maxDelayMs 1000, or `delayMs` if that is larger).
 */
const pinned = (delayMs: number, extra: Partial<PlayoutOptions> = {}): PlayoutBuffer =>
  new PlayoutBuffer({
    minDelayMs: delayMs,
    initialDelayMs: delayMs,
    maxDelayMs: Math.max(delayMs, 1000),
    quantile: 1e-9,
    ...extra,
  });

/** Pops everything due at `nowMs`. */
function popAll(buffer: PlayoutBuffer, nowMs: number): PlayoutEvent[] {
  const events: PlayoutEvent[] = [];
  for (let e = buffer.pop(nowMs); e !== undefined; e = buffer.pop(nowMs)) events.push(e);
  return events;
}

/** Pushes frames in order of their arrival times `[atMs, frame]`, popping what is due on the way. */
function feed(buffer: PlayoutBuffer, arrivals: [number, PlayoutFrame][]): void {
  for (const [atMs, f] of [...arrivals].sort((a, b) => a[0] - b[0])) {
    popAll(buffer, atMs);
    buffer.push(atMs, f);
  }
}

const summary = (events: PlayoutEvent[]): string[] =>
  events.map((e) => (e.kind === 'frame' ? `play ${e.frame.sequence}` : `conceal ${e.sequence} ${e.reason}`));

describe('spec §12.2 the playout buffer', () => {
  it('R-PLAY-1: the offset estimate is the minimum transit over the window; a constant offset is absorbed', () => {
    const buffer = new PlayoutBuffer({ maxDelayMs: 300, offsetWindowMs: 1000 });
    const senderEpochMs = 1.7e12; // the sender's clock reads wall time, the receiver's starts near 0
    buffer.push(0, frame(0, senderEpochMs - 10)); // transit −1.7e12 + 10
    buffer.push(20, frame(1, senderEpochMs + 20 - 15)); // + 15
    buffer.push(40, frame(2, senderEpochMs + 40 - 30)); // + 30
    expect(buffer.stats.clockOffsetEstimateMs).toBe(10 - senderEpochMs);
    // Once the fastest sample is older than the window, the estimate rises: this is what tracks drift.
    buffer.push(1010, frame(3, senderEpochMs + 1010 - 40));
    expect(buffer.stats.clockOffsetEstimateMs).toBe(15 - senderEpochMs);
    buffer.push(1030, frame(4, senderEpochMs + 1030 - 50));
    expect(buffer.stats.clockOffsetEstimateMs).toBe(30 - senderEpochMs);
  });

  it('R-PLAY-1: duplicates and invalid frames are not samples; late frames are', () => {
    const buffer = pinned(50);
    buffer.push(0, frame(0, -20)); // transit 20
    expect(popAll(buffer, 100)).toHaveLength(1);
    buffer.push(100, frame(0, 95)); // a duplicate of the played frame with transit 5: ignored
    buffer.push(100, { sequence: 7.5, captureTimeMs: 99, payload: new Uint8Array(0) }); // invalid, transit 1
    expect(buffer.stats.clockOffsetEstimateMs).toBe(20);
    buffer.push(1000, frame(1, 0)); // late, transit 1000: kept as a sample (a larger one does not move the min)
    buffer.push(1001, frame(2, 995)); // late? no: transit 6 is the new minimum
    expect(buffer.stats.clockOffsetEstimateMs).toBe(6);
  });

  it('R-PLAY-1: ±1000 ppm of drift is tracked within the window lag', () => {
    for (const driftPpm of [1000, -1000]) {
      // No jitter: the true transit at time t is 40 + drift·t (+ a large constant offset).
      const trace = makeTrace({
        seed: 1,
        frames: 30_000, // 10 minutes at 20 ms
        delayMs: () => ({ meanMs: 40, sigmaMs: 0 }),
        driftPpm,
        offsetMs: 5e6,
      });
      const run = drive({ maxDelayMs: 200 }, trace);
      const last = trace[trace.length - 1]!;
      const transitNow = last.atMs - last.frame.captureTimeMs;
      const lagMs = transitNow - run.buffer.stats.clockOffsetEstimateMs!;
      expect(lagMs).toBeGreaterThanOrEqual(0);
      expect(lagMs).toBeLessThanOrEqual(2.01); // window 2 s × 1000 ppm
      expect(run.buffer.stats.lateDrops).toBe(0);
      expect(run.buffer.stats.framesPlayed).toBe(30_000);
    }
  });

  it('R-PLAY-2: the target is the configured quantile of the relative delays (and starts at initialDelayMs)', () => {
    const buffer = new PlayoutBuffer({ maxDelayMs: 300, quantile: 0.9 });
    expect(buffer.targetDelayMs).toBe(80);
    // Relative delays cycle through 0..99 ms uniformly: the 0.9 quantile is 90 ms (upper bucket edge 90–91).
    const arrivals = (n: number): [number, PlayoutFrame][] =>
      Array.from({ length: n }, (_, i) => [i * 20 + 500 + ((i * 37) % 100), frame(i, i * 20)]);
    feed(buffer, arrivals(2000));
    expect(buffer.targetDelayMs).toBeGreaterThanOrEqual(89);
    expect(buffer.targetDelayMs).toBeLessThanOrEqual(95);
    // The same relative delays with quantile 0.5 give about half.
    const median = new PlayoutBuffer({ maxDelayMs: 300, quantile: 0.5 });
    feed(median, arrivals(2000));
    expect(median.targetDelayMs).toBeGreaterThanOrEqual(49);
    expect(median.targetDelayMs).toBeLessThanOrEqual(60);
  });

  it('R-PLAY-2: the target stays within [minDelayMs, maxDelayMs]', () => {
    const low = new PlayoutBuffer({ minDelayMs: 30, maxDelayMs: 100, initialDelayMs: 0 });
    expect(low.targetDelayMs).toBe(30);
    for (let i = 0; i < 500; i++) low.push(i * 20 + 7, frame(i, i * 20)); // no jitter: quantile 1 ms
    expect(low.targetDelayMs).toBe(30);
    const high = new PlayoutBuffer({ maxDelayMs: 100 });
    feed(
      high,
      Array.from({ length: 500 }, (_, i) => [i * 20 + (i % 2) * 400, frame(i, i * 20)]), // half 400 ms late
    );
    expect(high.targetDelayMs).toBe(100);
  });

  it('R-PLAY-3: a higher quantile is adopted at once, a lower one approached with the time constant', () => {
    const buffer = new PlayoutBuffer({ maxDelayMs: 400, initialDelayMs: 0, decreaseTimeConstantMs: 1000 });
    for (let i = 0; i < 100; i++) buffer.push(i * 20, frame(i, i * 20)); // no jitter
    const calm = buffer.targetDelayMs;
    expect(calm).toBeLessThanOrEqual(2);
    buffer.push(2000 + 150, frame(100, 2000)); // one frame 150 ms late
    buffer.push(2020 + 150, frame(101, 2020));
    buffer.push(2040 + 150, frame(102, 2040));
    buffer.push(2060 + 150, frame(103, 2060)); // 4 of ~60 effective samples: above the 5% tail
    expect(buffer.targetDelayMs).toBeGreaterThanOrEqual(150);
    const peak = buffer.targetDelayMs;
    // Calm again: one second later the target has come down by about 1 − e^−1, not to the quantile.
    for (let i = 104; i < 154; i++) buffer.push(i * 20 + 150, frame(i, i * 20 + 150)); // until 2210 + 1000 ms
    const second = buffer.targetDelayMs;
    expect(second).toBeLessThan(peak);
    expect(second).toBeGreaterThan(peak * 0.3);
    for (let i = 154; i < 1000; i++) buffer.push(i * 20 + 150, frame(i, i * 20 + 150));
    expect(buffer.targetDelayMs).toBeLessThanOrEqual(2);
  });

  it('R-PLAY-3: a playout time is fixed at the first push; later target changes move only later frames', () => {
    const buffer = new PlayoutBuffer({ maxDelayMs: 400, initialDelayMs: 40, decreaseTimeConstantMs: 1e9 });
    expect(buffer.push(10, frame(0, 0))).toBe('buffered'); // playout 0 + 10 + 40 = 50
    expect(buffer.push(15, frame(1, 5))).toBe('buffered'); // playout 5 + 10 + 40 = 55 (less a hair of decay)
    // Frames 2 and 3, captured long before, arrive with transits of 320 and 310 ms: the target jumps …
    buffer.push(20, frame(2, -300));
    buffer.push(20, frame(3, -290));
    expect(buffer.targetDelayMs).toBeGreaterThan(300);
    buffer.push(21, frame(4, 10)); // … which a frame pushed later gets: 10 + 10 + T > 320 …
    expect(buffer.nextTimeout()).toBe(50); // … while frames 0 and 1 keep their playout times
    expect(popAll(buffer, 50)).toMatchObject([{ kind: 'frame', playoutAtMs: 50 }]);
    expect(buffer.nextTimeout()).toBeCloseTo(55, 3);
    expect(summary(popAll(buffer, 56))).toEqual(['play 1', 'play 2', 'play 3']);
    expect(buffer.nextTimeout()).toBeGreaterThan(320);
    expect(summary(popAll(buffer, 400))).toEqual(['play 4']);
  });

  it('R-PLAY-4: with a known clock offset the path delay counts against the deadline', () => {
    // One shared clock (C = 0), path delay 35 ms, deadline 100 ms: the target is capped at 65 ms.
    const buffer = new PlayoutBuffer({ maxDelayMs: 100, minDelayMs: 80, clockOffsetMs: 0 });
    buffer.push(35, frame(0, 0));
    expect(buffer.targetDelayMs).toBe(65);
    expect(buffer.nextTimeout()).toBe(100);
    const [played] = popAll(buffer, 100);
    expect(played).toMatchObject({ kind: 'frame', playoutAtMs: 100, playoutDelayMs: 100 });
    // Without the known offset the deadline counts from the fastest transit, and so does the reported delay.
    const relative = new PlayoutBuffer({ maxDelayMs: 100, minDelayMs: 80 });
    relative.push(35, frame(0, 0));
    expect(relative.nextTimeout()).toBe(35 + 80);
    expect(popAll(relative, 115)[0]).toMatchObject({ kind: 'frame', playoutAtMs: 115, playoutDelayMs: 80 });
  });

  it('R-PLAY-4: a frame popped after its deadline is concealed as expired and counted late', () => {
    const buffer = new PlayoutBuffer({ minDelayMs: 50, maxDelayMs: 50 });
    buffer.push(10, frame(0, 0)); // playout 60, deadline 60
    buffer.push(30, frame(1, 20)); // playout 80, deadline 80
    expect(summary(popAll(buffer, 75))).toEqual(['conceal 0 expired']);
    expect(summary(popAll(buffer, 80))).toEqual(['play 1']);
    expect(buffer.stats).toMatchObject({ lateDrops: 1, concealed: 1, framesPlayed: 1 });
  });

  it('R-PLAY-5: a frame that arrives after its playout time or its slot is dropped, and raises the target', () => {
    const buffer = pinned(50);
    buffer.push(10, frame(0, 0)); // playout 60
    expect(summary(popAll(buffer, 60))).toEqual(['play 0']);
    expect(buffer.push(81, frame(1, 20))).toBe('late'); // playout 20 + 10 + 50 = 80 < 81
    buffer.push(110, frame(3, 100)); // gap at 1 and 2; playout 160
    expect(summary(popAll(buffer, 160))).toEqual(['conceal 1 missing', 'conceal 2 missing', 'play 3']);
    expect(buffer.push(201, frame(2, 40))).toBe('late'); // its slot has left
    expect(buffer.stats.lateDrops).toBe(2);

    const adaptive = new PlayoutBuffer({ maxDelayMs: 300, initialDelayMs: 20 });
    for (let i = 0; i < 50; i++) adaptive.push(i * 20, frame(i, i * 20));
    const before = adaptive.targetDelayMs;
    // Frames now take 120 ms longer: the first ones are late, and their transits lift the target above 120 ms.
    const outcomes = [];
    for (let i = 50; i < 60; i++) outcomes.push(adaptive.push(i * 20 + 120, frame(i, i * 20)));
    expect(outcomes[0]).toBe('late');
    expect(outcomes[9]).toBe('buffered');
    expect(adaptive.targetDelayMs).toBeGreaterThan(before + 100);
  });

  it('R-PLAY-6: slots leave in sequence order at their instants; gaps are concealed at interpolated instants', () => {
    const buffer = pinned(40);
    buffer.push(10, frame(0, 0)); // playout 0 + 10 + 40 = 50
    buffer.push(30, frame(1, 20)); // playout 70
    expect(buffer.nextTimeout()).toBe(50);
    expect(buffer.pop(49)).toBeUndefined();
    expect(summary(popAll(buffer, 50))).toEqual(['play 0']);
    expect(summary(popAll(buffer, 70))).toEqual(['play 1']);
    buffer.push(75, frame(4, 65)); // playout 65 + 10 + 40 = 115
    // Slots 2 and 3 are missing: spread evenly between 70 and 115.
    expect(buffer.nextTimeout()).toBe(85);
    expect(summary(popAll(buffer, 99))).toEqual(['conceal 2 missing']);
    expect(buffer.nextTimeout()).toBe(100);
    expect(summary(popAll(buffer, 115))).toEqual(['conceal 3 missing', 'play 4']);
    expect(buffer.nextTimeout()).toBeUndefined();
  });

  it('R-PLAY-6: before the first slot leaves, a reordered earlier frame still plays first', () => {
    const buffer = pinned(40);
    buffer.push(50, frame(1, 20)); // transit 30: playout 20 + 30 + 40 = 90
    buffer.push(55, frame(0, 0)); // transit 55, offset still 30: playout 0 + 30 + 40 = 70
    expect(summary(popAll(buffer, 70))).toEqual(['play 0']);
    expect(summary(popAll(buffer, 90))).toEqual(['play 1']);
  });

  it('R-PLAY-6: instants never decrease: a frame due earlier than its predecessor leaves right after it', () => {
    // A time constant of 1 ms makes the target fall from 100 to ~1 ms within 50 ms.
    const buffer = new PlayoutBuffer({ maxDelayMs: 400, initialDelayMs: 100, decreaseTimeConstantMs: 1 });
    buffer.push(10, frame(0, 0)); // playout 0 + 10 + 100 = 110
    buffer.push(60, frame(1, 50)); // playout 50 + 10 + 1 = 61, before frame 0's
    expect(buffer.pop(61)).toBeUndefined(); // frame 0 goes first
    const events = popAll(buffer, 110);
    expect(events.map((e) => (e.kind === 'frame' ? [e.frame.sequence, e.playoutAtMs] : []))).toEqual([
      [0, 110],
      [1, 110],
    ]);
  });

  it('R-PLAY-6: an incomplete frame at its instant is concealed; trailing losses produce no event', () => {
    const buffer = pinned(40);
    buffer.push(10, frame(0, 0, false));
    buffer.push(30, frame(1, 20));
    expect(summary(popAll(buffer, 70))).toEqual(['conceal 0 incomplete', 'play 1']);
    expect(buffer.nextTimeout()).toBeUndefined(); // frames 2, 3, … never came: nothing to report yet
    buffer.push(1010, frame(50, 1000)); // playout 1050
    const events = popAll(buffer, 1050);
    expect(events).toHaveLength(49);
    expect(summary(events).slice(-2)).toEqual(['conceal 49 missing', 'play 50']);
  });

  it('R-PLAY-7: a gap longer than maxConcealGapFrames is skipped without events', () => {
    const buffer = pinned(40, { maxConcealGapFrames: 10 });
    buffer.push(10, frame(0, 0));
    buffer.push(12, frame(11, 2)); // gap of 10: concealed
    buffer.push(13, frame(23, 3)); // gap of 11: skipped
    expect(summary(popAll(buffer, 100)).filter((s) => !s.startsWith('conceal'))).toEqual([
      'play 0',
      'play 11',
      'play 23',
    ]);
    expect(buffer.stats).toMatchObject({ concealed: 10, skipped: 11, framesPlayed: 3 });
  });

  it('R-PLAY-8: duplicates are dropped and counted; an incomplete frame is replaced, keeping its schedule', () => {
    const buffer = pinned(40);
    expect(buffer.push(10, frame(0, 0))).toBe('buffered');
    expect(buffer.push(11, frame(0, 0))).toBe('duplicate');
    expect(buffer.push(12, frame(1, 2, false))).toBe('buffered'); // playout 2 + 10 + 40 = 52
    expect(buffer.push(13, frame(1, 2, false))).toBe('replaced');
    expect(buffer.push(14, frame(1, 2))).toBe('replaced');
    expect(buffer.push(15, frame(1, 2))).toBe('duplicate');
    expect(buffer.push(16, frame(2, 50, false))).toBe('buffered'); // playout 100
    const events = popAll(buffer, 52);
    expect(events.map((e) => (e.kind === 'frame' ? e.playoutAtMs : e.sequence))).toEqual([50, 52]);
    expect((events[1] as { frame: PlayoutFrame }).frame.complete).toBeUndefined(); // the complete replacement
    expect(buffer.push(53, frame(1, 2))).toBe('duplicate'); // already played
    expect(buffer.push(101, frame(2, 50))).toBe('late'); // the replacement keeps playout 100
    expect(buffer.stats).toMatchObject({ duplicates: 3, replaced: 2, lateDrops: 1 });
  });

  it('R-PLAY-9: frame content never throws; invalid frames are dropped and counted', () => {
    const buffer = pinned(40);
    const garbage: unknown[] = [
      null,
      undefined,
      42,
      'frame',
      {},
      { sequence: -1, captureTimeMs: 0, payload: new Uint8Array(1) },
      { sequence: 2 ** 32, captureTimeMs: 0, payload: new Uint8Array(1) },
      { sequence: 1.5, captureTimeMs: 0, payload: new Uint8Array(1) },
      { sequence: 1, captureTimeMs: Number.NaN, payload: new Uint8Array(1) },
      { sequence: 1, captureTimeMs: Number.POSITIVE_INFINITY, payload: new Uint8Array(1) },
      { sequence: 1, captureTimeMs: 0, payload: [1, 2] },
      { sequence: 1, captureTimeMs: 0, payload: new Uint8Array(1), complete: 'yes' },
    ];
    for (const g of garbage) expect(buffer.push(0, g as PlayoutFrame)).toBe('invalid');
    expect(buffer.push(0, frame(0x8000_0000, 0))).toBe('buffered');
    expect(buffer.push(0, frame(0x8000_0000 + 2 ** 30, 0))).toBe('buffered'); // span exactly 2^30
    expect(buffer.push(0, frame(0x8000_0000 - 1, 0))).toBe('invalid'); // would spread over 2^30 + 1
    expect(buffer.stats).toMatchObject({ invalidFrames: garbage.length + 1, bufferedFrames: 2 });
  });

  it('R-PLAY-9: local misuse throws PlayoutUsageError before any state changes', () => {
    const buffer = pinned(40);
    buffer.push(100, frame(0, 90));
    const reasonOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(PlayoutUsageError);
        return (e as PlayoutUsageError).reason;
      }
      return undefined;
    };
    expect(reasonOf(() => buffer.push(Number.NaN, frame(1, 0)))).toBe('invalid-time');
    expect(reasonOf(() => buffer.pop(Number.POSITIVE_INFINITY))).toBe('invalid-time');
    expect(reasonOf(() => buffer.pop(99))).toBe('time-backwards');
    expect(reasonOf(() => buffer.push(99, frame(1, 0)))).toBe('time-backwards');
    expect(buffer.stats).toMatchObject({ framesPushed: 1, bufferedFrames: 1 });
    for (const bad of [
      { maxDelayMs: 0 },
      { maxDelayMs: Number.NaN },
      { maxDelayMs: 100, minDelayMs: 101 },
      { maxDelayMs: 100, quantile: 1 },
      { maxDelayMs: 100, forgetFactor: 0 },
      { maxDelayMs: 100, bucketMs: 0 },
      { maxDelayMs: 60_000, bucketMs: 0.1 },
      { maxDelayMs: 100, offsetWindowMs: -1 },
      { maxDelayMs: 100, decreaseTimeConstantMs: 0 },
      { maxDelayMs: 100, maxBufferedFrames: 0 },
      { maxDelayMs: 100, maxConcealGapFrames: 1.5 },
      { maxDelayMs: 100, clockOffsetMs: Number.NaN },
      { maxDelayMs: 100, delayEstimator: 'mean' as 'rfc3550' },
    ]) {
      expect(reasonOf(() => new PlayoutBuffer(bad))).toBe('invalid-option');
    }
    expect(reasonOf(() => new PlayoutBuffer(undefined as unknown as PlayoutOptions))).toBe('invalid-option');
  });

  it('R-PLAY-10: a full buffer drops the oldest frame, whose slot is then concealed', () => {
    const buffer = pinned(1000, { maxBufferedFrames: 3 });
    for (let i = 0; i < 3; i++) expect(buffer.push(i, frame(i, i))).toBe('buffered'); // playout i + 1000
    expect(buffer.push(3, frame(3, 3))).toBe('buffered'); // drops frame 0
    expect(buffer.push(4, frame(0, 4))).toBe('overflow'); // frame 0 again: the oldest, dropped at once
    expect(buffer.stats).toMatchObject({ overflowDrops: 2, bufferedFrames: 3 });
    expect(summary([...popAll(buffer, 1001), ...popAll(buffer, 1002), ...popAll(buffer, 1003)])).toEqual([
      'play 1',
      'play 2',
      'play 3',
    ]);
    for (let i = 8; i < 12; i++) buffer.push(5000, frame(i, 4990 + i)); // all play at 6000; 11 drops 8
    expect(summary(popAll(buffer, 6000))).toEqual([
      'conceal 4 missing',
      'conceal 5 missing',
      'conceal 6 missing',
      'conceal 7 missing',
      'conceal 8 missing',
      'play 9',
      'play 10',
      'play 11',
    ]);
  });

  it('R-PLAY-11: the rfc3550 estimator sets the target from the mean delay and RFC 3550 jitter', () => {
    // Transits alternate 10 and 20 ms: |D| = 10, so J → 10; relative delays alternate 0 and 10, mean → 5.
    const both = (['histogram', 'rfc3550'] as const).map((delayEstimator) => {
      const buffer = new PlayoutBuffer({
        maxDelayMs: 300,
        delayEstimator,
        quantile: 0.95,
        initialDelayMs: 0,
      });
      for (let i = 0; i < 400; i++) buffer.push(i * 20 + 10 + (i % 2) * 10, frame(i, i * 20));
      return buffer;
    });
    const [histogram, rfc3550] = both as [PlayoutBuffer, PlayoutBuffer];
    for (const buffer of both) expect(buffer.stats.interarrivalJitterMs).toBeCloseTo(10, 6);
    // 5 + z(0.95) · √π/2 · 10 ≈ 19.6 (plus the mean's wobble, which the fast rise keeps): a normal model.
    expect(rfc3550.targetDelayMs).toBeGreaterThan(19);
    expect(rfc3550.targetDelayMs).toBeLessThan(20.5);
    // The histogram sees the true two-point distribution: 95% of delays are ≤ 10 ms (upper bucket edge 11).
    expect(histogram.targetDelayMs).toBe(11);
  });

  it('R-PLAY-10: memory stays bounded under a flood of frames that never play', () => {
    const buffer = new PlayoutBuffer({ maxDelayMs: 60_000, maxBufferedFrames: 64 });
    for (let i = 0; i < 50_000; i++) buffer.push(i * 0.01, frame(i * 7919, -i * 3)); // transits rise: no min dominates
    const s = buffer.stats;
    expect(s.bufferedFrames).toBe(64);
    expect(s.overflowDrops).toBeGreaterThan(10_000);
    expect(s.overflowDrops + s.lateDrops + s.invalidFrames + s.bufferedFrames).toBe(50_000);
  });
});
