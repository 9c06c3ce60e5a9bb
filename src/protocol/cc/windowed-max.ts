/**
 * Maximum of the samples seen over the last `windowLength` rounds (Kathleen Nichols' windowed filter as used by
 * BBR, simplified: one best value per round, kept in a small ring).
 */
export class WindowedMax {
  private readonly values: number[];
  private readonly rounds: number[];

  constructor(private readonly windowLength: number) {
    this.values = new Array<number>(windowLength).fill(0);
    this.rounds = new Array<number>(windowLength).fill(Number.NEGATIVE_INFINITY);
  }

  /** Offers `value` observed in round `round`. */
  update(value: number, round: number): void {
    const slot = round % this.windowLength;
    if (this.rounds[slot] !== round) {
      this.rounds[slot] = round;
      this.values[slot] = value;
    } else if (value > this.values[slot]!) {
      this.values[slot] = value;
    }
  }

  /** The best value over rounds (`round` − windowLength, `round`]. */
  best(round: number): number {
    let best = 0;
    for (let i = 0; i < this.windowLength; i++) {
      if (round - this.rounds[i]! < this.windowLength && this.values[i]! > best) best = this.values[i]!;
    }
    return best;
  }

  /** Forgets every sample. */
  reset(): void {
    this.rounds.fill(Number.NEGATIVE_INFINITY);
    this.values.fill(0);
  }
}
