import type { Scenario } from '../scenario.ts';
import { bulk30Scenario } from './bulk-30.ts';
import { im30Scenario } from './im-30.ts';
import { kcpEchoScenario } from './kcp-echo.ts';
import { media30Scenario } from './media-30.ts';
import { simSelftest } from './sim-selftest.ts';

/** Every scenario `ferry bench` knows, by name. Protocol scenarios register here as their issues land. */
export const scenarios: readonly Scenario[] = [
  kcpEchoScenario,
  im30Scenario,
  bulk30Scenario,
  media30Scenario,
  simSelftest,
];

/** Looks a scenario up by its command-line name. */
export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
