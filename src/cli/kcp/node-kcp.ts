import { createRequire } from 'node:module';

/** The slice of node-kcp's `KCP` class (a binding of C `ikcp`) the adapter uses. */
export interface KcpControlBlock {
  /** `ikcp_send`: queues one message; returns < 0 when it does not fit the windows. */
  send(data: Uint8Array): number | undefined;
  /** `ikcp_input`: feeds one received datagram; returns < 0 on a malformed one. */
  input(data: Uint8Array): number | undefined;
  /** `ikcp_recv`: the next whole message, or undefined. */
  recv(): Uint8Array | undefined;
  /** Sets the callback `ikcp_flush` hands each outgoing datagram to. */
  output(callback: (data: Uint8Array, size: number) => void): void;
  /** `ikcp_update(current)`, current in ms (masked to 32 bits). */
  update(currentMs: number): void;
  /** `ikcp_check(current) - current`: ms until `update` must be called again. */
  check(currentMs: number): number;
  /** `ikcp_nodelay(nodelay, interval, resend, nc)`. */
  nodelay(nodelay: number, intervalMs: number, resend: number, noCongestionWindow: number): void;
  /** `ikcp_wndsize(sndwnd, rcvwnd)`, in segments. */
  wndsize(sendWindow: number, receiveWindow: number): void;
  /** `ikcp_waitsnd`: segments not yet acknowledged. */
  waitsnd(): number;
  /** Frees the C control block. */
  release(): void;
}

/** node-kcp's module: `new KCP(conv, context)`. */
export interface KcpModule {
  KCP: new (conversation: number, context: object) => KcpControlBlock;
}

let cached: { module: KcpModule } | { error: string } | undefined;

/**
 * Loads the optional native `node-kcp` binding. Its package `main` points at a file that does not exist,
 * so `node-kcp/index.js` is loaded. Returns a one-line reason instead when it is not installed or not built.
 */
export function loadKcp(): { module: KcpModule } | { error: string } {
  if (cached) return cached;
  try {
    const require = createRequire(import.meta.url);
    const module = require('node-kcp/index.js') as KcpModule;
    if (typeof module.KCP !== 'function') throw new Error('node-kcp/index.js exports no KCP class');
    cached = { module };
  } catch (err) {
    const reason = ((err as Error).message ?? String(err)).split('\n')[0];
    cached = { error: `KCP comparison skipped: the optional package node-kcp is not available (${reason})` };
  }
  return cached;
}
