import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { FecStats } from '../fec/fec-session.ts';
import type { FecClass } from '../fec/redundancy-controller.ts';
import { ChannelMode, makeChannelId } from '../protocol/channel/channel-id.ts';
import type { Connection, ConnectionStats } from '../protocol/connection.ts';
import type { ConnectionEvent, ReceivedMessage } from '../protocol/connection-events.ts';
import { FerryUsageError } from '../protocol/errors.ts';
import type { TransportParams } from '../protocol/security/handshake-codec.ts';
import type { SecureEndpointEvent } from '../protocol/security/secure-endpoint.ts';
import { type ChannelHost, FerryChannel, type FerryChannelMode, type SendRequest } from './channel.ts';
import { clockMs } from './clock.ts';
import { FerryClosedError, type FerryClosedReason, FerryExpiredError, FerryOptionsError } from './errors.ts';
import type { ConnectionSink, UdpEndpoint } from './udp-endpoint.ts';

/** A message handed to `send` that the peer never confirmed. */
export interface UnconfirmedSend {
  channelId: number;
  /** Core message id; absent when the message never left the local queue (it waited for send-buffer space). */
  messageId?: number;
  /** The payload, so the application can send it again elsewhere. */
  data: Uint8Array;
}

/** How a connection ended: the argument of the 'close' event. */
export interface FerryCloseInfo {
  /** Who or what ended it. */
  initiator: FerryClosedReason;
  /** Close code (spec §10; `CloseCode`). */
  code: number;
  /** Close reason text. */
  reason: string;
  /** Messages never confirmed: empty after a successful graceful close (R-CLOSE-3). */
  unconfirmed: UnconfirmedSend[];
}

/** `connection.stats()`: the core counters plus RTT, congestion and buffer figures. */
export interface FerryConnectionStats extends ConnectionStats {
  smoothedRttMs: number;
  minRttMs: number;
  rttVarMs: number;
  latestRttMs: number;
  bytesInFlight: number;
  congestionWindowBytes: number;
  /** Bytes handed to `send` and not yet acknowledged. */
  sendBufferedBytes: number;
  /** Sends waiting for send-buffer space (not yet in the core). */
  queuedSends: number;
  /** The peer's latest address. */
  remoteAddress: string;
  /** Forward error correction counters (both directions), when the endpoint has FEC on (spec §11). */
  fec?: FecStats;
}

/** Options of {@link FerryConnection.openChannel}. */
export interface OpenChannelOptions {
  /** Reliability mode. */
  mode: FerryChannelMode;
  /**
   * Wire channel id (R-CHAN-1); its low two bits must encode `mode`. Absent: the next free id this side opens.
   * Opening an id already open returns the same channel, so both sides may open a well-known id.
   */
  id?: number;
  /**
   * Deadline and unreliable channels: lifetime of each message sent (ms) from `send` (R-PR-1); a message not
   * delivered by then is abandoned and its `send` rejects with `FerryExpiredError`. Default for deadline
   * channels: `config.defaultDeadlineMs`.
   */
  deadlineMs?: number;
  /** Deadline and unreliable channels: drop a received message that completes after a newer one (R-PR-7). */
  sequenced?: boolean;
  /**
   * Deadline channels: `false` leaves lost fragments to the FEC layer's extra repair instead of retransmitting
   * them (R-PR-8, spec §11.9) — for video-like traffic over an endpoint whose `fec` option sets `extraRepair`.
   * Default `config.deadlineRetransmit` (true).
   */
  retransmit?: boolean;
  /**
   * With FEC on at the endpoint: this channel's protection class (R-FEC-13) — `interactive` (thin-stream IM),
   * `media`, or `false` for none (bulk data, where retransmission is cheaper). Default: the endpoint's class.
   */
  fec?: FecClass | false;
}

/** Options of {@link FerryConnection.close}. */
export interface CloseOptions {
  /** Graceful (default): send everything queued and wait for its confirmation (up to `closeTimeoutMs`). */
  graceful?: boolean;
  /** Application close code (≥ 0x100) sent to the peer; default 0 (no error). */
  code?: number;
  /** Close reason sent to the peer. */
  reason?: string;
}

const modeNames: Record<FerryChannelMode, ChannelMode> = {
  'reliable-ordered': ChannelMode.reliableOrdered,
  'reliable-unordered': ChannelMode.reliableUnordered,
  deadline: ChannelMode.deadline,
  unreliable: ChannelMode.unreliable,
};
const modeOfId: readonly FerryChannelMode[] = [
  'reliable-ordered',
  'reliable-unordered',
  'deadline',
  'unreliable',
];

/**
 * A Ferry connection over a {@link UdpEndpoint}: channels, delivery receipts, stats and graceful close.
 *
 * Events: 'channel' (channel: FerryChannel) when the peer sends on a channel this side has not opened;
 * 'migrated' (remote: string) when the peer's new address passed path validation (spec §13.6);
 * 'close' (info: FerryCloseInfo) once, when the connection has ended for any reason. There is no 'error' event:
 * failures end the connection and are reported by 'close' and by the promises of `send`, `close` and `connect`.
 */
export class FerryConnection extends EventEmitter implements ChannelHost {
  private readonly channels = new Map<number, FerryChannel>();
  /** Sends refused for lack of send-buffer space, retried in order on `writable`. */
  private readonly blocked: SendRequest[] = [];
  private nextIndex = 0;
  private closeRequested = false;
  private flushThenClose: CloseOptions | undefined;
  private closeInfo: FerryCloseInfo | undefined;
  private readonly closeWaiters: ((unconfirmed: UnconfirmedSend[]) => void)[] = [];
  /** `connect`'s promise while the handshake runs. */
  private establishing: { resolve: () => void; reject: (error: Error) => void } | undefined;
  // Counted here: the core's fields of the same name stay 0 in v0.
  private messagesReceived = 0;
  /** The peer's address when the connection ended (the endpoint forgets it then). */
  private finalRemote = '';
  private payloadBytesReceived = 0;

  /** @internal Created by `connect` and by `FerryServer`. */
  constructor(
    private readonly endpoint: UdpEndpoint,
    /** The sans-IO connection this wraps. */
    readonly core: Connection,
    remote: string,
    private readonly ownsEndpoint: boolean,
  ) {
    super();
    const sink: ConnectionSink = {
      onEvent: (event) => this.onEvent(event),
      afterDrive: () => {
        // The core raises `readable` once per channel while it is never read without an id, so drain here.
        for (const channel of this.channels.values()) channel.pump();
      },
      onSecurityEvent: (event) => this.onSecurityEvent(event),
    };
    endpoint.attach(core, sink, remote);
  }

  /** Which side opened the connection. */
  get role(): 'client' | 'server' {
    return this.core.role;
  }

  /** The peer's latest address (`host:port`); it follows the peer when its address changes. */
  get remoteAddress(): string {
    return this.endpoint.remoteOf(this.core) ?? this.finalRemote;
  }

  /** The local socket address the connection sends from. */
  localAddress(): AddressInfo {
    return this.endpoint.address();
  }

  /** The connection parameters both sides agreed on in the handshake (spec §13.4). */
  get parameters(): TransportParams | undefined {
    return this.endpoint.core.paramsOf(this.core);
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** Opens (or returns the already open) channel; throws `FerryUsageError` on an id that does not fit `mode`. */
  openChannel(options: OpenChannelOptions): FerryChannel {
    const mode = modeNames[options.mode];
    if (mode === undefined) {
      throw new FerryUsageError('unsupported-channel-mode', `unknown channel mode '${String(options.mode)}'`);
    }
    let id = options.id;
    if (id === undefined) {
      do id = makeChannelId(this.nextIndex++, this.core.role, mode);
      while (this.channels.has(id));
    } else if (!Number.isSafeInteger(id) || id < 0 || id % 4 !== mode) {
      throw new FerryUsageError('invalid-channel', `channel id ${id} is not a ${options.mode} channel id`);
    }
    if (
      options.deadlineMs !== undefined ||
      options.sequenced !== undefined ||
      options.retransmit !== undefined
    ) {
      // spec §12.1: throws FerryUsageError for reliable channels or a negative deadline
      const settings: { deadlineMs?: number; sequenced?: boolean; retransmit?: boolean } = {};
      if (options.deadlineMs !== undefined) settings.deadlineMs = options.deadlineMs;
      if (options.sequenced !== undefined) settings.sequenced = options.sequenced;
      if (options.retransmit !== undefined) settings.retransmit = options.retransmit;
      this.core.configureChannel(id, settings);
    }
    if (options.fec !== undefined)
      this.endpoint.setChannelFec(this.core, id, options.fec === false ? 'bulk' : options.fec);
    return this.channelFor(id);
  }

  /** Counters, RTT and congestion state. */
  stats(): FerryConnectionStats {
    const fec = this.endpoint.fecStats(this.core);
    return {
      ...this.core.stats,
      ...this.core.rtt,
      messagesReceived: this.messagesReceived,
      payloadBytesReceived: this.payloadBytesReceived,
      bytesInFlight: this.core.congestion.bytesInFlight,
      congestionWindowBytes: this.core.congestion.congestionWindowBytes,
      sendBufferedBytes: this.core.sendBufferedBytesTotal,
      queuedSends: this.blocked.length,
      remoteAddress: this.remoteAddress,
      ...(fec ? { fec } : {}),
    };
  }

  /**
   * Closes the connection (R-CLOSE-1) and resolves with the messages the peer never confirmed. Graceful (the
   * default) first hands over sends still waiting for buffer space, then waits until everything is acknowledged
   * or `closeTimeoutMs` passes (R-CLOSE-2); immediate sends CLOSE at once. Calling it again returns the same result.
   */
  close(options: CloseOptions = {}): Promise<UnconfirmedSend[]> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo.unconfirmed);
    const result = new Promise<UnconfirmedSend[]>((resolve) => this.closeWaiters.push(resolve));
    if (this.closeRequested && options.graceful !== false) return result;
    this.closeRequested = true;
    if (options.graceful !== false && this.blocked.length > 0) this.flushThenClose = options;
    else this.closeCore(options);
    return result;
  }

  /**
   * Moves a client connection to a fresh local socket (a new port), as when a phone changes network or a NAT
   * rebinds; the server validates the new address and then follows it (spec §13.6). Resolves once the new socket
   * is in use.
   */
  async rebind(): Promise<void> {
    if (!this.ownsEndpoint) {
      throw new FerryOptionsError('invalid-option', 'rebind() is for connections made by connect()');
    }
    const socket = await this.endpoint.freshSocket();
    this.endpoint.replaceSocket(socket, true);
    // Say something from the new address at once, so the peer need not wait for a keep-alive to follow.
    if (!this.closeInfo) {
      this.core.ping();
      this.requestDrive();
    }
  }

  // ─── ChannelHost ────────────────────────────────────────────────────────────────────────────────────

  /** @internal */
  receive(channelId: number): ReceivedMessage | undefined {
    const message = this.core.receive(channelId);
    if (message) {
      this.messagesReceived++;
      this.payloadBytesReceived += message.data.length;
    }
    return message;
  }

  /** @internal */
  requestDrive(): void {
    this.endpoint.requestDrive(this.core);
  }

  /** @internal Queues a send behind any that wait for buffer space, so a channel's messages keep their order. */
  submit(request: SendRequest): void {
    if (this.closeInfo || this.closeRequested) {
      const closing = !this.closeInfo && this.core.state === 'open';
      this.refuse(
        request,
        new FerryUsageError(closing ? 'closing' : 'connection-closed', 'connection is closing or closed'),
      );
      return;
    }
    if (this.blocked.length > 0 || !this.trySend(request)) this.blocked.push(request);
  }

  // ─── Internals ──────────────────────────────────────────────────────────────────────────────────────

  /** @internal `connect`: resolves when the handshake completed (spec §13), rejects when it failed. */
  establish(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.establishing = { resolve, reject };
      this.requestDrive(); // sends the Initial the core queued
    });
  }

  private onSecurityEvent(event: SecureEndpointEvent): void {
    switch (event.type) {
      case 'established':
        this.establishing?.resolve();
        this.establishing = undefined;
        break;
      case 'handshake-failed':
        if (event.reason === 'version-mismatch') {
          this.abandon(
            'version-mismatch',
            `${this.remoteAddress} speaks no protocol version this side knows`,
          );
        } else if (this.role === 'client') {
          this.abandon('connect-timeout', `no handshake with ${this.remoteAddress} in time`);
        } else this.abandon('handshake-timeout', 'the client never confirmed the handshake');
        break;
      case 'reset':
        this.abandon('peer-reset', `${this.remoteAddress} no longer knows this connection (stateless reset)`);
        break;
      case 'migrated':
        this.emit('migrated', event.remote);
        break;
      case 'connection':
        break;
    }
  }

  /** Ends the connection locally without waiting for the peer (connect timeout, endpoint shut down). @internal */
  abandon(reason: FerryClosedReason, message: string): void {
    if (this.closeInfo) return;
    this.finish(
      { initiator: reason, code: 0, reason: message, unconfirmed: [] },
      this.core.unconfirmedMessages(),
    );
  }

  private channelFor(id: number, announce = false): FerryChannel {
    let channel = this.channels.get(id);
    if (!channel) {
      const mode = modeOfId[id % 4]!;
      channel = new FerryChannel(this, id, mode);
      this.channels.set(id, channel);
      if (announce) this.emit('channel', channel);
    }
    return channel;
  }

  private trySend(request: SendRequest): boolean {
    const limit = this.parameters?.maxMessageBytes;
    if (limit !== undefined && request.data.length > limit) {
      // R-HS-6: the peer announced a smaller limit than ours; it would drop the message.
      const message = `message of ${request.data.length} bytes exceeds the negotiated maxMessageBytes ${limit}`;
      this.refuse(request, new FerryUsageError('message-too-large', message));
      return true;
    }
    try {
      request.messageId = this.core.send(clockMs(), request.channel.id, request.data);
    } catch (error) {
      if (error instanceof FerryUsageError && error.reason === 'send-buffer-full') return false;
      this.refuse(request, error instanceof Error ? error : new Error(String(error)));
      return true;
    }
    request.channel.pending.set(request.messageId, request);
    request.onAccepted?.();
    this.requestDrive();
    return true;
  }

  private refuse(request: SendRequest, error: Error): void {
    request.onAccepted?.(error);
    request.reject(error);
  }

  private closeCore(options: CloseOptions): void {
    this.flushThenClose = undefined;
    for (const request of this.blocked.splice(0)) {
      this.unsentOnClose.push(request);
    }
    this.core.close(clockMs(), options);
    this.requestDrive();
  }

  /** Sends refused by an immediate close before the core took them (reported as unconfirmed). */
  private readonly unsentOnClose: SendRequest[] = [];

  private onEvent(event: ConnectionEvent): void {
    switch (event.type) {
      case 'readable':
        this.channelFor(event.channelId, !this.channels.has(event.channelId));
        break;
      case 'delivered': {
        const channel = this.channels.get(event.channelId);
        const request = channel?.pending.get(event.messageId);
        if (request) {
          channel?.pending.delete(event.messageId);
          request.resolve();
        }
        break;
      }
      case 'expired': {
        const channel = this.channels.get(event.channelId);
        const request = channel?.pending.get(event.messageId);
        if (request) {
          channel?.pending.delete(event.messageId);
          request.reject(new FerryExpiredError(event.channelId, event.messageId));
        }
        break;
      }
      case 'writable':
        while (this.blocked.length > 0 && this.trySend(this.blocked[0]!)) this.blocked.shift();
        if (this.blocked.length === 0 && this.flushThenClose) this.closeCore(this.flushThenClose);
        break;
      case 'closed':
        this.finish(
          { initiator: event.initiator, code: event.code, reason: event.reason, unconfirmed: [] },
          event.unconfirmed,
        );
        break;
    }
  }

  private finish(info: FerryCloseInfo, unconfirmedIds: { channelId: number; messageId: number }[]): void {
    const error = new FerryClosedError(
      info.initiator,
      `connection closed (${describe(info.initiator)}${info.reason ? `: ${info.reason}` : ''})`,
      info.code,
    );
    for (const { channelId, messageId } of unconfirmedIds) {
      const request = this.channels.get(channelId)?.pending.get(messageId);
      info.unconfirmed.push({ channelId, messageId, data: request?.data ?? new Uint8Array(0) });
    }
    const unsent = [...this.unsentOnClose.splice(0), ...this.blocked.splice(0)];
    for (const request of unsent)
      info.unconfirmed.push({ channelId: request.channel.id, data: request.data });
    this.closeInfo = info;
    this.finalRemote = this.remoteAddress;
    this.endpoint.detach(this.core);
    for (const request of unsent) this.refuse(request, error);
    this.establishing?.reject(error);
    this.establishing = undefined;
    for (const channel of this.channels.values()) {
      for (const request of channel.pending.values()) request.reject(error);
      channel.pending.clear();
      channel.onConnectionClosed();
    }
    this.emit('close', info);
    for (const waiter of this.closeWaiters.splice(0)) waiter(info.unconfirmed);
    if (this.ownsEndpoint) void this.endpoint.close();
  }
}

function describe(initiator: FerryClosedReason): string {
  const text: Record<FerryClosedReason, string> = {
    local: 'closed locally',
    peer: 'closed by the peer',
    'idle-timeout': 'idle timeout',
    'protocol-violation': 'protocol violation',
    'connect-timeout': 'connect timeout',
    'endpoint-closed': 'endpoint closed',
    'version-mismatch': 'no common protocol version',
    'handshake-timeout': 'handshake never confirmed',
    'peer-reset': 'stateless reset by the peer',
  };
  return text[initiator];
}
