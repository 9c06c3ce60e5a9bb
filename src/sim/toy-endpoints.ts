import type { SimAddress } from './address.ts';
import type { SimEndpoint, Transmit } from './endpoint.ts';
import type { SeededRandom } from './random.ts';

/**
 * Toy client for simulator tests and benchmarks: sends a message (seq, send time, random padding) every `intervalMs`
 * until `count` are sent, and records echo round trips. Its deadline also tracks an idle timer that moves
 * on every echo, so the simulation sees deadlines change (stale timer entries) all the time.
 */
export class EchoClient implements SimEndpoint {
  /** Echo round-trip times, ms, in arrival order. */
  readonly rttsMs: number[] = [];
  /** Sequence numbers of the echoes, in arrival order. */
  readonly echoedSeqs: number[] = [];
  /** Messages sent so far. */
  sent = 0;
  /** Times the idle timer fired (no echo for `idleMs`). */
  idleTimeouts = 0;
  private nextSendMs = 0;
  private idleDeadlineMs: number;
  private readonly outbox: Transmit[] = [];

  constructor(
    private readonly peer: SimAddress,
    private readonly random: SeededRandom,
    private readonly count: number,
    private readonly intervalMs = 20,
    private readonly idleMs = 250,
  ) {
    this.idleDeadlineMs = idleMs;
  }

  handleDatagram(now: number, _from: SimAddress, bytes: Uint8Array): void {
    if (bytes.length < 12) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.echoedSeqs.push(view.getUint32(0));
    this.rttsMs.push(now - view.getFloat64(4));
    this.idleDeadlineMs = now + this.idleMs;
  }

  pollTransmit(): Transmit | undefined {
    return this.outbox.shift();
  }

  nextTimeout(): number | undefined {
    return this.sent < this.count ? Math.min(this.nextSendMs, this.idleDeadlineMs) : undefined;
  }

  handleTimeout(now: number): void {
    if (now >= this.idleDeadlineMs) {
      this.idleTimeouts++;
      this.idleDeadlineMs = now + this.idleMs;
    }
    if (now >= this.nextSendMs && this.sent < this.count) {
      const bytes = new Uint8Array(12 + this.random.int(0, 52));
      this.random.fill(bytes.subarray(12));
      const view = new DataView(bytes.buffer);
      view.setUint32(0, this.sent++);
      view.setFloat64(4, now);
      this.outbox.push({ to: this.peer, bytes });
      this.nextSendMs = now + this.intervalMs;
    }
  }
}

/** Toy server: echoes every datagram back to its sender at once. */
export class EchoServer implements SimEndpoint {
  /** Datagrams received (and echoed). */
  received = 0;
  private readonly outbox: Transmit[] = [];

  handleDatagram(_now: number, from: SimAddress, bytes: Uint8Array): void {
    this.received++;
    this.outbox.push({ to: from, bytes: bytes.slice() });
  }

  pollTransmit(): Transmit | undefined {
    return this.outbox.shift();
  }

  nextTimeout(): number | undefined {
    return undefined;
  }

  handleTimeout(): void {}
}
