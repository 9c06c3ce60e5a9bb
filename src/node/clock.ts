import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds since an arbitrary epoch: the only clock of the binding, passed to the core as `now`. */
export function clockMs(): number {
  return performance.now();
}
