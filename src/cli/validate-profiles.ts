import type { ConnectionConfig } from '../protocol/connection-config.ts';

/**
 * Named tunings `--profile NAME` picks (scenarios.md "Variants"): connection settings applied to both Ferry
 * ends. `default` is the shipped configuration; the others swap the congestion controller (spec §9).
 */
export const tuningProfiles: Readonly<Record<string, Partial<ConnectionConfig>>> = {
  default: {},
  newreno: { congestionControl: 'newreno' },
  cubic: { congestionControl: 'cubic' },
};

/** The connection settings of profile `name` (unknown names are rejected when the flags are parsed). */
export function profileConfig(name: string): Partial<ConnectionConfig> {
  return tuningProfiles[name] ?? {};
}
