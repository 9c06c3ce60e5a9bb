import { AckManager } from './ack/ack-manager.ts';
import type { CongestionController } from './cc/congestion-controller.ts';
import { Cubic } from './cc/cubic.ts';
import { LossTolerant } from './cc/loss-tolerant.ts';
import { NewReno } from './cc/new-reno.ts';
import { Pacer } from './cc/pacer.ts';
import { ChannelMode, channelModeOf, isReliableMode } from './channel/channel-id.ts';
import type { OutgoingFragment, OutgoingMessage } from './channel/outgoing-message.ts';
import { ReceiveChannel } from './channel/receive-channel.ts';
import { SendChannel } from './channel/send-channel.ts';
import { type ConnectionConfig, defaultConnectionConfig } from './connection-config.ts';
import type {
  CloseInitiator,
  ConnectionEvent,
  ReceivedMessage,
  UnconfirmedMessage,
} from './connection-events.ts';
import { copyDatagram } from './datagram-slab.ts';
import { CloseCode, FerryUsageError } from './errors.ts';
import { DeliveryRateSampler } from './recovery/delivery-rate.ts';
import { LossDetection } from './recovery/loss-detection.ts';
import { RedundancyPlanner } from './recovery/redundancy.ts';
import type { SentPacket } from './recovery/sent-packet.ts';
import {
  ConnectionTracer,
  congestionStateOf,
  type TracePacketData,
  type TraceSink,
  traceFrames,
} from './trace.ts';
import type { Frame, MessageFrame } from './wire/frame-types.ts';
import { type DecodedHeader, type PacketHeader, PacketType } from './wire/header.ts';
import {
  decodeFrames,
  decodeHeader,
  encodedFrameLength,
  encodeFrame,
  encodeHeader,
  headerLength,
} from './wire/index.ts';

/** Retransmittable content of a sent packet other than message fragments. */
type ControlRecord =
  | { kind: 'max_data' }
  | { kind: 'expired'; channelId: number; forwardMessageId: number }
  | { kind: 'max_channel_data'; channelId: number }
  | { kind: 'ping' }
  | { kind: 'close' };

/** What a sent packet carried, handed back on acknowledgement or loss. */
type SentRecord = OutgoingFragment | ControlRecord;

/** Lifecycle (spec §10): open → closing (graceful, flushing) → draining (CLOSE sent or received) → closed. */
export type ConnectionState = 'open' | 'closing' | 'draining' | 'closed';

/** Counters for benchmarks, traces and tests. */
export interface ConnectionStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Datagrams dropped undecoded (malformed, wrong connection id, duplicate packet number). */
  packetsDropped: number;
  duplicatePackets: number;
  messagesSent: number;
  messagesReceived: number;
  /** Payload bytes handed to the application. */
  payloadBytesReceived: number;
  /** Fragment transmissions after the first (loss recovery, probes and redundancy). */
  fragmentRetransmissions: number;
  /** Of those, proactive redundant copies (spec §6.5). */
  redundantCopies: number;
  ackOnlyPackets: number;
  probePackets: number;
  /** Packets left unacknowledged because a fragment did not fit a flow-control window (R-FLOW-4, R-FLOW-6). */
  windowDrops: number;
  lostPackets: number;
  spuriousLosses: number;
  /** Messages this side abandoned on deadline and unreliable channels (R-PR-2). */
  messagesExpired: number;
  /** Message ids the peer abandoned that never completed here (R-PR-6). */
  messagesSkipped: number;
  /** Fragments dropped because the receive buffer or pending-message caps were reached (R-LIMIT-1, R-LIMIT-2). */
  bufferLimitDrops: number;
}

/** Per-channel settings of deadline and unreliable channels (spec §12.1), for both directions of the id. */
export interface ChannelOptions {
  /**
   * Default lifetime of a message sent on the channel, from `send` (ms): after it the sender abandons the message
   * (R-PR-2). Deadline channels default to `config.defaultDeadlineMs`; unreliable channels to no deadline.
   */
  deadlineMs?: number;
  /** Sequenced delivery (R-PR-7): drop a received message that completes after a higher id was delivered. */
  sequenced?: boolean;
  /**
   * Whether lost fragments of this deadline channel are retransmitted (R-PR-3, R-PR-8); default
   * `config.deadlineRetransmit`. Off, the channel's losses are left to a FEC layer's extra repair (R-FEC-14).
   */
  retransmit?: boolean;
}

/** Options of one `send`. */
export interface SendOptions {
  /** This message's lifetime from now (ms), overriding the channel's `deadlineMs` (R-PR-1). */
  deadlineMs?: number;
}

/** Options to create a connection. */
export interface ConnectionOptions {
  /** Which side this is; sets the channel-id opener bit (R-CHAN-1). */
  role: 'client' | 'server';
  /** Connection id written in every packet this side sends (the peer's id for it), R-WIRE-7. */
  connectionId: Uint8Array;
  /** Tunables; anything missing takes its default. */
  config?: Partial<ConnectionConfig>;
  /** Congestion controller; overrides `config.congestionControl` (loss-tolerant by default, spec §9.3). */
  congestionController?: CongestionController;
  /** Receives this connection's trace events (spec §15); without it nothing is traced, at no cost. */
  trace?: TraceSink;
  /**
   * Called after every application call that may give the connection something to send or change its deadline
   * (`send`, `receive`, `close`, `ping`, `configureChannel`), so a driver of many connections polls only the
   * ones that were touched (the endpoint sets it).
   */
  onWake?: (connection: Connection) => void;
}

/** Space reserved in every packet for the ACK frame when data shares the packet. */
const minAckReserveBytes = 16;
/** MESSAGE frame overhead upper bound used to size fragments: type + 4 varints of ≤ 8 bytes + length. */
const messageFrameOverheadBytes = 1 + 8 + 8 + 8 + 8 + 4;

/**
 * One Ferry connection: a sans-IO state machine that turns a lossy datagram path into reliable message channels
 * (spec §5–§10). It never reads a clock, sets a timer or touches a socket.
 *
 * Call order, for whoever drives it (the simulator or `src/node`):
 * 1. `handleDatagram(now, bytes)` for every datagram that arrives for this connection;
 * 2. `handleTimeout(now)` whenever `now >= nextTimeout()`;
 * 3. after either, and after any application call (`send`, `close`, `receive`), drain `pollTransmit(now)` until
 *    it returns undefined and send each datagram;
 * 4. drain `pollEvent()` for application events, and `receive()` for messages;
 * 5. re-arm the one timer at `nextTimeout()` (undefined: no timer needed).
 */
export class Connection {
  readonly config: Readonly<ConnectionConfig>;
  readonly role: 'client' | 'server';
  readonly connectionId: Uint8Array;
  state: ConnectionState = 'open';
  readonly stats: ConnectionStats = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    packetsDropped: 0,
    duplicatePackets: 0,
    messagesSent: 0,
    messagesReceived: 0,
    payloadBytesReceived: 0,
    fragmentRetransmissions: 0,
    redundantCopies: 0,
    ackOnlyPackets: 0,
    probePackets: 0,
    windowDrops: 0,
    lostPackets: 0,
    spuriousLosses: 0,
    messagesExpired: 0,
    messagesSkipped: 0,
    bufferLimitDrops: 0,
  };

  private readonly loss: LossDetection<SentRecord>;
  private readonly acks: AckManager;
  private readonly cc: CongestionController;
  private readonly pacer: Pacer;
  private readonly redundancy: RedundancyPlanner;
  private readonly delivery = new DeliveryRateSampler();
  /** Tracing state (spec §15), only when a sink was given. */
  private readonly trace: ConnectionTracer | undefined;
  private readonly onWake: ((connection: Connection) => void) | undefined;
  private readonly sendChannels = new Map<number, SendChannel>();
  private readonly receiveChannels = new Map<number, ReceiveChannel>();
  /** Round-robin order of send channels for new data (no head-of-line blocking between channels). */
  private sendOrder: SendChannel[] = [];
  /** Send channels of deadline and unreliable mode (spec §12.1): expiry and forward points. */
  private readonly partialChannels: SendChannel[] = [];
  /** Settings from `configureChannel`, by channel id. */
  private readonly channelOptions = new Map<number, ChannelOptions>();
  private sendCursor = 0;
  private readonly retransmitQueue: OutgoingFragment[] = [];
  private retransmitHead = 0;
  private readonly events: ConnectionEvent[] = [];
  private eventHead = 0;
  private readonly readable: number[] = [];
  private readonly fragmentBytes: number;
  private nextPacketNumber = 0;
  private readonly buffer: Uint8Array;
  /** Header of the packet being built, reused: only its packet number changes (no object per packet). */
  private readonly sendHeader: PacketHeader;
  /** Frames of the packet being built, reused: they are encoded (and traced) before `buildPacket` returns. */
  private readonly sendFrames: Frame[] = [];

  // Flow control (spec §8).
  private connectionSentPosition = 0;
  private peerConnectionLimit: number;
  private connectionConsumed = 0;
  private advertisedConnectionLimit: number;
  private maxDataPending = false;
  private readonly maxChannelDataPending = new Set<number>();
  private sendBufferedBytes = 0;
  private writableWanted = false;

  // Liveness and close (spec §10).
  private lastReceivedMs: number;
  private lastAckElicitingSentMs: number;
  private pingPending = false;
  private probesPending = 0;
  private closeDeadlineMs: number | undefined;
  private drainUntilMs: number | undefined;
  private closeFrame: { code: number; reason: string } | undefined;
  private closeInitiator: CloseInitiator = 'local';
  private closeSendPending = false;
  private closedEmitted = false;

  constructor(nowMs: number, options: ConnectionOptions) {
    this.config = { ...defaultConnectionConfig, ...options.config };
    this.role = options.role;
    this.connectionId = options.connectionId;
    const c = this.config;
    this.loss = new LossDetection<SentRecord>({
      initialRttMs: c.initialRttMs,
      granularityMs: c.granularityMs,
      peerMaxAckDelayMs: c.maxAckDelayMs,
      packetThreshold: 3,
      maxPacketThreshold: 64,
      maxPtoBackoff: c.maxPtoBackoff,
      maxPtoMs: c.maxPtoMs,
      truncatedAckRanges: c.piggybackAckRanges,
    });
    this.acks = new AckManager({
      maxAckDelayMs: c.maxAckDelayMs,
      ackElicitingThreshold: c.ackElicitingThreshold,
      maxAckRanges: c.maxAckRanges,
      maxTrackedRanges: Math.max(4 * c.maxAckRanges, c.maxTrackedAckRanges), // R-LIMIT-3
    });
    this.cc =
      options.congestionController ??
      (c.congestionControl === 'newreno'
        ? new NewReno({ maxDatagramBytes: c.maxDatagramBytes })
        : c.congestionControl === 'cubic'
          ? new Cubic({ maxDatagramBytes: c.maxDatagramBytes })
          : new LossTolerant({ maxDatagramBytes: c.maxDatagramBytes }));
    this.pacer = new Pacer(10 * c.maxDatagramBytes);
    this.redundancy = new RedundancyPlanner(c);
    this.trace = options.trace ? new ConnectionTracer(options.trace) : undefined;
    this.onWake = options.onWake;
    if (this.trace) this.trace.congestionState(nowMs, congestionStateOf(this.cc));
    const header = headerLength({
      type: PacketType.data,
      connectionId: this.connectionId,
      keyPhase: false,
      packetNumber: 2 ** 53 - 1,
    });
    this.fragmentBytes = c.maxDatagramBytes - header - messageFrameOverheadBytes - minAckReserveBytes;
    if (this.fragmentBytes < 64) throw new RangeError(`maxDatagramBytes ${c.maxDatagramBytes} is too small`);
    this.buffer = new Uint8Array(c.maxDatagramBytes);
    this.sendHeader = {
      type: PacketType.data,
      connectionId: this.connectionId,
      keyPhase: false,
      packetNumber: 0,
    };
    this.peerConnectionLimit = c.connectionWindowBytes;
    this.advertisedConnectionLimit = c.connectionWindowBytes;
    this.lastReceivedMs = nowMs;
    this.lastAckElicitingSentMs = nowMs;
  }

  // ─── Application API ────────────────────────────────────────────────────────────────────────────────

  /**
   * Queues `data` as one message on `channelId` and returns its message id (R-CHAN-2). The bytes are owned by
   * the connection until acknowledged: do not modify them. Throws {@link FerryUsageError} when the message is
   * too large, the connection is closing, or the send buffer is full (backpressure: wait for `writable`).
   */
  send(nowMs: number, channelId: number, data: Uint8Array, options?: SendOptions): number {
    if (this.state !== 'open') {
      throw new FerryUsageError(
        this.state === 'closing' ? 'closing' : 'connection-closed',
        'connection is closing',
      );
    }
    if (!Number.isSafeInteger(channelId) || channelId < 0) {
      throw new FerryUsageError('invalid-channel', `invalid channel id ${channelId}`);
    }
    const deadlineMs = options?.deadlineMs ?? this.channelOptions.get(channelId)?.deadlineMs;
    if (deadlineMs !== undefined && !(deadlineMs >= 0)) {
      throw new FerryUsageError('invalid-deadline', `deadline ${deadlineMs} ms is not a non-negative number`);
    }
    if (data.length > this.config.maxMessageBytes) {
      throw new FerryUsageError(
        'message-too-large',
        `message of ${data.length} bytes exceeds maxMessageBytes`,
      );
    }
    if (this.sendBufferedBytes > 0 && this.sendBufferedBytes + data.length > this.config.sendBufferBytes) {
      this.writableWanted = true;
      throw new FerryUsageError('send-buffer-full', 'send buffer full; wait for the writable event');
    }
    const channel = this.sendChannel(channelId);
    const mode = channelModeOf(channelId);
    // R-PR-1: a deadline message lives for its deadline; unreliable ones only if given one.
    const lifetimeMs =
      deadlineMs ??
      (mode === ChannelMode.deadline ? this.config.defaultDeadlineMs : Number.POSITIVE_INFINITY);
    const expiresAtMs = channel.partial ? nowMs + lifetimeMs : Number.POSITIVE_INFINITY;
    if (channel.partial && this.channelOptions.get(channelId)?.sequenced) {
      // R-PR-7: on a sequenced channel a newer message supersedes every older one still outstanding.
      for (const older of [...channel.unacked.values()]) this.abandon(channel, older);
    }
    const message = channel.enqueue(nowMs, data, this.fragmentBytes, expiresAtMs);
    this.sendBufferedBytes += data.length;
    this.stats.messagesSent++;
    this.onWake?.(this);
    return message.messageId;
  }

  /**
   * Sets the options of a deadline or unreliable channel (spec §12.1) for both directions of `channelId`: the
   * default message deadline of what this side sends, and sequenced delivery of what it receives. Call before
   * the channel's first message arrives for `sequenced` to apply from the start.
   */
  configureChannel(channelId: number, options: ChannelOptions): void {
    if (!Number.isSafeInteger(channelId) || channelId < 0) {
      throw new FerryUsageError('invalid-channel', `invalid channel id ${channelId}`);
    }
    if (isReliableMode(channelModeOf(channelId))) {
      throw new FerryUsageError(
        'unsupported-channel-mode',
        `channel ${channelId}: options apply to deadline and unreliable channels only`,
      );
    }
    if (options.deadlineMs !== undefined && !(options.deadlineMs >= 0)) {
      throw new FerryUsageError(
        'invalid-deadline',
        `deadline ${options.deadlineMs} ms is not a non-negative number`,
      );
    }
    if (options.sequenced !== undefined && this.receiveChannels.has(channelId)) {
      const current = this.receiveChannels.get(channelId)!;
      if (current.sequenced !== options.sequenced) {
        throw new FerryUsageError(
          'invalid-channel',
          `channel ${channelId}: sequenced must be set before it opens`,
        );
      }
    }
    this.channelOptions.set(channelId, { ...this.channelOptions.get(channelId), ...options });
    this.onWake?.(this);
  }

  /** Whether `bytes` more can be queued without backpressure. */
  canSend(bytes: number): boolean {
    return (
      this.state === 'open' &&
      (this.sendBufferedBytes === 0 || this.sendBufferedBytes + bytes <= this.config.sendBufferBytes)
    );
  }

  /** Bytes handed to `send` and not yet acknowledged. */
  get sendBufferedBytesTotal(): number {
    return this.sendBufferedBytes;
  }

  /**
   * Takes the next received message, from `channelId` or from any channel. Taking it is what frees flow-control
   * credit (spec §8), so a slow reader slows the sender instead of growing buffers.
   */
  receive(channelId?: number): ReceivedMessage | undefined {
    const message = this.takeNext(channelId);
    // Taking a message may free credit to advertise (spec §8).
    if (message) this.onWake?.(this);
    return message;
  }

  private takeNext(channelId: number | undefined): ReceivedMessage | undefined {
    if (channelId !== undefined) return this.takeFrom(channelId);
    while (this.readable.length > 0) {
      const id = this.readable[0]!;
      const message = this.takeFrom(id);
      if (!message) {
        this.readable.shift();
        continue;
      }
      // Round-robin: a channel with more ready moves behind the others (no channel starves the rest).
      if (this.readable[0] === id && this.readable.length > 1) this.readable.push(this.readable.shift()!);
      return message;
    }
    return undefined;
  }

  private takeFrom(channelId: number): ReceivedMessage | undefined {
    const channel = this.receiveChannels.get(channelId);
    const message = channel?.pollMessage();
    if (!channel || !message) return undefined;
    // A drained channel leaves the readable list, so its next message raises `readable` again.
    if (channel.readyMessages === 0) {
      const at = this.readable.indexOf(channelId);
      if (at >= 0) this.readable.splice(at, 1);
    }
    this.stats.messagesReceived++;
    this.stats.payloadBytesReceived += message.data.length;
    // Partially reliable channels spend no credit (R-PR-4), so they need no MAX_CHANNEL_DATA or MAX_DATA.
    if (!isReliableMode(channelModeOf(channelId)))
      return { channelId, messageId: message.messageId, data: message.data };
    this.connectionConsumed += message.data.length;
    if (channel.creditUpdate() !== undefined) this.maxChannelDataPending.add(channelId);
    const connectionLimit = this.connectionConsumed + this.config.connectionWindowBytes;
    if ((connectionLimit - this.advertisedConnectionLimit) * 2 >= this.config.connectionWindowBytes) {
      this.advertisedConnectionLimit = connectionLimit;
      this.maxDataPending = true;
    }
    return { channelId, messageId: message.messageId, data: message.data };
  }

  /** Asks the peer for an acknowledgement (a PING, R-FRAME-3): a liveness check or a path probe. */
  ping(): void {
    if (this.state === 'open' || this.state === 'closing') this.pingPending = true;
    this.onWake?.(this);
  }

  /** The next application event, or undefined. */
  pollEvent(): ConnectionEvent | undefined {
    if (this.eventHead >= this.events.length) return undefined;
    const event = this.events[this.eventHead++];
    if (this.eventHead === this.events.length) {
      this.events.length = 0;
      this.eventHead = 0;
    }
    return event;
  }

  /**
   * Closes the connection (R-CLOSE-1). Graceful (the default) stops accepting new messages and keeps sending until
   * everything handed over is acknowledged or `closeTimeoutMs` passes; the `closed` event then lists exactly the
   * messages never confirmed (R-CLOSE-2, R-CLOSE-3). Immediate close sends CLOSE at once.
   */
  close(nowMs: number, options: { code?: number; reason?: string; graceful?: boolean } = {}): void {
    if (this.state !== 'open') return;
    this.onWake?.(this);
    const code = options.code ?? CloseCode.noError;
    const reason = options.reason ?? '';
    this.closeInitiator = 'local';
    this.closeFrame = { code, reason };
    if (options.graceful === false) {
      this.enterDraining(nowMs, true);
      return;
    }
    this.state = 'closing';
    this.closeDeadlineMs = nowMs + this.config.closeTimeoutMs;
    this.maybeFinishClosing(nowMs);
  }

  /** Messages handed over and not yet acknowledged, for close reports. */
  unconfirmedMessages(): UnconfirmedMessage[] {
    const out: UnconfirmedMessage[] = [];
    for (const channel of this.sendChannels.values()) {
      for (const id of channel.unacked.keys()) out.push({ channelId: channel.channelId, messageId: id });
    }
    return out;
  }

  /** The smoothed RTT (ms), without building the {@link rtt} snapshot (for per-datagram callers). */
  get smoothedRttMs(): number {
    return this.loss.rtt.smoothedRttMs;
  }

  /** Smoothed RTT (ms) and other recovery figures, for stats. */
  get rtt(): { smoothedRttMs: number; minRttMs: number; rttVarMs: number; latestRttMs: number } {
    const r = this.loss.rtt;
    return {
      smoothedRttMs: r.smoothedRttMs,
      minRttMs: r.minRttMs,
      rttVarMs: r.rttVarMs,
      latestRttMs: r.latestRttMs,
    };
  }

  /** Bytes in flight and congestion window, for stats and tests. */
  get congestion(): { bytesInFlight: number; congestionWindowBytes: number; controller: string } {
    return {
      bytesInFlight: this.loss.bytesInFlight,
      congestionWindowBytes: this.cc.congestionWindowBytes,
      controller: this.cc.name,
    };
  }

  /** Sizes of internal buffers, for bound checks in tests (resource limits). */
  bufferSizes(): {
    trackedPackets: number;
    retransmitQueue: number;
    receiveBufferedBytes: number;
    ackRanges: number;
    receivePendingMessages: number;
    receiveChannels: number;
    queuedEvents: number;
  } {
    let receiveBufferedBytes = 0;
    let receivePendingMessages = 0;
    for (const ch of this.receiveChannels.values()) {
      receiveBufferedBytes += ch.bufferedBytes;
      receivePendingMessages += ch.pendingAssemblies + ch.readyMessages;
    }
    return {
      trackedPackets: this.loss.trackedPackets,
      retransmitQueue: this.retransmitQueue.length - this.retransmitHead,
      receiveBufferedBytes,
      ackRanges: this.acks.trackedRanges,
      receivePendingMessages,
      receiveChannels: this.receiveChannels.size,
      queuedEvents: this.events.length - this.eventHead,
    };
  }

  /** Internal consistency checks for tests (fuzzing, soak): the invariants that do not hold, [] when all do. */
  debugInvariants(): string[] {
    const broken: string[] = [];
    let unacked = 0;
    for (const channel of this.sendChannels.values()) {
      for (const message of channel.unacked.values()) unacked += message.data.length;
    }
    if (unacked !== this.sendBufferedBytes)
      broken.push(`sendBufferedBytes ${this.sendBufferedBytes} ≠ ${unacked}`);
    if (this.retransmitHead > this.retransmitQueue.length) broken.push('retransmit head past the queue');
    if (this.eventHead > this.events.length) broken.push('event head past the queue');
    if (new Set(this.readable).size !== this.readable.length) broken.push('a channel listed readable twice');
    if (!(this.loss.bytesInFlight >= 0)) broken.push(`bytesInFlight ${this.loss.bytesInFlight}`);
    if (this.connectionSentPosition > this.peerConnectionLimit + this.config.maxMessageBytes) {
      broken.push('connection credit overshot by more than one message (R-FLOW-2)');
    }
    if (this.state === 'closed' && this.nextTimeout() !== undefined) broken.push('closed with a timer');
    return broken;
  }

  // ─── Driver API ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Processes one datagram addressed to this connection. Malformed input is dropped and counted, never thrown.
   * `routedBy` is its header when the caller already decoded it from `bytes` (the endpoint routes by it).
   */
  handleDatagram(nowMs: number, bytes: Uint8Array, routedBy?: DecodedHeader): void {
    if (this.state === 'closed') return;
    let decodedHeader = routedBy;
    if (decodedHeader === undefined) {
      const result = decodeHeader(bytes);
      if (result.ok) decodedHeader = result.value;
    }
    if (decodedHeader === undefined || decodedHeader.header.type !== PacketType.data) {
      this.stats.packetsDropped++;
      if (this.trace) this.traceDropped(nowMs, bytes, 'invalid');
      return;
    }
    const { header, bodyOffset } = decodedHeader;
    const decoded = decodeFrames(bytes, bodyOffset);
    if (!decoded.ok) {
      this.stats.packetsDropped++;
      if (this.trace) this.traceDropped(nowMs, bytes, 'invalid');
      return;
    }
    const pn = header.packetNumber;
    if (this.acks.isDuplicate(pn)) {
      this.stats.duplicatePackets++;
      if (this.trace) this.traceDropped(nowMs, bytes, 'duplicate');
      return;
    }
    this.stats.packetsReceived++;
    if (this.trace) {
      this.trace.sink.event(nowMs, 'transport:packet_received', {
        header: { packet_type: 'data', packet_number: pn },
        raw: { length: bytes.length },
        frames: traceFrames(decoded.value),
      });
    }
    this.stats.bytesReceived += bytes.length;
    this.lastReceivedMs = nowMs;
    if (this.state === 'draining') {
      // R-CLOSE-4: answer traffic after our CLOSE with CLOSE again (at most one per received packet).
      if (this.closeFrame) this.closeSendPending = true;
      return;
    }
    let ackEliciting = false;
    let accepted = true;
    for (const frame of decoded.value) {
      switch (frame.type) {
        case 'padding':
          break;
        case 'ping':
          ackEliciting = true;
          break;
        case 'ack':
          this.onAckFrame(nowMs, frame.ranges, frame.ackDelayUs / 1000);
          break;
        case 'close':
          this.onPeerClose(nowMs, frame.code, frame.reason);
          return;
        case 'max_data':
          ackEliciting = true;
          if (frame.maximumBytes > this.peerConnectionLimit) this.peerConnectionLimit = frame.maximumBytes;
          break;
        case 'max_channel_data':
          ackEliciting = true;
          this.sendChannels.get(frame.channelId)?.onMaxChannelData(frame.maximumBytes);
          break;
        case 'expired':
          ackEliciting = true;
          this.onExpiredFrame(nowMs, frame.channelId, frame.forwardMessageId);
          if (this.isEnding()) return;
          break;
        case 'message': {
          ackEliciting = true;
          if (this.onMessageFrame(nowMs, frame) === 'dropped') accepted = false;
          if (this.isEnding()) return;
          break;
        }
      }
    }
    // A packet whose data was dropped for lack of window is not acknowledged, so it is retransmitted (R-FLOW-3).
    if (accepted) this.acks.onPacketReceived(nowMs, pn, ackEliciting);
    else this.stats.windowDrops++;
    if (this.state === 'closing') this.maybeFinishClosing(nowMs);
  }

  /** Handles expired timers; call when `now >= nextTimeout()`. */
  handleTimeout(nowMs: number): void {
    if (this.state === 'closed') return;
    if (nowMs >= this.lastReceivedMs + this.config.idleTimeoutMs) {
      this.closeInitiator = 'idle-timeout';
      this.closeFrame = { code: CloseCode.idleTimeout, reason: 'idle timeout' };
      this.finishClosed(); // R-LIVE-2: silently closed, nothing sent
      return;
    }
    if (this.state === 'draining') {
      if (this.drainUntilMs !== undefined && nowMs >= this.drainUntilMs) this.finishClosed();
      return;
    }
    if (this.state === 'closing' && this.closeDeadlineMs !== undefined && nowMs >= this.closeDeadlineMs) {
      this.closeFrame = { code: CloseCode.closeTimeout, reason: this.closeFrame?.reason || 'close timeout' };
      this.enterDraining(nowMs, true);
      return;
    }
    const lossDeadline = this.loss.timerDeadlineMs();
    if (lossDeadline !== undefined && nowMs >= lossDeadline) {
      if (this.loss.isLossTimerArmed()) {
        this.onLost(nowMs, this.loss.detectLosses(nowMs));
      } else {
        // R-LOSS-6: PTO — send probes, do not declare anything lost.
        this.loss.onPtoFired();
        // R-LOSS-5: no backoff before the first RTT sample (a loss burst at start must not idle the path).
        if (!this.loss.rtt.hasSample) this.loss.ptoCount = 0;
        if (this.trace) {
          this.trace.sink.event(nowMs, 'recovery:loss_timer_updated', {
            timer_type: 'pto',
            event_type: 'expired',
          });
        }
        this.probesPending = 2;
      }
    }
    for (const fragment of this.redundancy.overdue(nowMs, this.thinRtoMs())) this.repair(nowMs, fragment);
    this.expireMessages(nowMs);
    const keepAlive = this.config.keepAliveIntervalMs;
    if (keepAlive > 0 && nowMs >= this.lastAckElicitingSentMs + keepAlive) this.pingPending = true; // R-LIVE-1
  }

  /** The one deadline the driver must arm (absolute ms), or undefined when nothing is scheduled. */
  nextTimeout(): number | undefined {
    if (this.state === 'closed') return undefined;
    let t = this.lastReceivedMs + this.config.idleTimeoutMs;
    if (this.state === 'draining') return Math.min(t, this.drainUntilMs ?? t);
    if (this.closeDeadlineMs !== undefined) t = Math.min(t, this.closeDeadlineMs);
    const ackDue = this.acks.ackDueMs();
    if (ackDue !== undefined) t = Math.min(t, ackDue);
    const lossDeadline = this.loss.timerDeadlineMs();
    if (lossDeadline !== undefined) t = Math.min(t, lossDeadline);
    if (this.config.keepAliveIntervalMs > 0 && !this.pingPending) {
      t = Math.min(t, this.lastAckElicitingSentMs + this.config.keepAliveIntervalMs);
    }
    if (this.pacedUntilMs !== undefined) t = Math.min(t, this.pacedUntilMs);
    const thin = this.redundancy.nextDeadlineMs(this.thinRtoMs());
    if (thin !== undefined) t = Math.min(t, thin);
    const copyDue =
      this.loss.bytesInFlight < this.cc.congestionWindowBytes && !this.isBulkSending()
        ? this.redundancy.copyDueMs(this.lastPollMs, this.loss.rtt.smoothedRttMs, this.copyDelayMs())
        : undefined;
    // A copy held back by the pacer is due when the pacer allows it (R-LOSS-11).
    if (copyDue !== undefined) t = Math.min(t, Math.max(copyDue, this.pacedUntilMs ?? copyDue));
    for (const channel of this.partialChannels) t = Math.min(t, channel.nextExpiryMs);
    return t;
  }

  /** How long a fresh small fragment waits for a packet to carry its first copy before one is sent for it. */
  private copyDelayMs(): number {
    return Math.max(
      this.config.granularityMs,
      Math.min(this.config.redundancyCopyDelayMs, this.loss.rtt.smoothedRttMs / 8),
    );
  }

  /** Per-fragment retransmission timeout for thin streams (R-LOSS-9): about one RTT plus its variation. */
  private thinRtoMs(): number {
    const r = this.loss.rtt;
    return r.smoothedRttMs + Math.max(2 * r.rttVarMs, this.config.granularityMs) + this.config.maxAckDelayMs;
  }

  /** The next datagram to send, or undefined when there is nothing to send now. Drain until undefined. */
  pollTransmit(nowMs: number): Uint8Array | undefined {
    this.pacedUntilMs = undefined;
    this.lastPollMs = nowMs;
    if (this.state === 'closed') return undefined;
    if (this.state === 'draining') {
      if (!this.closeSendPending || !this.closeFrame) return undefined;
      this.closeSendPending = false;
      return this.buildPacket(nowMs, 'close');
    }
    const ackDue = this.acks.ackDueMs();
    const ackNow = ackDue !== undefined && ackDue <= nowMs;
    if (this.probesPending > 0) {
      this.probesPending--;
      this.stats.probePackets++;
      return this.buildPacket(nowMs, 'probe');
    }
    if (this.hasDataToSend()) {
      const cwndOpen = this.loss.bytesInFlight < this.cc.congestionWindowBytes;
      if (cwndOpen) {
        const rate = this.cc.pacingRateBytesPerSec(this.loss.rtt);
        const at = this.pacer.nextSendTimeMs(nowMs, this.config.maxDatagramBytes, rate);
        if (at <= nowMs) return this.buildPacket(nowMs, 'data');
        this.pacedUntilMs = at;
      }
    }
    if (ackNow && this.acks.hasRangesToReport()) return this.buildPacket(nowMs, 'ack');
    // The cheap conditions first: copyDueMs scans every candidate fragment (it has no side effects).
    if (this.loss.bytesInFlight >= this.cc.congestionWindowBytes || this.isBulkSending()) return undefined;
    const copyDue = this.redundancy.copyDueMs(nowMs, this.loss.rtt.smoothedRttMs, this.copyDelayMs());
    if (copyDue !== undefined && copyDue <= nowMs) {
      // R-LOSS-11: a copy packet is paced like data (it is in flight and costs bottleneck capacity).
      const rate = this.cc.pacingRateBytesPerSec(this.loss.rtt);
      const at = this.pacer.nextSendTimeMs(nowMs, this.config.maxDatagramBytes, rate);
      if (at <= nowMs) return this.buildPacket(nowMs, 'copy');
      this.pacedUntilMs = Math.min(this.pacedUntilMs ?? at, at);
    }
    return undefined;
  }

  private pacedUntilMs: number | undefined;
  /** Time of the latest pollTransmit, for deadlines that depend on age. */
  private lastPollMs = 0;

  // ─── Sending ────────────────────────────────────────────────────────────────────────────────────────

  private hasDataToSend(): boolean {
    if (this.pingPending || this.maxDataPending || this.maxChannelDataPending.size > 0) return true;
    for (const channel of this.partialChannels) if (channel.forwardDue) return true;
    if (this.retransmitHead < this.retransmitQueue.length) return true;
    for (const channel of this.sendOrder) if (this.nextNewFragment(channel)) return true;
    return false;
  }

  /** Credit is checked per message (R-FLOW-2): a message may start while both positions are below their limits. */
  private nextNewFragment(channel: SendChannel): OutgoingFragment | undefined {
    const fragment = channel.nextFragment();
    if (!fragment) return undefined;
    if (channel.partial) return fragment; // R-PR-4: no credit
    if (fragment.offset === 0 && this.connectionSentPosition >= this.peerConnectionLimit) return undefined;
    return fragment;
  }

  /**
   * Assembles one packet: ACK (piggybacked whenever there are ranges to report, R-ACK-4), control frames,
   * retransmissions, new data round-robin across channels, then redundant copies of small unacknowledged
   * fragments if room and budget allow (R-LOSS-8).
   */
  private buildPacket(nowMs: number, purpose: 'data' | 'ack' | 'probe' | 'close' | 'copy'): Uint8Array {
    const header = this.sendHeader;
    header.packetNumber = this.nextPacketNumber++;
    let room = this.config.maxDatagramBytes - headerLength(header);
    const frames = this.sendFrames;
    while (frames.length > 0) frames.pop(); // not `length = 0`: a runtime call, slower than a new array
    const records: SentRecord[] = [];
    let largestAckedInPacket: number | undefined;
    let ackRanges: { smallest: number; largest: number }[] | undefined;
    let ackEliciting = false;

    if (this.acks.hasRangesToReport() && (purpose !== 'copy' || this.acks.hasUnreported())) {
      const maxRanges =
        purpose === 'ack'
          ? this.config.maxAckRanges
          : Math.min(this.config.maxAckRanges, this.config.piggybackAckRanges);
      const ack = this.acks.buildAck(nowMs, maxRanges);
      if (ack && ack.ranges.length > 0) {
        const frame: Frame = { type: 'ack', ackDelayUs: ack.ackDelayUs, ranges: ack.ranges };
        frames.push(frame);
        room -= encodedFrameLength(frame);
        // Once this packet is acknowledged, the peer knows these ranges and they need not be repeated (R-ACK-4).
        largestAckedInPacket = ack.ranges[0]!.largest;
        ackRanges = ack.ranges;
      }
    }

    if (purpose === 'close' && this.closeFrame) {
      const frame: Frame = { type: 'close', code: this.closeFrame.code, reason: this.closeFrame.reason };
      frames.push(frame);
      records.push({ kind: 'close' });
    } else if (purpose !== 'ack') {
      room = this.addControlFrames(frames, records, room);
      room = this.addRetransmissions(nowMs, frames, records, room);
      room = this.addNewData(nowMs, frames, records, room);
      if (purpose === 'probe' && !records.some((r) => !('kind' in r) || r.kind !== 'close')) {
        room = this.addProbeData(nowMs, frames, records, room);
      }
      if (this.retransmitHead >= this.retransmitQueue.length && !this.anyNewDataReady()) {
        room = this.addRedundantCopies(nowMs, frames, records, room);
      }
      if (purpose === 'probe' && records.length === 0) {
        frames.push({ type: 'ping' });
        records.push({ kind: 'ping' });
      }
    }
    if (frames.length === 0) {
      // Never send an empty packet (R-WIRE-12); a PING keeps the packet meaningful.
      frames.push({ type: 'ping' });
      records.push({ kind: 'ping' });
    }
    for (const r of records) if (!('kind' in r) || r.kind !== 'close') ackEliciting = true;

    // Periodically make an ACK-only packet ack-eliciting so ACK ranges can be retired (R-ACK-7).
    if (!ackEliciting && purpose === 'ack' && this.nextPacketNumber % 16 === 0) {
      frames.push({ type: 'ping' });
      records.push({ kind: 'ping' });
      ackEliciting = true;
    }

    const last = frames[frames.length - 1];
    if (last && last.type === 'message') last.lengthPresent = false; // R-FRAME-14: the last may omit it
    let at = encodeHeader(header, this.buffer, 0);
    for (const frame of frames) at = encodeFrame(frame, this.buffer, at);
    const bytes = copyDatagram(this.buffer.subarray(0, at)); // a view into a shared slab, not a backing store each
    if (this.trace) this.traceSent(nowMs, header.packetNumber, at, frames, purpose);

    const appLimited = !this.hasDataToSend();
    const sent: SentPacket<SentRecord> = {
      packetNumber: header.packetNumber,
      timeSentMs: nowMs,
      sizeBytes: at,
      ackEliciting,
      inFlight: ackEliciting,
      appLimited,
      largestAckedInPacket,
      ackRangesInPacket: ackRanges,
      frames: records,
      declaredLost: false,
      lostByReorderDistance: 0,
    };
    if (ackEliciting) sent.delivery = this.delivery.onPacketSent(nowMs, this.loss.bytesInFlight, appLimited);
    this.loss.onPacketSent(sent);
    if (ackEliciting) {
      this.lastAckElicitingSentMs = nowMs;
      const rate = this.cc.pacingRateBytesPerSec(this.loss.rtt);
      this.pacer.onSend(nowMs, at, rate);
      this.cc.onPacketSent(nowMs, sent, this.loss.bytesInFlight);
    } else {
      this.stats.ackOnlyPackets++;
    }
    this.stats.packetsSent++;
    this.stats.bytesSent += at;
    return bytes;
  }

  private addControlFrames(frames: Frame[], records: SentRecord[], room: number): number {
    if (this.pingPending) {
      this.pingPending = false;
      frames.push({ type: 'ping' });
      records.push({ kind: 'ping' });
      room -= 1;
    }
    if (this.maxDataPending && room > 16) {
      this.maxDataPending = false;
      const frame: Frame = { type: 'max_data', maximumBytes: this.advertisedConnectionLimit };
      frames.push(frame);
      records.push({ kind: 'max_data' });
      room -= encodedFrameLength(frame);
    }
    for (const channel of this.partialChannels) {
      if (room < 24) break;
      if (!channel.forwardDue) continue;
      const frame: Frame = {
        type: 'expired',
        channelId: channel.channelId,
        forwardMessageId: channel.forwardPoint,
      };
      channel.advertisedForward = frame.forwardMessageId;
      frames.push(frame);
      records.push({
        kind: 'expired',
        channelId: channel.channelId,
        forwardMessageId: frame.forwardMessageId,
      });
      room -= encodedFrameLength(frame);
    }
    for (const channelId of this.maxChannelDataPending) {
      if (room < 24) break;
      const channel = this.receiveChannels.get(channelId);
      this.maxChannelDataPending.delete(channelId);
      if (!channel) continue;
      const frame: Frame = { type: 'max_channel_data', channelId, maximumBytes: channel.maxChannelData };
      frames.push(frame);
      records.push({ kind: 'max_channel_data', channelId });
      room -= encodedFrameLength(frame);
    }
    return room;
  }

  /** Appends a MESSAGE frame for `fragment` if it fits; returns the room left, or -1 if it did not fit. */
  private tryAddFragment(
    fragment: OutgoingFragment,
    frames: Frame[],
    records: SentRecord[],
    room: number,
  ): number {
    const message = fragment.message;
    const frame: MessageFrame = {
      type: 'message',
      channelId: message.channelId,
      messageId: message.messageId,
      offset: fragment.offset,
      totalLength: message.data.length,
      payload: fragment.payload(),
      lengthPresent: true,
    };
    const size = encodedFrameLength(frame);
    if (size > room) return -1;
    frames.push(frame);
    records.push(fragment);
    return room - size;
  }

  private noteSent(nowMs: number, fragment: OutgoingFragment): void {
    fragment.transmissions++;
    fragment.inFlightCopies++;
    fragment.lastSentMs = nowMs;
  }

  private addRetransmissions(nowMs: number, frames: Frame[], records: SentRecord[], room: number): number {
    const queue = this.retransmitQueue;
    while (this.retransmitHead < queue.length) {
      const fragment = queue[this.retransmitHead]!;
      if (fragment.acked || !this.canStillArrive(nowMs, fragment)) {
        fragment.queuedForRetransmit = false;
        this.retransmitHead++;
        if (!fragment.acked) this.abandonMessageOf(fragment);
        continue;
      }
      const left = this.tryAddFragment(fragment, frames, records, room);
      if (left < 0) break;
      room = left;
      fragment.queuedForRetransmit = false;
      this.retransmitHead++;
      this.noteSent(nowMs, fragment);
      this.stats.fragmentRetransmissions++;
      this.redundancy.onRetransmitted(fragment);
    }
    if (this.retransmitHead > 256 && this.retransmitHead * 2 > queue.length) {
      queue.splice(0, this.retransmitHead);
      this.retransmitHead = 0;
    }
    return room;
  }

  /**
   * A bulk sender (more queued than two congestion windows) spends its capacity on new data: no proactive copies
   * and single repairs, which only pay off for application-limited traffic (spec §6.5, §9.3).
   */
  private isBulkSending(): boolean {
    return this.sendBufferedBytes > 2 * this.cc.congestionWindowBytes;
  }

  private anyNewDataReady(): boolean {
    for (const channel of this.sendOrder) if (this.nextNewFragment(channel)) return true;
    return false;
  }

  private addNewData(nowMs: number, frames: Frame[], records: SentRecord[], room: number): number {
    const order = this.sendOrder;
    let idle = 0;
    while (order.length > 0 && idle < order.length && room > messageFrameOverheadBytes) {
      const channel = order[this.sendCursor % order.length]!;
      const fragment = this.nextNewFragment(channel);
      if (!fragment) {
        idle++;
        this.sendCursor = (this.sendCursor + 1) % order.length;
        continue;
      }
      if (fragment.message.expiresAtMs <= nowMs) {
        this.abandon(channel, fragment.message); // R-PR-2: never sent after its deadline
        continue;
      }
      const left = this.tryAddFragment(fragment, frames, records, room);
      if (left < 0) break;
      room = left;
      idle = 0;
      channel.onFirstSend(fragment);
      // A reliable message is charged in full when it starts (R-LIMIT-1): concurrent starts on many channels can
      // then never make the receiver buffer more than its window plus one message, so its hard cap never bites.
      if (!channel.partial && fragment.offset === 0)
        this.connectionSentPosition += fragment.message.data.length;
      this.noteSent(nowMs, fragment);
      // Unreliable fragments are never repaired (R-PR-3); deadline ones get the thin-stream timer, not copies,
      // unless the FEC layer repairs them (R-PR-8).
      if (channel.repairs && (!channel.partial || this.retransmits(channel.channelId))) {
        this.redundancy.onFirstSent(fragment);
      }
      // Small messages from one channel share a packet; a full fragment moves the cursor on (fairness).
      if (fragment.length >= this.fragmentBytes / 2) this.sendCursor = (this.sendCursor + 1) % order.length;
    }
    return room;
  }

  /** A probe carries the oldest unacknowledged data (RFC 9002 §6.2.4), as copies. */
  private addProbeData(nowMs: number, frames: Frame[], records: SentRecord[], room: number): number {
    for (const packet of this.loss.unacked()) {
      for (const record of packet.frames) {
        if ('kind' in record || record.acked || records.includes(record)) continue;
        if (!this.canStillArrive(nowMs, record)) continue;
        if (!this.resends(record)) continue; // R-PR-8: nor repaired by probes
        const left = this.tryAddFragment(record, frames, records, room);
        if (left < 0) return room;
        room = left;
        this.noteSent(nowMs, record);
        this.stats.fragmentRetransmissions++;
      }
      if (room < 64) break;
    }
    return room;
  }

  private addRedundantCopies(nowMs: number, frames: Frame[], records: SentRecord[], room: number): number {
    for (const fragment of this.redundancy.candidates(nowMs, this.loss.rtt.smoothedRttMs)) {
      if (records.includes(fragment) || !this.canStillArrive(nowMs, fragment)) continue;
      const left = this.tryAddFragment(fragment, frames, records, room);
      if (left < 0) continue;
      room = left;
      this.noteSent(nowMs, fragment);
      this.redundancy.onCopySent(fragment);
      this.stats.fragmentRetransmissions++;
      this.stats.redundantCopies++;
    }
    return room;
  }

  // ─── Trace (spec §15) ───────────────────────────────────────────────────────────────────────────────

  private traceSent(
    nowMs: number,
    packetNumber: number,
    length: number,
    frames: readonly Frame[],
    purpose: 'data' | 'ack' | 'probe' | 'close' | 'copy',
  ): void {
    const data: TracePacketData = {
      header: { packet_type: 'data', packet_number: packetNumber },
      raw: { length },
      frames: traceFrames(frames),
    };
    if (purpose === 'probe') data.trigger = 'pto_probe';
    else if (purpose === 'copy') data.trigger = 'redundant_copy';
    this.trace?.sink.event(nowMs, 'transport:packet_sent', data);
  }

  private traceDropped(nowMs: number, bytes: Uint8Array, trigger: 'invalid' | 'duplicate'): void {
    this.trace?.sink.event(nowMs, 'transport:packet_dropped', { raw: { length: bytes.length }, trigger });
  }

  private traceLost(nowMs: number, lost: readonly SentPacket<SentRecord>[], trace: ConnectionTracer): void {
    for (const packet of lost) {
      trace.sink.event(nowMs, 'recovery:packet_lost', {
        header: { packet_type: 'data', packet_number: packet.packetNumber },
        trigger: packet.lostByReorderDistance > 0 ? 'reordering_threshold' : 'time_threshold',
      });
    }
  }

  /** The recovery figures and congestion state after ACK or loss processing (only what changed is emitted). */
  private traceRecovery(nowMs: number, trace: ConnectionTracer): void {
    const r = this.loss.rtt;
    trace.metrics(nowMs, {
      minRttMs: r.minRttMs,
      smoothedRttMs: r.smoothedRttMs,
      latestRttMs: r.latestRttMs,
      rttVarMs: r.rttVarMs,
      congestionWindowBytes: this.cc.congestionWindowBytes,
      bytesInFlight: this.loss.bytesInFlight,
      pacingRateBytesPerSec: this.cc.pacingRateBytesPerSec(this.loss.rtt),
    });
    trace.congestionState(nowMs, congestionStateOf(this.cc));
  }

  // ─── Receiving ──────────────────────────────────────────────────────────────────────────────────────

  private onAckFrame(
    nowMs: number,
    ranges: readonly { smallest: number; largest: number }[],
    ackDelayMs: number,
  ): void {
    const first = ranges[0];
    if (!first || first.largest >= this.nextPacketNumber) {
      // R-ACK-6: acknowledging a packet never sent is a protocol violation.
      if (first) this.violation(nowMs, 'ack of unsent packet');
      return;
    }
    const outcome = this.loss.onAckReceived(nowMs, ranges, ackDelayMs);
    // The sent-packet records are themselves CcPackets: congestion control reads them, no copy per packet.
    const ackedInFlight: SentPacket<SentRecord>[] = [];
    for (const packet of outcome.acked) {
      if (packet.ackRangesInPacket) this.acks.onRangesSeen(packet.ackRangesInPacket);
      if (!packet.declaredLost && packet.inFlight) {
        ackedInFlight.push(packet);
      }
      for (const record of packet.frames) {
        if ('kind' in record) {
          if (record.kind === 'expired') this.onForwardAcked(record.channelId, record.forwardMessageId);
          continue;
        }
        if (!packet.declaredLost) record.inFlightCopies--;
        this.onFragmentAcked(record);
      }
      this.redundancy.onPacketAcked();
    }
    for (const packet of outcome.spurious) {
      this.stats.spuriousLosses++;
      if (this.trace) {
        this.trace.sink.event(nowMs, 'recovery:spurious_loss', {
          header: { packet_type: 'data', packet_number: packet.packetNumber },
        });
      }
      this.cc.onSpuriousLoss(nowMs, packet);
    }
    if (ackedInFlight.length > 0) {
      const sample = this.delivery.onAck(nowMs, ackedInFlight);
      // The estimator itself is the CcRtt (no copy): a controller reads it during the call.
      this.cc.onPacketsAcked(nowMs, ackedInFlight, this.loss.rtt, this.loss.bytesInFlight, sample);
    }
    this.onLost(nowMs, outcome.lost);
    if (this.trace) this.traceRecovery(nowMs, this.trace);
  }

  private onFragmentAcked(fragment: OutgoingFragment): void {
    if (fragment.acked) return;
    fragment.acked = true;
    const channel = this.sendChannels.get(fragment.message.channelId);
    const message = channel?.onFragmentAcked(fragment);
    if (!message) return;
    this.sendBufferedBytes -= message.data.length;
    this.events.push({ type: 'delivered', channelId: message.channelId, messageId: message.messageId });
    this.maybeWritable();
  }

  private maybeWritable(): void {
    if (this.writableWanted && this.sendBufferedBytes * 2 <= this.config.sendBufferBytes) {
      this.writableWanted = false;
      this.events.push({ type: 'writable' });
    }
  }

  // ─── Partial reliability (spec §12.1) ───────────────────────────────────────────────────────────────

  /**
   * A lost or overdue fragment (R-LOSS-1, R-LOSS-9): queued for retransmission, unless it is on a partially
   * reliable channel and can no longer arrive in time — then its message is abandoned (R-PR-3).
   */
  private repair(nowMs: number, fragment: OutgoingFragment): void {
    if (fragment.acked || fragment.queuedForRetransmit) return;
    if (!this.canStillArrive(nowMs, fragment)) this.abandonMessageOf(fragment);
    else if (this.resends(fragment)) this.queueRetransmit(fragment);
    // else R-PR-8: the FEC layer repairs it with extra parity, or its deadline abandons it
  }

  /** Whether a lost fragment is sent again: always on reliable channels, on deadline ones unless off (R-PR-8). */
  private resends(fragment: OutgoingFragment): boolean {
    return (
      fragment.message.expiresAtMs === Number.POSITIVE_INFINITY ||
      this.retransmits(fragment.message.channelId)
    );
  }

  /** Whether lost fragments of a partially reliable channel are sent again (R-PR-8). */
  private retransmits(channelId: number): boolean {
    return this.channelOptions.get(channelId)?.retransmit ?? this.config.deadlineRetransmit;
  }

  /**
   * Whether sending `fragment` again is worth it (R-PR-3): always on reliable channels; never on unreliable
   * ones; on deadline channels while now + the one-way delay estimate (smoothed RTT / 2) is before its deadline.
   */
  private canStillArrive(nowMs: number, fragment: OutgoingFragment): boolean {
    const message = fragment.message;
    if (channelModeOf(message.channelId) === ChannelMode.unreliable) return false;
    return nowMs + this.loss.rtt.smoothedRttMs / 2 < message.expiresAtMs; // always true on reliable channels (∞)
  }

  private abandonMessageOf(fragment: OutgoingFragment): void {
    const channel = this.sendChannels.get(fragment.message.channelId);
    if (channel) this.abandon(channel, fragment.message);
  }

  /** Gives up on a message of a partially reliable channel (R-PR-2) and tells the application. */
  private abandon(channel: SendChannel, message: OutgoingMessage): void {
    if (!channel.abandon(message)) return;
    this.sendBufferedBytes -= message.data.length;
    this.stats.messagesExpired++;
    this.events.push({ type: 'expired', channelId: message.channelId, messageId: message.messageId });
    this.maybeWritable();
  }

  /** R-PR-2: abandons every outstanding message whose deadline has passed (checked in id order per channel). */
  private expireMessages(nowMs: number): void {
    for (const channel of this.partialChannels) {
      for (const message of channel.expiredAt(nowMs)) this.abandon(channel, message);
    }
    if (this.state === 'closing') this.maybeFinishClosing(nowMs);
  }

  /** R-PR-6: the peer's forward point — stop waiting for the messages it abandoned. */
  private onExpiredFrame(nowMs: number, channelId: number, forwardMessageId: number): void {
    if (isReliableMode(channelModeOf(channelId))) {
      this.violation(nowMs, `channel ${channelId}: EXPIRED on a reliable channel`);
      return;
    }
    const channel = this.receiveChannel(nowMs, channelId);
    if (!channel) return;
    const count = channel.handleForward(forwardMessageId);
    if (count === 0) return;
    this.stats.messagesSkipped += count;
    this.events.push({ type: 'skipped', channelId, beforeMessageId: forwardMessageId, count });
  }

  private onForwardAcked(channelId: number, forwardMessageId: number): void {
    const channel = this.sendChannels.get(channelId);
    if (channel && forwardMessageId > channel.acknowledgedForward)
      channel.acknowledgedForward = forwardMessageId;
  }

  /** A lost EXPIRED frame is sent again, with the then-current forward point (R-PR-5). */
  private onForwardLost(channelId: number): void {
    const channel = this.sendChannels.get(channelId);
    if (channel && channel.acknowledgedForward < channel.advertisedForward) {
      channel.advertisedForward = channel.acknowledgedForward;
    }
  }

  /** Lost frames are retransmitted in new packets (R-LOSS-1); a fragment waits while another copy is in flight. */
  private onLost(nowMs: number, lost: SentPacket<SentRecord>[]): void {
    if (lost.length === 0) return;
    this.stats.lostPackets += lost.length;
    if (this.trace) this.traceLost(nowMs, lost, this.trace);
    const ccLost: SentPacket<SentRecord>[] = [];
    for (const packet of lost) {
      if (packet.inFlight) ccLost.push(packet);
      this.redundancy.onPacketLost();
      for (const record of packet.frames) {
        if ('kind' in record) {
          if (record.kind === 'max_data') this.maxDataPending = true;
          else if (record.kind === 'max_channel_data') this.maxChannelDataPending.add(record.channelId);
          else if (record.kind === 'expired') this.onForwardLost(record.channelId);
          continue;
        }
        record.inFlightCopies--;
        if (!record.acked && record.inFlightCopies <= 0 && !record.queuedForRetransmit)
          this.repair(nowMs, record);
      }
    }
    if (ccLost.length > 0) this.cc.onPacketsLost(nowMs, ccLost, this.loss.isPersistentCongestion(lost));
    if (this.trace) this.traceRecovery(nowMs, this.trace);
  }

  /**
   * Queues a lost fragment for retransmission (R-LOSS-1). A large fragment on a path lossy enough for redundancy
   * is queued twice, so the repair goes out in two packets (R-LOSS-8); a small one gets its copies from the
   * redundancy planner, riding in other packets.
   */
  private queueRetransmit(fragment: OutgoingFragment): void {
    fragment.queuedForRetransmit = true;
    this.retransmitQueue.push(fragment);
    // Deadline fragments follow the same rule: a small one (a 160-byte audio frame) retransmitted once is repaired
    // as often at 30% loss as one sent twice (media-30: 0.5–0.6% of audio frames lost either way) for 0.3 less
    // overhead — its thin-stream timer gives it a second chance.
    if (
      fragment.length > this.config.redundancySmallFragmentBytes &&
      fragment.length <= this.config.redundancyMaxFragmentBytes &&
      this.redundancy.targetExtraCopies() > 0 &&
      !this.isBulkSending()
    ) {
      this.retransmitQueue.push(fragment);
    }
  }

  /**
   * Hands a fragment to its channel. `dropped`: no window for it (the packet must not be acknowledged);
   * `new`: it added data; `old`: nothing new (a duplicate or redundant copy) or the connection is closing.
   */
  private onMessageFrame(nowMs: number, frame: MessageFrame): 'new' | 'old' | 'dropped' {
    const channel = this.receiveChannel(nowMs, frame.channelId);
    if (!channel) return 'old';
    // R-FLOW-6: the connection window bounds what all channels together buffer; only a channel's next message
    // is admitted beyond it, so progress is always possible.
    const id = frame.messageId;
    if (
      !channel.isAssembling(id) &&
      !channel.isDelivered(id) &&
      frame.totalLength <= this.config.maxMessageBytes
    ) {
      let buffered = 0;
      let pending = 0;
      for (const ch of this.receiveChannels.values()) {
        buffered += ch.bufferedBytes;
        pending += ch.pendingAssemblies + ch.readyMessages;
      }
      const head = id === channel.nextMessageId;
      if (!head && buffered >= this.config.connectionWindowBytes) return 'dropped';
      // R-LIMIT-1, R-LIMIT-2: hard caps whatever the declared lengths; a channel's next message passes the count
      // cap while the channel has nothing unread (progress), and waits for room under the byte cap.
      if (
        (buffered > 0 && buffered + frame.totalLength > this.config.maxReceiveBufferBytes) ||
        (pending >= this.config.maxPendingMessages && (!head || channel.readyMessages > 0))
      ) {
        this.stats.bufferLimitDrops++;
        return 'dropped';
      }
    }
    const outcome = channel.handleFragment(frame);
    if (outcome.status === 'rejected') {
      if (outcome.violation) {
        this.violation(nowMs, `channel ${frame.channelId}: ${outcome.reason}`);
        return 'old';
      }
      return 'dropped';
    }
    if (outcome.status === 'new' && channel.readyMessages > 0 && !this.readable.includes(frame.channelId)) {
      this.readable.push(frame.channelId);
      this.events.push({ type: 'readable', channelId: frame.channelId });
    }
    return outcome.status === 'new' ? 'new' : 'old';
  }

  private receiveChannel(nowMs: number, channelId: number): ReceiveChannel | undefined {
    let channel = this.receiveChannels.get(channelId);
    if (channel) return channel;
    const mode = channelModeOf(channelId);
    if (this.receiveChannels.size >= this.config.maxChannels) {
      this.violation(nowMs, 'too many channels', CloseCode.limitExceeded); // R-CHAN-5
      return undefined;
    }
    channel = new ReceiveChannel({
      channelId,
      ordered: mode === ChannelMode.reliableOrdered,
      // Deadline and unreliable channels deliver as soon as complete (R-PR-6), optionally sequenced (R-PR-7).
      sequenced: !isReliableMode(mode) && this.channelOptions.get(channelId)?.sequenced === true,
      maxMessageBytes: this.config.maxMessageBytes,
      windowBytes: this.config.channelWindowBytes,
      // Matches the sender's per-message credit rule (R-FLOW-2): a message may start below the limit.
      admission: 'message-start',
      maxPendingMessages: this.config.maxPendingMessagesPerChannel, // R-LIMIT-2
    });
    this.receiveChannels.set(channelId, channel);
    return channel;
  }

  private sendChannel(channelId: number): SendChannel {
    let channel = this.sendChannels.get(channelId);
    if (!channel) {
      channel = new SendChannel(channelId, this.config.channelWindowBytes);
      this.sendChannels.set(channelId, channel);
      this.sendOrder.push(channel);
      if (channel.partial) this.partialChannels.push(channel);
    }
    return channel;
  }

  // ─── Close ──────────────────────────────────────────────────────────────────────────────────────────

  /** Whether the connection is draining or closed (state may change inside frame handlers). */
  private isEnding(): boolean {
    return this.state === 'draining' || this.state === 'closed';
  }

  private violation(nowMs: number, reason: string, code: number = CloseCode.protocolViolation): void {
    if (this.state === 'draining' || this.state === 'closed') return;
    this.closeInitiator = 'protocol-violation';
    this.closeFrame = { code, reason };
    this.enterDraining(nowMs, true);
  }

  private onPeerClose(nowMs: number, code: number, reason: string): void {
    this.closeInitiator = 'peer';
    this.closeFrame = { code, reason };
    this.enterDraining(nowMs, false);
  }

  private maybeFinishClosing(nowMs: number): void {
    if (this.state !== 'closing') return;
    // Count messages, not bytes: an empty message must be confirmed too (R-CLOSE-2).
    for (const channel of this.sendChannels.values()) if (channel.unacked.size > 0) return;
    // R-CLOSE-2: nor leave a complete message undelivered behind a gap the peer is still filling — the peer
    // holds a delivery receipt for it.
    for (const channel of this.receiveChannels.values()) if (channel.holdsCompleteBehindGap) return;
    this.enterDraining(nowMs, true);
  }

  /** R-CLOSE-4: after CLOSE, linger for three PTOs answering the peer, then report closed. */
  private enterDraining(nowMs: number, sendClose: boolean): void {
    this.state = 'draining';
    this.closeSendPending = sendClose;
    this.drainUntilMs = nowMs + 3 * this.loss.ptoIntervalMs();
    this.probesPending = 0;
    if (!sendClose) this.finishClosed(); // the peer closed: nothing more to say
  }

  private finishClosed(): void {
    this.state = 'closed';
    if (this.closedEmitted) return;
    this.closedEmitted = true;
    this.events.push({
      type: 'closed',
      initiator: this.closeInitiator,
      code: this.closeFrame?.code ?? CloseCode.noError,
      reason: this.closeFrame?.reason ?? '',
      unconfirmed: this.unconfirmedMessages(),
    });
  }
}
