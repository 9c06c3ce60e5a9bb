import type { SimAddress } from '../../sim/address.ts';
import type { SimEndpoint, Transmit } from '../../sim/endpoint.ts';
import type { KcpControlBlock, KcpModule } from './node-kcp.ts';

/** KCP settings compared against (../shared/anchors.md, KCP 2.1.1 `test.cpp`). */
export type KcpMode = 'fast' | 'normal';

/** `ikcp_nodelay` arguments of one mode. */
export interface KcpTuning {
  nodelay: number;
  intervalMs: number;
  resend: number;
  noCongestionWindow: number;
}

/**
 * test.cpp's modes. fast: `nodelay(2, 10, 2, 1)` then `fastresend = 1` (so resend 1 here) and
 * `rx_minrto = 10`, which node-kcp cannot set: its minimum RTO stays IKCP_RTO_NDL = 30 ms (the RTO never
 * gets that low on these ≥ 60 ms paths). normal: `nodelay(0, 10, 0, 1)`, congestion window off.
 */
export const kcpTunings: Readonly<Record<KcpMode, KcpTuning>> = {
  fast: { nodelay: 2, intervalMs: 10, resend: 1, noCongestionWindow: 1 },
  normal: { nodelay: 0, intervalMs: 10, resend: 0, noCongestionWindow: 1 },
};

/** Options of a {@link KcpEndpoint}. */
export interface KcpEndpointOptions {
  /** Where every datagram goes. */
  peer: SimAddress;
  /** test.cpp mode. */
  mode: KcpMode;
  /** KCP conversation id (both ends must match). */
  conversation?: number;
  /** Send and receive windows in segments; test.cpp uses 128/128. */
  windowSegments?: number;
  /** Called with every whole message KCP delivers, in order. */
  onMessage: (nowMs: number, data: Uint8Array) => void;
}

/** What one KCP endpoint did. */
export interface KcpEndpointStats {
  /** Messages accepted by `ikcp_send`. */
  messagesSent: number;
  /** Messages `ikcp_send` refused (larger than the receive window allows). */
  sendsRefused: number;
  /** Messages delivered to `onMessage`. */
  messagesReceived: number;
  /** Datagrams `ikcp_input` rejected. */
  inputErrors: number;
  /** Data segments (IKCP_CMD_PUSH) put on the wire, first sends and resends. */
  dataSegmentSends: number;
}

/** KCP segment header: conv u32, cmd u8, frg u8, wnd u16, ts u32, sn u32, una u32, len u32 (ikcp.c). */
const segmentHeaderBytes = 24;
const commandPush = 81;

/** Data segments in one KCP datagram (a datagram packs several segments back to back). */
export function countDataSegments(datagram: Uint8Array): number {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  let count = 0;
  for (let at = 0; at + segmentHeaderBytes <= datagram.length; ) {
    if (view.getUint8(at + 4) === commandPush) count++;
    at += segmentHeaderBytes + view.getUint32(at + 20, true);
  }
  return count;
}

/**
 * One KCP control block (C `ikcp` through node-kcp) driven by the simulator in virtual time: KCP's output
 * callback becomes a `Transmit`, `ikcp_update` runs at the deadline `ikcp_check` gives, and every arriving
 * datagram goes to `ikcp_input`. KCP's clock is whole milliseconds: virtual time is floored, as test.cpp's
 * 1 ms loop does. Call order is the SimEndpoint one; `send` may be called from an application hook.
 */
export class KcpEndpoint implements SimEndpoint {
  /** Counters. */
  readonly stats: KcpEndpointStats = {
    messagesSent: 0,
    sendsRefused: 0,
    messagesReceived: 0,
    inputErrors: 0,
    dataSegmentSends: 0,
  };
  private readonly kcp: KcpControlBlock;
  private readonly outbox: Uint8Array[] = [];
  private outboxHead = 0;
  private clockMs = 0;
  private lastUpdateMs = Number.NEGATIVE_INFINITY;

  constructor(
    binding: KcpModule,
    private readonly options: KcpEndpointOptions,
  ) {
    this.kcp = new binding.KCP(options.conversation ?? 0x11223344, {});
    const tuning = kcpTunings[options.mode];
    this.kcp.nodelay(tuning.nodelay, tuning.intervalMs, tuning.resend, tuning.noCongestionWindow);
    const window = options.windowSegments ?? 128;
    this.kcp.wndsize(window, window);
    this.kcp.output((data) => {
      this.stats.dataSegmentSends += countDataSegments(data);
      this.outbox.push(data);
    });
  }

  /** Queues one message (`ikcp_send`); it leaves at KCP's next flush. False when KCP refused it. */
  send(nowMs: number, data: Uint8Array): boolean {
    this.clockMs = Math.floor(nowMs);
    const accepted = (this.kcp.send(data) ?? -1) >= 0;
    if (accepted) this.stats.messagesSent++;
    else this.stats.sendsRefused++;
    return accepted;
  }

  /** Segments sent but not yet acknowledged, plus those queued (`ikcp_waitsnd`). */
  waitingSegments(): number {
    return this.kcp.waitsnd();
  }

  handleDatagram(now: number, _from: SimAddress, bytes: Uint8Array): void {
    this.clockMs = Math.floor(now);
    if ((this.kcp.input(bytes) ?? -1) < 0) this.stats.inputErrors++;
    for (let message = this.kcp.recv(); message; message = this.kcp.recv()) {
      this.stats.messagesReceived++;
      this.options.onMessage(now, message);
    }
  }

  pollTransmit(): Transmit | undefined {
    if (this.outboxHead >= this.outbox.length) {
      if (this.outbox.length > 0) this.outbox.length = this.outboxHead = 0;
      return undefined;
    }
    const bytes = this.outbox[this.outboxHead++]!;
    return { to: this.options.peer, bytes };
  }

  nextTimeout(): number {
    const deadlineMs = this.clockMs + this.kcp.check(this.clockMs);
    // ikcp_check says "now" for a segment whose resend time passed between flushes, yet ikcp_update
    // acts only at the flush tick: step a millisecond, as test.cpp's loop does, rather than spin.
    return deadlineMs > this.lastUpdateMs ? deadlineMs : this.lastUpdateMs + 1;
  }

  handleTimeout(now: number): void {
    this.clockMs = Math.floor(now);
    this.lastUpdateMs = this.clockMs;
    this.kcp.update(this.clockMs);
  }

  /** Frees the native control block; the endpoint must not be used afterwards. */
  release(): void {
    this.kcp.release();
  }
}
