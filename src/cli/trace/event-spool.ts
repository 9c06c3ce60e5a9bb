import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

/** Characters buffered before a write to the spool file (bounds the memory of a trace of any length). */
export const defaultSpoolFlushChars = 64 * 1024;

/**
 * An append-only spool of one trace's serialised events in a temporary file: lines are buffered up to
 * `flushChars` characters, then written, so a trace of any length holds a bounded amount of memory (R-TRACE-5).
 * `copyInto` streams the spool into the final file in fixed-size chunks.
 */
export class EventSpool {
  private fd: number | undefined;
  private chunks: string[] = [];
  private buffered = 0;
  /** Events appended so far. */
  count = 0;

  /** Creates (or truncates) the spool file at `path`. */
  constructor(
    readonly path: string,
    private readonly flushChars = defaultSpoolFlushChars,
  ) {
    this.fd = openSync(path, 'w+');
  }

  /** Characters held in memory, not yet written. */
  get bufferedChars(): number {
    return this.buffered;
  }

  /** Appends one serialised event; the spool's text is the events separated by `,\n`. */
  append(json: string): void {
    const text = this.count === 0 ? json : `,\n${json}`;
    this.count++;
    this.chunks.push(text);
    this.buffered += text.length;
    if (this.buffered >= this.flushChars) this.flush();
  }

  /** Writes what is buffered to the file. */
  flush(): void {
    if (this.chunks.length === 0 || this.fd === undefined) return;
    writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.buffered = 0;
  }

  /** Flushes, then copies the whole spool into the open file `target`, 1 MiB at a time. */
  copyInto(target: number): void {
    this.flush();
    if (this.fd === undefined) return;
    const chunk = new Uint8Array(1024 * 1024);
    let position = 0;
    for (;;) {
      const read = readSync(this.fd, chunk, 0, chunk.length, position);
      if (read === 0) break;
      writeSync(target, chunk, 0, read);
      position += read;
    }
  }

  /** Closes and deletes the spool file. */
  remove(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.chunks = [];
    this.buffered = 0;
    rmSync(this.path, { force: true });
  }
}
