import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LossTolerant } from '../../src/protocol/cc/loss-tolerant.ts';
import { CcScript, mssBytes } from './cc-script.ts';

// spec §9.3 *Window*: the loss-tolerant window is sized for an RTT of at least 1 ms, so a loopback path (min RTT
// ≈ 0.1 ms, where the RTT is host scheduling) is not starved; on paths of 1 ms and more nothing changes.

/** A controller in CRUISE at `rate` bytes/s over a path whose RTT is always `rttMs`. */
function cruisingAt(rate: number, rttMs: number): LossTolerant {
  const cc = new LossTolerant({ maxDatagramBytes: mssBytes });
  const script = new CcScript(cc);
  script.rtt = { latestRttMs: rttMs, smoothedRttMs: rttMs, minRttMs: rttMs };
  for (const r of [rate / 8, rate / 4, rate / 2, rate, rate, rate, rate])
    script.round(r, { bytesInFlight: 1e9 });
  script.round(rate); // bytes in flight 0: DRAIN ends
  return cc;
}

describe('LossTolerant window at sub-millisecond RTT', () => {
  it('covers at least 2 × rate × 1 ms + 3 datagrams in CRUISE, whatever the min RTT', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e5, max: 2e8, noNaN: true }),
        fc.double({ min: 0.01, max: 200, noNaN: true }),
        (rate, rttMs) => {
          const cc = cruisingAt(rate, rttMs);
          expect(cc.mode).toBe('cruise');
          const modelRttMs = Math.max(rttMs, 1);
          const expected = Math.max(
            2 * cc.cruiseRateBytesPerSec * (modelRttMs / 1000) + 3 * mssBytes,
            4 * mssBytes,
          );
          expect(cc.congestionWindowBytes).toBeCloseTo(expected, 6);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a 0.1 ms loopback path at 50 MB/s gets a window of about 1 ms of data, not 11 packets', () => {
    const cc = cruisingAt(50e6, 0.1);
    expect(cc.congestionWindowBytes / mssBytes).toBeGreaterThan(70);
  });
});
