import { EventEmitter } from 'node:events';
import { Duplex, type DuplexOptions } from 'node:stream';
import type { ReceivedMessage } from '../protocol/connection-events.ts';
import { FerryUsageError } from '../protocol/errors.ts';

/**
 * Reliability of a channel in the Node API (spec §7.1, §12.1): every message exactly once in order or as it
 * completes; `deadline`: retransmitted only while it can still arrive within its deadline; `unreliable`: never
 * retransmitted.
 */
export type FerryChannelMode = 'reliable-ordered' | 'reliable-unordered' | 'deadline' | 'unreliable';

/** Settles the two stages of one send: accepted by the core (or not), then confirmed by the peer (or not). */
export interface SendRequest {
  /** Channel the message goes on. */
  channel: FerryChannel;
  /** The payload; owned by the connection until confirmed. */
  data: Uint8Array;
  /** Core message id, once the core accepted it. */
  messageId?: number;
  /** The peer acknowledged every byte (R-CHAN-7). */
  resolve(): void;
  /** Never confirmed, or refused. */
  reject(error: Error): void;
  /** Called once: without an error when the core queued it, with one when it was refused before that. */
  onAccepted?(error?: Error): void;
}

/** What a channel needs from its connection (implemented by `FerryConnection`). */
export interface ChannelHost {
  /** Takes the next received message of `channelId` from the core (frees flow-control credit). */
  receive(channelId: number): ReceivedMessage | undefined;
  /** Queues a send, in order behind any send waiting for send-buffer space. */
  submit(request: SendRequest): void;
  /** Asks the endpoint for a drive pass soon. */
  requestDrive(): void;
}

/** Options of {@link FerryChannel.stream}. */
export interface ChannelStreamOptions {
  /** Bytes buffered on the readable side before the stream stops taking messages from the connection. */
  readableHighWaterMark?: number;
  /** Bytes buffered on the writable side (waiting for send-buffer space) before `write()` returns false. */
  writableHighWaterMark?: number;
}

const textEncoder = new TextEncoder();
const noop = (): void => {};

/**
 * One bidirectional message channel of a {@link FerryConnection}, named by its wire channel id (spec §7.1).
 *
 * Sending: `send(message)` resolves when the peer acknowledged the whole message (a delivery receipt) and
 * rejects with `FerryClosedError` if the connection ends first; sends wait, in order, while the connection's
 * send buffer is full. A returned promise nobody awaits never crashes the process (its rejection is marked
 * handled); the unconfirmed messages are also listed by the connection's `close()` and 'close' event.
 *
 * Receiving: messages are taken from the connection only as fast as a consumer wants them, so a slow reader
 * slows the sender through flow control (spec §8) rather than growing buffers. With 'message' listeners (and no
 * iterator or stream active) they flow as they arrive; an active `for await` loop or `stream()` pulls them.
 * Every message taken is emitted as 'message' (data: Uint8Array, messageId: number).
 */
export class FerryChannel extends EventEmitter implements AsyncIterable<Uint8Array> {
  /** Sends waiting for a delivery receipt, by core message id. @internal */
  readonly pending = new Map<number, SendRequest>();
  private readonly waiters: ((result: IteratorResult<Uint8Array>) => void)[] = [];
  private iterators = 0;
  private duplex: Duplex | undefined;
  private duplexWants = false;
  private ended = false;

  /** @internal Created by `FerryConnection.openChannel` or for a channel the peer opened. */
  constructor(
    private readonly host: ChannelHost,
    /** Wire channel id (R-CHAN-1): the same number on both sides. */
    readonly id: number,
    /** Reliability mode, encoded in the id. */
    readonly mode: FerryChannelMode,
  ) {
    super();
    this.on('newListener', (event) => {
      if (event === 'message') host.requestDrive();
    });
  }

  /**
   * Sends one message (a string is sent as UTF-8). Resolves when the peer acknowledged it; rejects with
   * `FerryUsageError` (too large, connection closing) or `FerryClosedError` (the connection ended unconfirmed).
   */
  send(message: Uint8Array | string): Promise<void> {
    const promise = this.enqueue(typeof message === 'string' ? textEncoder.encode(message) : message);
    promise.catch(noop);
    return promise;
  }

  /**
   * A byte-stream `Duplex` over this channel (reliable-ordered only): each write is sent as one message and its
   * callback runs once the connection has queued it (so the writable side backs up while the send buffer is
   * full); the readable side yields received payloads, taking messages only while below its high-water mark.
   * `end()` finishes once every written message is confirmed. The readable side ends when the connection closes
   * (v0 has no per-channel end of stream). Paused reads may coalesce payloads, as with any byte stream: use the
   * async iterator to keep message boundaries. One stream per channel: later calls return the same one.
   */
  stream(options: ChannelStreamOptions = {}): Duplex {
    if (this.mode !== 'reliable-ordered') {
      throw new FerryUsageError(
        'unsupported-channel-mode',
        `channel ${this.id}: stream() needs reliable-ordered`,
      );
    }
    if (this.duplex) return this.duplex;
    const outstanding = new Set<Promise<void>>();
    const duplexOptions: DuplexOptions = {
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
      read: () => {
        this.duplexWants = true;
        this.host.requestDrive();
      },
      write: (chunk: Buffer, _encoding, callback) => {
        const delivered = this.enqueue(chunk, (error) => callback(error ?? null));
        outstanding.add(delivered);
        delivered.then(
          () => outstanding.delete(delivered),
          () => outstanding.delete(delivered),
        );
      },
      final: (callback) => {
        Promise.all(outstanding).then(
          () => callback(),
          (error: Error) => callback(error),
        );
      },
      destroy: (error, callback) => {
        if (this.duplex === duplex) this.duplex = undefined;
        this.duplexWants = false;
        callback(error);
      },
    };
    const duplex = new Duplex(duplexOptions);
    this.duplex = duplex;
    if (this.ended) this.endDuplex();
    return duplex;
  }

  /**
   * Received messages in order of delivery. Breaking out of the loop stops taking messages; the loop ends when the
   * connection closes (after the messages already received).
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.iterators++;
    let finished = false;
    const finish = (): IteratorResult<Uint8Array> => {
      if (!finished) {
        finished = true;
        this.iterators--;
        this.host.requestDrive();
      }
      return { done: true, value: undefined };
    };
    return {
      next: () => {
        if (finished) return Promise.resolve({ done: true, value: undefined });
        if (this.waiters.length === 0) {
          const message = this.host.receive(this.id);
          if (message) {
            this.emit('message', message.data, message.messageId);
            this.host.requestDrive();
            return Promise.resolve({ done: false, value: message.data });
          }
          if (this.ended) return Promise.resolve(finish());
        }
        return new Promise((resolve) =>
          this.waiters.push((result) => resolve(result.done ? finish() : result)),
        );
      },
      return: () => Promise.resolve(finish()),
    };
  }

  /** Moves received messages to consumers while they want them. @internal */
  pump(): void {
    let took = false;
    while (this.hasDemand()) {
      const message = this.host.receive(this.id);
      if (!message) break;
      took = true;
      this.deliver(message);
    }
    if (took) this.host.requestDrive(); // reading frees credit: MAX_CHANNEL_DATA may be due (spec §8)
  }

  /** The connection closed: hand out what was received, then end iterators and the stream. @internal */
  onConnectionClosed(): void {
    this.pump();
    this.ended = true;
    if (this.duplex) this.endDuplex();
    while (this.waiters.length > 0) {
      const message = this.host.receive(this.id);
      if (message) this.deliver(message);
      else this.waiters.shift()?.({ done: true, value: undefined });
    }
  }

  private hasDemand(): boolean {
    if (this.waiters.length > 0) return true;
    if (this.duplex) return this.duplexWants;
    return this.iterators === 0 && this.listenerCount('message') > 0;
  }

  private deliver(message: ReceivedMessage): void {
    this.emit('message', message.data, message.messageId);
    this.waiters.shift()?.({ done: false, value: message.data });
    if (this.duplex && this.duplexWants) this.duplexWants = this.duplex.push(message.data);
  }

  /** Flushes every message still held for this channel into the stream (bounded by the receive window). */
  private endDuplex(): void {
    const duplex = this.duplex;
    if (!duplex) return;
    for (let m = this.host.receive(this.id); m; m = this.host.receive(this.id)) duplex.push(m.data);
    duplex.push(null);
  }

  private enqueue(data: Uint8Array, onAccepted?: (error?: Error) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.host.submit({ channel: this, data, resolve, reject, onAccepted });
    });
  }
}
