import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runIm30WithKcp } from '../../src/cli/kcp/im-30-kcp.ts';
import { runKcpEchoWithKcp } from '../../src/cli/kcp/kcp-echo-kcp.ts';
import { countDataSegments, KcpEndpoint } from '../../src/cli/kcp/kcp-endpoint.ts';
import { loadKcp } from '../../src/cli/kcp/node-kcp.ts';
import { im30Params } from '../../src/cli/scenarios/im-30.ts';
import { kcpEchoParams } from '../../src/cli/scenarios/kcp-echo.ts';
import { linkFromProfile } from '../../src/sim/link.ts';
import { Simulation } from '../../src/sim/simulation.ts';

const loaded = loadKcp();
const binding = 'module' in loaded ? loaded.module : undefined;
const skipReason = 'error' in loaded ? ` (skipped: ${loaded.error})` : '';

describe(`KCP adapter in the simulator${skipReason}`, () => {
  it.skipIf(!binding)('kcp-echo: every message echoed once, in order, no faster than the path allows', () => {
    for (const mode of ['fast', 'normal'] as const) {
      const { results, samples } = runKcpEchoWithKcp(binding!, kcpEchoParams({ seed: 4, quick: true }), mode);
      expect(results).toMatchObject({ echoed: 200, duplicates: 0, outOfOrder: 0 });
      // Two one-way trips of at least 30 ms each.
      expect(Math.min(...samples.latencyMs)).toBeGreaterThanOrEqual(60);
      // Bag loss of 30% each way forces resends: more than one data send per segment.
      expect(results['dataSendsPerSegment']).toBeGreaterThan(1.2);
    }
  });

  it.skipIf(!binding)(
    'im-30: every message of both directions delivered once, in order, sizes up to 16 KiB',
    () => {
      for (const mode of ['fast', 'normal'] as const) {
        const { results, samples } = runIm30WithKcp(binding!, im30Params({ seed: 2, durationS: 5 }), mode);
        expect(results['sent']).toBeGreaterThan(150);
        expect(results).toMatchObject({
          delivered: results['sent'],
          duplicates: 0,
          outOfOrder: 0,
          sendsRefused: 0,
        });
        expect(samples.latencyMs).toHaveLength(results['sent'] as number);
        // 40 ± 10 ms one way: nothing arrives sooner than 30 ms after it was sent.
        expect(Math.min(...samples.latencyMs)).toBeGreaterThanOrEqual(30);
      }
    },
  );

  it.skipIf(!binding)('same seed, same run; the loss draws follow the seed', () => {
    const run = (seed: number) =>
      runKcpEchoWithKcp(binding!, kcpEchoParams({ seed, durationS: 2 }), 'fast').results;
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it.skipIf(!binding)(
    'delivers random messages exactly once and in order over random lossy, jittery links',
    () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** 31 }),
          fc.integer({ min: 0, max: 40 }),
          fc.integer({ min: 1, max: 60 }),
          fc.array(fc.integer({ min: 4, max: 6000 }), { minLength: 1, maxLength: 40 }),
          fc.constantFrom('fast' as const, 'normal' as const),
          (seed, lossPercent, delayMs, sizes, mode) => {
            const sim = new Simulation({ seed });
            const got: number[] = [];
            const a = new KcpEndpoint(binding!, { peer: 'b', mode, onMessage: () => {} });
            const b = new KcpEndpoint(binding!, {
              peer: 'a',
              mode,
              onMessage: (_now, data) => {
                expect(data.length).toBe(sizes[got.length]);
                got.push(new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0));
              },
            });
            try {
              sim.addEndpoint('a', a);
              sim.addEndpoint('b', b);
              const link = { lossPercent, delayMs, jitterMs: delayMs / 2, fifo: true };
              sim.connect('a', 'b', linkFromProfile(link), linkFromProfile(link));
              for (const [i, size] of sizes.entries()) {
                sim.schedule(i * 5, (now) => {
                  const data = new Uint8Array(size);
                  new DataView(data.buffer).setUint32(0, i);
                  expect(a.send(now, data)).toBe(true);
                });
              }
              sim.run({ stopWhen: () => got.length === sizes.length, untilMs: 600_000 });
              expect(got).toEqual(sizes.map((_, i) => i));
              expect(a.stats.inputErrors + b.stats.inputErrors).toBe(0);
            } finally {
              a.release();
              b.release();
            }
          },
        ),
        { numRuns: 40 },
      );
    },
  );
});

describe('KCP datagram parsing', () => {
  it('counts only push segments, walking each segment length', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ cmd: fc.constantFrom(81, 82, 83, 84), len: fc.integer({ min: 0, max: 64 }) }), {
          maxLength: 8,
        }),
        (segments) => {
          const total = segments.reduce((sum, s) => sum + 24 + s.len, 0);
          const bytes = new Uint8Array(total);
          const view = new DataView(bytes.buffer);
          let at = 0;
          for (const s of segments) {
            view.setUint8(at + 4, s.cmd);
            view.setUint32(at + 20, s.len, true);
            at += 24 + s.len;
          }
          expect(countDataSegments(bytes)).toBe(segments.filter((s) => s.cmd === 81).length);
        },
      ),
    );
  });
});
