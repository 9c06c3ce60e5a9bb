import { describe, expect, it } from 'vitest';
import { im30Params, runIm30 } from '../../src/cli/scenarios/im-30.ts';
import { kcpEchoParams, runKcpEcho } from '../../src/cli/scenarios/kcp-echo.ts';

// Correctness of the benchmark workloads end to end (exactly once, in order, everything delivered). Their
// latency and byte targets are benchmark figures (`ferry bench`), not test assertions.
describe('benchmark scenarios deliver exactly once and in order', () => {
  it.each([1, 2])('kcp-echo seed %i at 30% bag loss echoes every message', (seed) => {
    const { results } = runKcpEcho(kcpEchoParams({ seed, quick: true }));
    expect(results).toMatchObject({ echoed: 200, duplicates: 0, outOfOrder: 0 });
  });

  it.each([1, 4])('im-30 seed %i delivers every message of both sides', (seed) => {
    const { results } = runIm30(im30Params({ seed, durationS: 20 }));
    expect(results.sent).toBeGreaterThan(600);
    expect(results.delivered).toBe(results.sent);
    expect(results.duplicates).toBe(0);
    expect(results.outOfOrder).toBe(0);
  });
});
