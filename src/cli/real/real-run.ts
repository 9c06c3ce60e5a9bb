import { performance } from 'node:perf_hooks';

/** How often {@link waitUntil} checks its condition (ms). */
const pollIntervalMs = 10;

/** Resolves once `done()` holds, or after `limitMs` of wall time (the caller reports what it got). */
export function waitUntil(done: () => boolean, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  return new Promise((resolve) => {
    const check = (): void => {
      if (done() || performance.now() >= deadline) resolve();
      else setTimeout(check, pollIntervalMs);
    };
    check();
  });
}

/** A real run's params: the scenario's own, plus where it ran, on which clock, and whether encrypted. */
export function realParams(params: object, encrypted: boolean): Record<string, unknown> {
  return { ...params, transport: 'udp-loopback via impairment relay', clock: 'wall', fec: false, encrypted };
}
