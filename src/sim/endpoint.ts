import type { SimAddress } from './address.ts';

/** One datagram an endpoint wants sent. The simulation takes ownership of `bytes`: do not reuse the buffer. */
export interface Transmit {
  /** Destination address. */
  to: SimAddress;
  /** UDP payload. */
  bytes: Uint8Array;
}

/**
 * Anything the simulation can drive: a sans-IO state machine (design.md rule 2). Call order, per event:
 * `handleDatagram(now, …)` or `handleTimeout(now)`, then `pollTransmit(now)` until it returns undefined,
 * then `nextTimeout()` to re-arm the endpoint's single timer.
 */
export interface SimEndpoint {
  /** A datagram from `from` arrived at virtual time `now` (ms). */
  handleDatagram(now: number, from: SimAddress, bytes: Uint8Array): void;
  /** The next datagram to send, or undefined when there is nothing to send now. Drained until undefined. */
  pollTransmit(now: number): Transmit | undefined;
  /** Absolute virtual time (ms) of the endpoint's next deadline; undefined = no deadline. */
  nextTimeout(): number | undefined;
  /** The deadline passed: called with `now >= nextTimeout()`. */
  handleTimeout(now: number): void;
}
