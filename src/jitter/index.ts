/**
 * The playout (jitter) buffer (spec §12.2): a pure, sans-IO layer that turns irregular arrivals of one media
 * stream's frames back into a steady playout clock.
 */
export { PlayoutUsageError, type PlayoutUsageReason } from './errors.ts';
export { PlayoutBuffer, type PushOutcome } from './playout-buffer.ts';
export { defaultPlayoutOptions, type PlayoutOptions } from './playout-options.ts';
export type {
  ConcealReason,
  PlayoutConcealEvent,
  PlayoutEvent,
  PlayoutFrame,
  PlayoutFrameEvent,
  PlayoutStats,
} from './playout-types.ts';
