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
    /** Sees every datagram the endpoint receives (`in`) and sends (`out`), before it is handled or routed. */
    private readonly tap?: (direction: 'in' | 'out', nowMs: number, bytes: Uint8Array) => void,
  ) {}
  handleDatagram(nowMs: number, from: string, bytes: Uint8Array): void {
    this.tap?.('in', nowMs, bytes);
    this.endpoint.handleDatagram(nowMs, from, bytes);
    this.afterActivity(nowMs);
  }
  handleTimeout(nowMs: number): void {
    this.endpoint.handleTimeout(nowMs);
    this.afterActivity(nowMs);
  }
  pollTransmit(nowMs: number): Transmit | undefined {
    const transmit = this.endpoint.pollTransmit(nowMs);
    if (transmit && this.tap) this.tap('out', nowMs, transmit.bytes);
    return transmit;
  }
  nextTimeout(): number | undefined {
    return this.endpoint.nextTimeout();
  }
}
