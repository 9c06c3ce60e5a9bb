import { UsageError } from './errors.ts';
import { runBulk30WithKcp } from './kcp/bulk-30-kcp.ts';
import { runIm30WithKcp } from './kcp/im-30-kcp.ts';
import { runKcpEchoWithKcp } from './kcp/kcp-echo-kcp.ts';
import type { KcpMode } from './kcp/kcp-endpoint.ts';
import { type KcpModule, loadKcp } from './kcp/node-kcp.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from './scenario.ts';
import { bulk30Params } from './scenarios/bulk-30.ts';
import { im30Params } from './scenarios/im-30.ts';
import { kcpEchoParams } from './scenarios/kcp-echo.ts';

/** A protocol a scenario can run with: Ferry, or C KCP in one of test.cpp's modes. */
export type Protocol = 'ferry' | 'kcp-fast' | 'kcp-normal';

/** Runs one scenario with KCP at both ends. */
type KcpRunner = (binding: KcpModule, options: ScenarioOptions, mode: KcpMode) => ScenarioResult;

/** Scenarios that have a KCP adapter. */
const kcpRunners: Readonly<Record<string, KcpRunner>> = {
  'kcp-echo': (binding, options, mode) =>
    runKcpEchoWithKcp(binding, kcpEchoParams(options), mode, options.onProgress),
  'im-30': (binding, options, mode) => runIm30WithKcp(binding, im30Params(options), mode, options.onProgress),
  'bulk-30': (binding, options, mode) =>
    runBulk30WithKcp(binding, bulk30Params(options), mode, options.onProgress),
};

/** True when `scenarioName` can run with KCP at both ends. */
export function hasKcpAdapter(scenarioName: string): boolean {
  return kcpRunners[scenarioName] !== undefined;
}

/** Parses `--vs kcp|kcp-fast|kcp-normal[,…]` (`kcp` = both KCP modes). */
export function parseProtocols(raw: string): Protocol[] {
  const out: Protocol[] = [];
  for (const name of raw.split(',').map((s) => s.trim())) {
    const expanded: Protocol[] | undefined =
      name === 'kcp'
        ? ['kcp-fast', 'kcp-normal']
        : name === 'kcp-fast' || name === 'kcp-normal'
          ? [name]
          : undefined;
    if (!expanded) throw new UsageError(`--vs takes kcp, kcp-fast or kcp-normal, got '${name}'`);
    for (const p of expanded) if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** Why `protocol` cannot run `scenarioName` here (one line), or undefined when it can. */
export function unavailableReason(scenarioName: string, protocol: Protocol): string | undefined {
  if (protocol === 'ferry') return undefined;
  if (!kcpRunners[scenarioName])
    return `KCP rows skipped: no KCP adapter for ${scenarioName} yet (kcp-echo, im-30 and bulk-30 have one)`;
  const loaded = loadKcp();
  return 'error' in loaded ? loaded.error : undefined;
}

/** Runs `scenario` with `protocol`; check `unavailableReason` first. */
export function runWithProtocol(
  scenario: Scenario,
  protocol: Protocol,
  options: ScenarioOptions,
): ScenarioResult {
  if (protocol === 'ferry') return scenario.run(options);
  const runner = kcpRunners[scenario.name];
  const loaded = loadKcp();
  if (!runner || 'error' in loaded) throw new Error(unavailableReason(scenario.name, protocol));
  return runner(loaded.module, options, protocol === 'kcp-fast' ? 'fast' : 'normal');
}
