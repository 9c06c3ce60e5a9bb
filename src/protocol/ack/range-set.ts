/** One inclusive range of integers, `start <= end`. */
export interface IntRange {
  /** The lowest integer in the range. */
  readonly start: number;
  /** The highest integer in the range (inclusive). */
  readonly end: number;
}

/** Below this many dead slots at the bottom, `removeBelow`/`limitRanges` never compact the arrays. */
const compactMinDeadSlots = 32;

function checkValue(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`RangeSet: ${name} must be a non-negative safe integer, got ${value}`);
  }
}

/**
 * A set of non-negative integers stored as sorted, disjoint, non-adjacent inclusive ranges (inserts merge).
 * Holds received packet numbers (ACK ranges), delivered message ids and received byte ranges of a message.
 *
 * Two parallel arrays hold the range bounds; live ranges are `[head, length)`, so dropping the lowest
 * ranges (`removeBelow`, `limitRanges`) is O(1) amortised (the dead prefix is compacted once it is at least
 * half the arrays). Appending at or next to the top — packet numbers arriving in order — is O(1) amortised;
 * lookups are O(log n); an insert into the middle is O(n) in the number of ranges.
 *
 * Values must be non-negative safe integers; anything else is local misuse and throws a `RangeError`.
 */
export class RangeSet {
  private starts: number[] = [];
  private ends: number[] = [];
  /** Index of the lowest live range in `starts`/`ends`. */
  private head = 0;
  private integerCount = 0;

  /** Number of ranges. */
  get size(): number {
    return this.starts.length - this.head;
  }

  /** Number of integers in the set. */
  get count(): number {
    return this.integerCount;
  }

  /** Adds `value`; returns whether it was new. O(1) amortised when `value` is at or above the top. */
  add(value: number): boolean {
    checkValue(value, 'value');
    const last = this.starts.length - 1;
    if (last < this.head) {
      this.starts.push(value);
      this.ends.push(value);
      this.integerCount = 1;
      return true;
    }
    const top = this.ends[last]!;
    if (value === top + 1) {
      this.ends[last] = value;
      this.integerCount++;
      return true;
    }
    if (value > top) {
      this.starts.push(value);
      this.ends.push(value);
      this.integerCount++;
      return true;
    }
    return this.insert(value, value);
  }

  /** Adds every integer in `[start, endInclusive]`; returns whether any of them was new. */
  addRange(start: number, endInclusive: number): boolean {
    checkValue(start, 'start');
    checkValue(endInclusive, 'endInclusive');
    if (endInclusive < start) {
      throw new RangeError(`RangeSet: empty range [${start}, ${endInclusive}]`);
    }
    return this.insert(start, endInclusive);
  }

  /** Whether `value` is in the set. O(log n). */
  has(value: number): boolean {
    if (!Number.isInteger(value)) return false;
    const i = this.firstEndingAtOrAbove(value);
    return i < this.starts.length && this.starts[i]! <= value;
  }

  /** Drops every integer below `value`; returns how many were dropped. */
  removeBelow(value: number): number {
    checkValue(value, 'value');
    const i = this.firstEndingAtOrAbove(value);
    let dropped = this.countIn(this.head, i);
    this.head = i;
    if (i < this.starts.length && this.starts[i]! < value) {
      dropped += value - this.starts[i]!;
      this.starts[i] = value;
    }
    this.integerCount -= dropped;
    this.compactIfSparse();
    return dropped;
  }

  /** Drops the lowest ranges so that at most `maxRanges` remain; returns how many integers were dropped. */
  limitRanges(maxRanges: number): number {
    const excess = this.size - Math.max(0, Math.floor(maxRanges));
    if (excess <= 0) return 0;
    const dropped = this.countIn(this.head, this.head + excess);
    this.head += excess;
    this.integerCount -= dropped;
    this.compactIfSparse();
    return dropped;
  }

  /** The smallest integer in the set, or undefined when empty. */
  min(): number | undefined {
    return this.head < this.starts.length ? this.starts[this.head] : undefined;
  }

  /** The largest integer in the set, or undefined when empty. */
  max(): number | undefined {
    return this.head < this.ends.length ? this.ends[this.ends.length - 1] : undefined;
  }

  /**
   * The largest `v` such that every integer in `[min(), v]` is in the set (the end of the lowest range), or
   * undefined when empty. With `min() === 0` it answers "bytes 0..v all received".
   */
  coveredUpTo(): number | undefined {
    return this.head < this.ends.length ? this.ends[this.head] : undefined;
  }

  /** The smallest integer `>= value` that is NOT in the set. */
  firstGapFrom(value: number): number {
    checkValue(value, 'value');
    const i = this.firstEndingAtOrAbove(value);
    if (i < this.starts.length && this.starts[i]! <= value) return this.ends[i]! + 1;
    return value;
  }

  /**
   * Calls `visit(gapStart, gapEnd)` for each maximal run of integers in `[start, endInclusive]` that is NOT in
   * the set, lowest first (e.g. the bytes of a fragment not yet held).
   */
  forEachGap(start: number, endInclusive: number, visit: (gapStart: number, gapEnd: number) => void): void {
    let i = this.firstEndingAtOrAbove(start);
    let pos = start;
    const n = this.starts.length;
    while (pos <= endInclusive) {
      if (i < n && this.starts[i]! <= pos) {
        pos = this.ends[i]! + 1;
        i++;
        continue;
      }
      const gapEnd = i < n ? Math.min(endInclusive, this.starts[i]! - 1) : endInclusive;
      visit(pos, gapEnd);
      pos = gapEnd + 1;
    }
  }

  /** The ranges, highest first (the order ACK frames encode them). */
  *rangesDescending(): IterableIterator<IntRange> {
    for (let i = this.starts.length - 1; i >= this.head; i--) {
      yield { start: this.starts[i]!, end: this.ends[i]! };
    }
  }

  /** Lowest integer of the `k`-th range from the top (0 = the highest range), for `k < size`; no object made. */
  startFromTop(k: number): number {
    return this.starts[this.starts.length - 1 - k]!;
  }

  /** Highest integer of the `k`-th range from the top (0 = the highest range), for `k < size`. */
  endFromTop(k: number): number {
    return this.ends[this.ends.length - 1 - k]!;
  }

  /** The ranges, lowest first. */
  *rangesAscending(): IterableIterator<IntRange> {
    for (let i = this.head; i < this.starts.length; i++) {
      yield { start: this.starts[i]!, end: this.ends[i]! };
    }
  }

  /** Removes everything. */
  clear(): void {
    this.starts = [];
    this.ends = [];
    this.head = 0;
    this.integerCount = 0;
  }

  /** Index of the first live range whose end is `>= value` (`length` when none). Binary search. */
  private firstEndingAtOrAbove(value: number): number {
    let lo = this.head;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of integers in ranges `[from, to)`. */
  private countIn(from: number, to: number): number {
    let total = 0;
    for (let k = from; k < to; k++) total += this.ends[k]! - this.starts[k]! + 1;
    return total;
  }

  /** Inserts `[start, end]`, merging with overlapping or adjacent ranges. */
  private insert(start: number, end: number): boolean {
    const n = this.starts.length;
    // First range that overlaps or touches [start, end] from the left.
    const i = this.firstEndingAtOrAbove(start === 0 ? 0 : start - 1);
    if (i === n || this.starts[i]! > end + 1) {
      if (i === this.head && this.head > 0) {
        this.head--;
        this.starts[this.head] = start;
        this.ends[this.head] = end;
      } else {
        this.starts.splice(i, 0, start);
        this.ends.splice(i, 0, end);
      }
      this.integerCount += end - start + 1;
      return true;
    }
    // Last range that overlaps or touches [start, end] from the right.
    let j = i;
    while (j + 1 < n && this.starts[j + 1]! <= end + 1) j++;
    const mergedStart = Math.min(start, this.starts[i]!);
    const mergedEnd = Math.max(end, this.ends[j]!);
    const added = mergedEnd - mergedStart + 1 - this.countIn(i, j + 1);
    if (added === 0) return false;
    this.starts[i] = mergedStart;
    this.ends[i] = mergedEnd;
    if (j > i) {
      this.starts.splice(i + 1, j - i);
      this.ends.splice(i + 1, j - i);
    }
    this.integerCount += added;
    return true;
  }

  private compactIfSparse(): void {
    if (this.head === this.starts.length) {
      this.starts.length = 0;
      this.ends.length = 0;
      this.head = 0;
    } else if (this.head >= compactMinDeadSlots && this.head * 2 >= this.starts.length) {
      this.starts.splice(0, this.head);
      this.ends.splice(0, this.head);
      this.head = 0;
    }
  }
}
