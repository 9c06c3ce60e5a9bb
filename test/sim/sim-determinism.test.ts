import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/sim/events.ts';
import { linkFromProfile } from '../../src/sim/link.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { EchoClient, EchoServer } from '../../src/sim/toy-endpoints.ts';

/** Echo traffic over a lossy, jittery, reordering, duplicating, rate-limited link; returns the full log. */
function echoRun(seed: number) {
  const recorder = new EventRecorder();
  const sim = new Simulation({ seed, onEvent: recorder.record });
  const client = new EchoClient('b', sim.forkRandom('a'), 500, 5, 12);
  sim.addEndpoint('a', client);
  sim.addEndpoint('b', new EchoServer());
  const profile = {
    lossPercent: 20,
    lossModel: 'gilbert' as const,
    burst: 2,
    delayMs: 30,
    jitterMs: 20,
    rateMbps: 0.05,
    queueBytes: 600,
    duplicatePercent: 3,
    corruptPercent: 2,
  };
  sim.connect('a', 'b', linkFromProfile(profile), linkFromProfile({ ...profile, lossModel: 'bernoulli' }));
  sim.schedule(1234.5, () => {});
  const result = sim.run();
  return { log: recorder.text(), lines: recorder.lines, client, result, sim };
}

describe('determinism', () => {
  it('the same seed replays the same run, byte for byte', () => {
    const first = echoRun(7);
    const second = echoRun(7);
    expect(second.log).toBe(first.log);
    expect(second.client.rttsMs).toEqual(first.client.rttsMs);
  });

  it('the log exercises every kind of event and drop, so the comparison means something', () => {
    const { lines, client, result } = echoRun(7);
    expect(result.reason).toBe('idle');
    for (const word of [' send ', ' deliver ', ' timeout ', ' hook', 'loss@', 'queue@']) {
      expect(lines.some((line) => line.includes(word))).toBe(true);
    }
    expect(client.rttsMs.length).toBeGreaterThan(100);
    expect(client.idleTimeouts).toBeGreaterThan(0);
    // Jitter reorders: some echo arrives with a lower sequence number than one before it.
    const seqs = client.echoedSeqs;
    expect(seqs.some((seq, i) => i > 0 && seq < (seqs[i - 1] ?? 0))).toBe(true);
  });

  it('a different seed gives a different run', () => {
    expect(echoRun(8).log).not.toBe(echoRun(7).log);
  });
});
