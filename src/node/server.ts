import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Connection } from '../protocol/connection.ts';
import { FerryConnection } from './connection.ts';
import type { UdpEndpoint, UdpEndpointStats } from './udp-endpoint.ts';

/** Options of {@link FerryServer.close}. */
export interface ServerCloseOptions {
  /** Close every connection gracefully (default) or immediately. */
  graceful?: boolean;
}

/**
 * A listening endpoint (from `listen`): every connection a client opens is emitted as 'connection'
 * (connection: FerryConnection) and yielded by `for await (const connection of server)`. Other events:
 * 'socketError' (error: Error) — counted, never fatal; 'close' once `close()` finished.
 */
export class FerryServer extends EventEmitter implements AsyncIterable<FerryConnection> {
  private readonly live = new Set<FerryConnection>();
  private readonly queues = new Set<{ items: FerryConnection[]; wake?: () => void }>();
  private closing: Promise<void> | undefined;
  private ended = false;

  /** @internal Created by `listen`. */
  constructor(private readonly endpoint: UdpEndpoint) {
    super();
    endpoint.on('connection', (core: Connection, remote: string) => this.accept(core, remote));
    endpoint.on('socketError', (error: Error) => this.emit('socketError', error));
  }

  /** The bound address of the socket. */
  address(): AddressInfo {
    return this.endpoint.address();
  }

  /** Open connections. */
  get connections(): ReadonlySet<FerryConnection> {
    return this.live;
  }

  /** Datagram, socket and routing counters of the endpoint. */
  stats(): UdpEndpointStats {
    return this.endpoint.stats();
  }

  /**
   * Stops accepting connections, closes every open one (gracefully by default, see `FerryConnection.close`),
   * then releases the socket (only if `listen` created it). Resolves when all is done.
   */
  close(options: ServerCloseOptions = {}): Promise<void> {
    this.closing ??= (async () => {
      this.endpoint.stopAccepting();
      await Promise.all([...this.live].map((c) => c.close({ graceful: options.graceful })));
      await this.endpoint.close();
      this.ended = true;
      for (const queue of this.queues) queue.wake?.();
      this.emit('close');
    })();
    return this.closing;
  }

  /** Connections as they arrive, until the server closes. */
  [Symbol.asyncIterator](): AsyncIterator<FerryConnection> {
    const queue: { items: FerryConnection[]; wake?: () => void } = { items: [] };
    this.queues.add(queue);
    const done = (): IteratorResult<FerryConnection> => {
      this.queues.delete(queue);
      return { done: true, value: undefined };
    };
    return {
      next: async () => {
        for (;;) {
          const item = queue.items.shift();
          if (item) return { done: false, value: item };
          if (this.ended || !this.queues.has(queue)) return done();
          await new Promise<void>((resolve) => {
            queue.wake = resolve;
          });
          queue.wake = undefined;
        }
      },
      return: async () => done(),
    };
  }

  private accept(core: Connection, remote: string): void {
    const connection = new FerryConnection(this.endpoint, core, remote, false);
    this.live.add(connection);
    connection.once('close', () => this.live.delete(connection));
    for (const queue of this.queues) {
      // Bounded: a connection that closed before anyone took it is not worth keeping.
      if (queue.items.length >= 1024) queue.items = queue.items.filter((c) => !c.closed);
      queue.items.push(connection);
      queue.wake?.();
    }
    this.emit('connection', connection);
  }
}
