import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { UsageError } from './errors.ts';
import { flatten } from './format.ts';
import type { ScenarioResult } from './scenario.ts';

/** One finished run to draw: which protocol, which sweep value, what it returned. */
export interface PlotRun {
  protocol: string;
  /** The swept value of this run, as typed; absent without `--sweep`. */
  sweepValue?: string;
  result: ScenarioResult;
}

/** What to draw. */
export interface PlotRequest {
  scenario: string;
  seed: number;
  runs: readonly PlotRun[];
  /** The swept flag (`loss`, `rtt`, …), when there is a sweep. */
  sweepName?: string;
  /** `--metric`: result keys to draw against the swept value. */
  metrics?: readonly string[];
  /** The scenario's headline keys: the first numeric one is the default metric of a sweep plot. */
  headline?: readonly string[];
}

/** Series labels for a scenario's default sweep metrics (scenarios.md's curve for it). */
const defaultSweepMetrics: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'bulk-30': {
    goodputMbps: 'Ferry (loss-tolerant)',
    'newreno.goodputMbps': 'NewReno',
    'cubic.goodputMbps': 'CUBIC',
    capacityMbps: 'capacity = rate × (1 − loss)',
  },
};

/** Axis titles of the swept knobs. */
const sweepTitles: Readonly<Record<string, string>> = {
  loss: 'loss, % of datagrams per direction',
  rtt: 'base round-trip time, ms',
  delay: 'one-way delay, ms',
  jitter: 'jitter, ± ms',
  rate: 'bottleneck rate, Mbit/s',
  burst: 'mean loss burst, datagrams',
  duration: 'duration, s',
};

/** Y-axis titles of the default sweep curves. */
const metricTitles: Readonly<Record<string, string>> = { 'bulk-30': 'goodput, Mbit/s' };

const cdfPointsPerSeries = 400;
const width = 640;
const height = 360;

/** Raw per-message latencies a scenario returned beside its JSON results, if any. */
export function latencySamples(result: ScenarioResult): readonly number[] | undefined {
  const samples = (result as { samples?: { latencyMs?: unknown } }).samples?.latencyMs;
  return Array.isArray(samples) && samples.length > 0 ? (samples as number[]) : undefined;
}

function seriesLabel(run: PlotRun, request: PlotRequest, protocols: number): string {
  const parts: string[] = [];
  if (protocols > 1) parts.push(run.protocol);
  if (run.sweepValue !== undefined) parts.push(`${request.sweepName}=${run.sweepValue}`);
  return parts.join(' ') || run.protocol;
}

/** Empirical CDF, thinned to at most `cdfPointsPerSeries` points (the last one always kept). */
function cdfRows(series: string, samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(sorted.length / cdfPointsPerSeries));
  const rows: { series: string; latencyMs: number; fraction: number }[] = [];
  for (let i = 0; i < sorted.length; i += step)
    rows.push({ series, latencyMs: sorted[i]!, fraction: (i + 1) / sorted.length });
  const last = sorted.length - 1;
  if (last % step !== 0) rows.push({ series, latencyMs: sorted[last]!, fraction: 1 });
  return rows;
}

function latencyCdf(request: PlotRequest, protocols: number): TopLevelSpec {
  const order = request.runs.map((run) => seriesLabel(run, request, protocols));
  const values = request.runs.flatMap((run, i) =>
    cdfRows(order[i]!, latencySamples(run.result) ?? []).map((row) => ({ ...row, protocol: run.protocol })),
  );
  const what = request.scenario === 'kcp-echo' ? 'echo round-trip time' : 'message latency (send → delivery)';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${request.scenario}: CDF of ${what}`, subtitle: `seed ${request.seed}, simulated time` },
    width,
    height,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: {
        field: 'latencyMs',
        type: 'quantitative',
        title: `${what}, ms (log scale)`,
        scale: { type: 'log', nice: false },
      },
      y: {
        field: 'fraction',
        type: 'quantitative',
        title: 'fraction of messages ≤ x',
        scale: { domain: [0, 1] },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: order },
        legend: { orient: 'bottom-right' },
      },
      ...(protocols > 1
        ? { strokeDash: { field: 'protocol', type: 'nominal', title: null, legend: { orient: 'right' } } }
        : {}),
    },
  };
}

function sweepAxis(request: PlotRequest) {
  const numeric = request.runs.every(
    (r) => r.sweepValue !== undefined && Number.isFinite(Number(r.sweepValue)),
  );
  return { numeric, value: (run: PlotRun) => (numeric ? Number(run.sweepValue) : (run.sweepValue ?? '')) };
}

function metricSweep(
  request: PlotRequest,
  labels: Readonly<Record<string, string>>,
  protocols: number,
): TopLevelSpec {
  const axis = sweepAxis(request);
  const values: { x: number | string; y: number; series: string }[] = [];
  // A scenario's default curves name Ferry's own series; a peer (--vs) adds only its top-level metric, named by
  // the peer, so the capacity line appears once.
  const defaults = labels === defaultSweepMetrics[request.scenario];
  for (const run of request.runs) {
    const flat = new Map(flatten(run.result.results));
    for (const [index, [metric, label]] of Object.entries(labels).entries()) {
      const y = flat.get(metric);
      if (typeof y !== 'number' || !Number.isFinite(y)) continue;
      if (defaults && run.protocol !== 'ferry' && index > 0) continue;
      const series = defaults
        ? run.protocol === 'ferry'
          ? label
          : run.protocol.replace(/^kcp-/, 'KCP ')
        : protocols > 1
          ? `${run.protocol} ${label}`
          : label;
      values.push({ x: axis.value(run), y, series });
    }
  }
  if (values.length === 0) {
    throw new UsageError(
      `--plot: no numeric result named ${Object.keys(labels).join(', ')} in ${request.scenario}`,
    );
  }
  const yTitle =
    labels === defaultSweepMetrics[request.scenario] && metricTitles[request.scenario]
      ? metricTitles[request.scenario]!
      : Object.keys(labels).join(', ');
  const order = [...new Set(values.map((v) => v.series))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${request.scenario}: ${yTitle} vs ${request.sweepName}`,
      subtitle: `seed ${request.seed}, simulated time`,
    },
    width,
    height,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'x',
        type: axis.numeric ? 'quantitative' : 'ordinal',
        title: sweepTitles[request.sweepName ?? ''] ?? request.sweepName,
      },
      y: { field: 'y', type: 'quantitative', title: yTitle },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: order },
        legend: { orient: 'right', labelLimit: 280 },
      },
    },
  };
}

/** media-30's curve: residual loss at playout against wire overhead, per channel, one point per run. */
function residualVsOverhead(
  request: PlotRequest,
  channels: readonly string[],
  protocols: number,
): TopLevelSpec {
  const values: { overhead: number; residualLoss: number; series: string; order: number; run: string }[] = [];
  request.runs.forEach((run, order) => {
    const flat = new Map(flatten(run.result.results));
    for (const channel of channels) {
      const overhead = flat.get(`${channel}.overhead`);
      const residualLoss = flat.get(`${channel}.residualLoss`);
      if (typeof overhead !== 'number' || typeof residualLoss !== 'number') continue;
      const prefix = protocols > 1 ? `${run.protocol} ` : '';
      values.push({
        overhead,
        residualLoss,
        series: `${prefix}${channel}`,
        order,
        run: seriesLabel(run, request, protocols),
      });
    }
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${request.scenario}: residual loss at playout vs overhead`,
      subtitle: `seed ${request.seed}${request.sweepName ? `, one point per ${request.sweepName}` : ''}, simulated time`,
    },
    width,
    height,
    background: 'white',
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'overhead', type: 'quantitative', title: 'overhead = (wire − payload) / payload' },
          y: { field: 'residualLoss', type: 'quantitative', title: 'fraction of frames lost at playout' },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top-right' } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      {
        mark: { type: 'text', dx: 6, dy: -6, align: 'left', fontSize: 9 },
        encoding: {
          x: { field: 'overhead', type: 'quantitative' },
          y: { field: 'residualLoss', type: 'quantitative' },
          text: { field: 'run', type: 'nominal' },
        },
      },
    ],
  };
}

/**
 * The vega-lite spec for a set of runs: `--metric` (or the scenario's default curve, e.g. bulk-30's goodput)
 * against the swept value; otherwise a latency CDF for scenarios that return latency samples (kcp-echo,
 * im-30), residual loss vs overhead for scenarios with per-channel media results (media-30), or the first
 * numeric headline metric against the swept value.
 */
export function plotSpec(request: PlotRequest): TopLevelSpec {
  if (request.runs.length === 0) throw new UsageError('--plot: nothing to plot');
  const protocols = new Set(request.runs.map((r) => r.protocol)).size;
  const swept = request.sweepName !== undefined;
  if (request.metrics) {
    if (!swept) throw new UsageError('--metric plots a result against a swept value: add --sweep');
    return metricSweep(request, Object.fromEntries(request.metrics.map((m) => [m, m])), protocols);
  }
  const defaults = defaultSweepMetrics[request.scenario];
  if (swept && defaults) return metricSweep(request, defaults, protocols);
  if (request.runs.every((run) => latencySamples(run.result))) return latencyCdf(request, protocols);
  const first = new Map(flatten(request.runs[0]!.result.results));
  const channels = ['audio', 'video'].filter((c) => typeof first.get(`${c}.residualLoss`) === 'number');
  if (channels.length > 0) return residualVsOverhead(request, channels, protocols);
  const metric = (request.headline ?? [...first.keys()]).find((k) => typeof first.get(k) === 'number');
  if (!swept || metric === undefined) {
    throw new UsageError(`--plot for ${request.scenario} needs --sweep (it returns no latency samples)`);
  }
  return metricSweep(request, { [metric]: metric }, protocols);
}

/** Compiles a vega-lite spec and renders it to an SVG document with vega's headless renderer. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
