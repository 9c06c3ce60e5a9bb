import { performance } from 'node:perf_hooks';
import { Presets, SingleBar } from 'cli-progress';

/** Progress over a batch of runs (a sweep, a comparison, the summary): one bar on stderr. */
export interface BatchProgress {
  /** Starts run `index` (0-based) and returns its `onProgress` callback (fraction of that run, 0–1). */
  run(index: number, label: string): (fraction: number) => void;
  /** Removes the bar (if one was drawn). */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Where the bar goes (a TTY); undefined = no bar at all. */
  stream: NodeJS.WritableStream | undefined;
  /** Runs in the batch. */
  totalRuns: number;
  /** Wall time before the bar appears, so short runs print nothing. Default 1000 ms. */
  showAfterMs?: number;
}

const quiet: BatchProgress = { run: () => () => {}, stop: () => {} };

/**
 * A progress bar (cli-progress) for a batch of simulator runs. It appears only once the batch has taken
 * `showAfterMs` of wall time; the simulator runs synchronously, so the bar redraws from the update calls.
 */
export function createProgress(options: ProgressOptions): BatchProgress {
  const stream = options.stream;
  if (!stream || options.totalRuns <= 0) return quiet;
  const startedMs = performance.now();
  const showAfterMs = options.showAfterMs ?? 1000;
  let bar: SingleBar | undefined;
  const show = (percent: number, label: string) => {
    if (bar) {
      bar.update(percent, { label });
      return;
    }
    if (performance.now() - startedMs < showAfterMs) return;
    bar = new SingleBar(
      {
        stream,
        format: 'ferry bench {bar} {percentage}% | {label} | {duration}s',
        hideCursor: true,
        clearOnComplete: true,
        barsize: 30,
      },
      Presets.shades_classic,
    );
    bar.start(100, percent, { label });
  };
  return {
    run(index, label) {
      show((100 * index) / options.totalRuns, label);
      return (fraction) => {
        const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
        show(Math.round((1000 * (index + clamped)) / options.totalRuns) / 10, label);
      };
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
