import { seqDiff32 } from '../protocol/wire/seq.ts';

/** Something kept in sequence order. */
export interface Sequenced {
  /** 32-bit serial number (R-WIRE-4). */
  readonly sequence: number;
}

/**
 * Entries kept sorted by sequence number through {@link seqDiff32} (spec §2.4, R-WIRE-4). The caller keeps all
 * entries within 2^30 of each other, so the wraparound-safe order is a total order among them. In-order
 * arrivals append in O(1); a reordered one is placed by binary search; the oldest leaves in O(1) amortised.
 */
export class FrameQueue<T extends Sequenced> {
  private items: T[] = [];
  private head = 0;

  /** Entries held. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** The entry with the earliest sequence, if any. */
  get first(): T | undefined {
    return this.items[this.head];
  }

  /** The entry with the latest sequence, if any. */
  get last(): T | undefined {
    return this.size > 0 ? this.items[this.items.length - 1] : undefined;
  }

  /** The entry with this sequence, if held. */
  get(sequence: number): T | undefined {
    const i = this.lowerBound(sequence);
    const item = this.items[i];
    return item !== undefined && item.sequence === sequence ? item : undefined;
  }

  /** Inserts `item`, or replaces the entry with the same sequence. */
  set(item: T): void {
    const last = this.last;
    if (last === undefined || seqDiff32(item.sequence, last.sequence) > 0) {
      this.items.push(item);
      return;
    }
    const i = this.lowerBound(item.sequence);
    if (this.items[i]?.sequence === item.sequence) this.items[i] = item;
    else this.items.splice(i, 0, item);
  }

  /** Removes and returns the entry with the earliest sequence. */
  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 32 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /** Index of the first entry whose sequence is not before `sequence`. */
  private lowerBound(sequence: number): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqDiff32(this.items[mid]!.sequence, sequence) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
