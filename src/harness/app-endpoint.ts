import type { SimEndpoint, Transmit } from '../sim/endpoint.ts';

/**
 * Wraps a sans-IO endpoint for the simulator and runs an application callback after each of its activities
 * (datagram or timeout), before the simulator drains its transmits, so the application's reaction (an echo, a
 * refill of the send buffer) goes out in the same instant.
 */
export class AppEndpoint implements SimEndpoint {
  constructor(
    readonly endpoint: SimEndpoint,
    private readonly afterActivity: (nowMs: number) => void,
  ) {}
  handleDatagram(nowMs: number, from: string, bytes: Uint8Array): void {
    this.endpoint.handleDatagram(nowMs, from, bytes);
    this.afterActivity(nowMs);
  }
  handleTimeout(nowMs: number): void {
    this.endpoint.handleTimeout(nowMs);
    this.afterActivity(nowMs);
  }
  pollTransmit(nowMs: number): Transmit | undefined {
    return this.endpoint.pollTransmit(nowMs);
  }
  nextTimeout(): number | undefined {
    return this.endpoint.nextTimeout();
  }
}
