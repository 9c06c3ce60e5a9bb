/** Anything the queue can order: a due time and a tie-breaking insertion number. */
export interface QueueItem {
  /** Due time (ms). */
  at: number;
  /** Insertion order; set by the queue. */
  seq: number;
}

/**
 * A binary min-heap ordered by (at, seq), for the simulator's events and the endpoint's connection deadlines.
 * `seq` is the insertion order, so items due at the same instant come out first-in first-out — the tie-break
 * that makes a seeded run reproducible.
 */
export class EventQueue<T extends QueueItem> {
  private readonly heap: T[] = [];
  private nextSeq = 0;

  /** Number of queued items. */
  get size(): number {
    return this.heap.length;
  }

  /** The earliest item, without removing it. */
  peek(): T | undefined {
    return this.heap[0];
  }

  /** Adds an item, stamping its `seq`. */
  push(item: T): void {
    item.seq = this.nextSeq++;
    const heap = this.heap;
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.at < item.at || (parent.at === item.at && parent.seq < item.seq)) break;
      heap[i] = parent;
      i = parentIndex;
    }
    heap[i] = item;
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const left = heap[child]!;
      const right = heap[child + 1];
      let best = left;
      if (right !== undefined && (right.at < left.at || (right.at === left.at && right.seq < left.seq))) {
        best = right;
        child++;
      }
      if (last.at < best.at || (last.at === best.at && last.seq < best.seq)) break;
      heap[i] = best;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
