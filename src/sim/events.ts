import type { SimAddress } from './address.ts';
import type { DropCause } from './link/node.ts';

/** A datagram handed to a link. */
export interface SendEvent {
  type: 'send';
  at: number;
  from: SimAddress;
  to: SimAddress;
  size: number;
}

/** A datagram handed to its receiver. */
export interface DeliverEvent {
  type: 'deliver';
  at: number;
  from: SimAddress;
  to: SimAddress;
  bytes: Uint8Array;
}

/** A datagram dropped by link node `node` (its index), or with `no-route` (node −1) when no link exists. */
export interface DropEvent {
  type: 'drop';
  /** Time the datagram reached the dropping node. */
  at: number;
  from: SimAddress;
  to: SimAddress;
  size: number;
  cause: DropCause | 'no-route';
  node: number;
}

/** An endpoint's timer fired. */
export interface TimeoutEvent {
  type: 'timeout';
  at: number;
  address: SimAddress;
}

/** An application hook ran. */
export interface HookEvent {
  type: 'hook';
  at: number;
}

/** Everything the simulation can report to `onEvent`. */
export type SimEvent = SendEvent | DeliverEvent | DropEvent | TimeoutEvent | HookEvent;

/** FNV-1a over bytes, as 8 hex digits: a compact fingerprint of a datagram for event logs. */
export function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] ?? 0), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** One event as a line of text; times print at full precision so two logs compare byte for byte. */
export function formatEvent(event: SimEvent): string {
  switch (event.type) {
    case 'send':
      return `${event.at} send ${event.from}>${event.to} ${event.size}`;
    case 'deliver':
      return `${event.at} deliver ${event.from}>${event.to} ${event.bytes.length} ${fingerprint(event.bytes)}`;
    case 'drop':
      return `${event.at} drop ${event.from}>${event.to} ${event.size} ${event.cause}@${event.node}`;
    case 'timeout':
      return `${event.at} timeout ${event.address}`;
    case 'hook':
      return `${event.at} hook`;
  }
}

/** Collects events as text lines; pass `recorder.record` as the simulation's `onEvent`. */
export class EventRecorder {
  /** The log, one line per event, in the order they happened. */
  readonly lines: string[] = [];

  /** The `onEvent` callback. */
  readonly record = (event: SimEvent): void => {
    this.lines.push(formatEvent(event));
  };

  /** The whole log as one string. */
  text(): string {
    return this.lines.join('\n');
  }
}
