import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import type {
  TraceEventMap,
  TraceEventName,
  TraceSink,
  TraceSinks,
  TraceVantage,
} from '../../protocol/trace.ts';
import { defaultSpoolFlushChars, EventSpool } from './event-spool.ts';

/** The qlog schema version of the files written (draft-ietf-quic-qlog-main-schema, JSON "contained" form). */
export const qlogVersion = '0.3';

/** What the file says about the run, written in its header (spec §15.1). */
export interface QlogFileInfo {
  /** e.g. `ferry bench im-30`. */
  title: string;
  /** e.g. the command line. */
  description?: string;
  /** Free-form facts about the run: scenario, seed, parameters (qlog `summary`). */
  summary?: Record<string, unknown>;
}

/** Options of a {@link QlogTraceWriter}. */
export interface QlogTraceWriterOptions {
  /** Characters each vantage point buffers before writing (default 64 Ki). */
  flushChars?: number;
}

const vantages: readonly TraceVantage[] = ['client', 'server'];

/** Event time as written: ms rounded to the microsecond (the simulator's times are exact, spec §15.2). */
function traceTime(nowMs: number): number {
  return Math.round(nowMs * 1000) / 1000;
}

/**
 * Writes the trace of one simulated run as a qlog file (spec §15): one trace per endpoint (vantage points
 * `client` and `server`), each with its events in the order they happened. Events stream to one spool file per
 * vantage point next to `path` while the run goes on; `finish` assembles the final JSON file from them, so memory
 * stays bounded however long the run (R-TRACE-5). Synchronous file I/O: it belongs to the CLI, not the core.
 */
export class QlogTraceWriter {
  /** The sinks to hand to the run's endpoints. */
  readonly sinks: TraceSinks;
  private readonly spools: Record<TraceVantage, EventSpool>;
  private done = false;

  /** Opens the spools of `path` (the final file is written by `finish`). */
  constructor(
    readonly path: string,
    options: QlogTraceWriterOptions = {},
  ) {
    const flushChars = options.flushChars ?? defaultSpoolFlushChars;
    const client = new EventSpool(`${path}.client.part`, flushChars);
    let server: EventSpool;
    try {
      server = new EventSpool(`${path}.server.part`, flushChars);
    } catch (err) {
      client.remove();
      throw err;
    }
    this.spools = { client, server };
    this.sinks = { client: this.sinkFor(client), server: this.sinkFor(server) };
  }

  private sinkFor(spool: EventSpool): TraceSink {
    return {
      event<N extends TraceEventName>(nowMs: number, name: N, data: TraceEventMap[N]): void {
        spool.append(JSON.stringify({ time: traceTime(nowMs), name, data }));
      },
    };
  }

  /** Events recorded so far, both vantage points. */
  get eventCount(): number {
    return this.spools.client.count + this.spools.server.count;
  }

  /** Characters held in memory across both vantage points (bounded by twice `flushChars`). */
  get bufferedChars(): number {
    return this.spools.client.bufferedChars + this.spools.server.bufferedChars;
  }

  /** Writes the final file (header, the client's trace, the server's trace) and deletes the spools. */
  finish(info: QlogFileInfo): void {
    if (this.done) throw new Error('trace already finished');
    this.done = true;
    const fd = openSync(this.path, 'w');
    try {
      const header = {
        qlog_version: qlogVersion,
        qlog_format: 'JSON',
        title: info.title,
        ...(info.description === undefined ? {} : { description: info.description }),
        ...(info.summary === undefined ? {} : { summary: info.summary }),
      };
      writeSync(fd, `${JSON.stringify(header).slice(0, -1)},"traces":[`);
      vantages.forEach((vantage, i) => {
        const trace = {
          title: `${info.title} (${vantage})`,
          vantage_point: { name: `ferry ${vantage}`, type: vantage },
          common_fields: { protocol_type: ['FERRY'], time_format: 'relative', reference_time: 0 },
        };
        writeSync(fd, `${i === 0 ? '\n' : ',\n'}${JSON.stringify(trace).slice(0, -1)},"events":[\n`);
        this.spools[vantage].copyInto(fd);
        writeSync(fd, '\n]}');
      });
      writeSync(fd, '\n]}\n');
    } catch (err) {
      closeSync(fd);
      rmSync(this.path, { force: true }); // never leave a truncated file behind
      throw err;
    } finally {
      this.removeSpools();
    }
    closeSync(fd);
  }

  /** Deletes the spools without writing the file (a failed run). */
  abort(): void {
    this.done = true;
    this.removeSpools();
  }

  private removeSpools(): void {
    for (const vantage of vantages) this.spools[vantage].remove();
  }
}
