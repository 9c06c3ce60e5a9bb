import { describe, expect, it } from 'vitest';
import { media30Params, retransmitHybrid, runMedia, runMedia30 } from '../../src/cli/scenarios/media-30.ts';

// scenarios.md media-30 at reduced duration: the result shape, determinism, and that each repair strategy
// repairs the way it claims. The figures themselves are benchmark output (see the issue notes), not asserted.

const fields = [
  'frames',
  'residualLoss',
  'playoutDelayMeanMs',
  'playoutDelayP99Ms',
  'overhead',
  'recoveredByFec',
  'recoveredByRetransmit',
  'lateDrops',
] as const;

describe('media-30 scenario', () => {
  const params = { ...media30Params({ seed: 3, durationS: 6 }), baselines: false };

  it('reports every scenarios.md field per channel, and the same figures for the same seed', () => {
    const a = runMedia30(params);
    const b = runMedia30(params);
    expect(a.results).toEqual(b.results);
    for (const channel of ['audio', 'video'] as const) {
      const r = a.results[channel] as Record<string, number>;
      for (const f of fields) expect(typeof r[f], `${channel}.${f}`).toBe('number');
      expect(r.frames).toBe(channel === 'audio' ? 300 : 180);
      expect(r.residualLoss).toBeGreaterThanOrEqual(0);
      expect(r.residualLoss).toBeLessThan(0.2);
      expect(r.playoutDelayP99Ms).toBeLessThanOrEqual(channel === 'audio' ? 200 : 300); // R-PLAY-4 deadline
    }
    expect(runMedia30({ ...params, seed: 4 }).results).not.toEqual(a.results);
  });

  it('ARQ-only never recovers by FEC, FEC-only never by retransmission, the hybrid uses both', () => {
    const arq = runMedia(params, 'arq-only');
    const fec = runMedia(params, 'fec-only');
    const hybrid = runMedia(params, 'hybrid');
    for (const channel of ['audio', 'video'] as const) {
      expect(arq[channel].recoveredByFec).toBe(0);
      expect(arq[channel].recoveredByRetransmit).toBeGreaterThan(0);
      expect(fec[channel].recoveredByRetransmit).toBe(0);
      expect(fec[channel].recoveredByFec).toBeGreaterThan(0);
    }
    // The hybrid: video repaired by FEC alone, first-shot and extra repair (R-PR-8), audio also retransmitted.
    expect(hybrid.video.recoveredByFec).toBeGreaterThan(0);
    expect(hybrid.video.recoveredByRetransmit).toBe(0);
    expect(hybrid.audio.recoveredByRetransmit).toBeGreaterThan(0);
    expect(hybrid.fec!.extraParitySent).toBeGreaterThan(0);
    // The session-2 hybrid retransmits video too and sends no extra repair.
    const old = runMedia(retransmitHybrid(params), 'hybrid');
    expect(old.video.recoveredByRetransmit).toBeGreaterThan(0);
    expect(old.fec!.extraParitySent).toBe(0);
    // Without random loss every audio frame plays; video loses at most two frames at start-up: the 40 KB keyframe
    // at t = 0 leaves in slow start (a 12 KB window) and the frames behind it (jitter alone still reorders, so a
    // few requests and rebuilds happen even at 0% loss).
    const clean = runMedia({ ...params, lossPercent: 0 }, 'hybrid');
    expect(clean.audio.residualLoss).toBe(0);
    expect(clean.video.residualLoss).toBeLessThanOrEqual(0.0112); // two frames of 180, rounded
  });

  it('charges every wire byte to a channel: the per-channel bytes add up to what the links carried', () => {
    const r = runMedia(params, 'hybrid');
    const total = r.audio.wireBytes + r.video.wireBytes;
    expect(Math.abs(total - r.linkBytes)).toBeLessThanOrEqual(2);
  });
});
