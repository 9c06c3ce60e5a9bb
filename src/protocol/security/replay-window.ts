/** Packet numbers remembered below the largest one received (R-CRYPTO-5). */
export const replayWindowBits = 2048;

/**
 * A sliding window over received packet numbers (RFC 4303 §3.4.3 style): the largest number accepted so far and
 * a bitmap of the `replayWindowBits` numbers below it. `check` runs before decryption, so a duplicate or a number
 * too old to judge costs no AEAD work; `accept` runs only after the packet authenticated (a forged packet must
 * not advance the window). Memory is fixed: 256 bytes.
 */
export class ReplayWindow {
  /** Largest packet number accepted, -1 before the first. */
  private largest = -1;
  private readonly bits = new Uint32Array(replayWindowBits / 32);

  /** Whether `packetNumber` is new: above the largest, or inside the window and not yet seen (R-CRYPTO-5). */
  check(packetNumber: number): boolean {
    if (packetNumber > this.largest) return true;
    const age = this.largest - packetNumber;
    if (age >= replayWindowBits) return false;
    const slot = packetNumber % replayWindowBits;
    return (this.bits[slot >>> 5]! & (1 << (slot & 31))) === 0;
  }

  /** Records an authenticated `packetNumber` (call only after {@link check} returned true). */
  accept(packetNumber: number): void {
    if (packetNumber > this.largest) {
      const advance = packetNumber - this.largest;
      if (advance >= replayWindowBits || this.largest < 0) this.bits.fill(0);
      else for (let pn = this.largest + 1; pn < packetNumber; pn++) this.clear(pn % replayWindowBits);
      this.largest = packetNumber;
    }
    const slot = packetNumber % replayWindowBits;
    this.bits[slot >>> 5]! |= 1 << (slot & 31);
  }

  /** Largest packet number accepted, -1 before the first. */
  get largestAccepted(): number {
    return this.largest;
  }

  private clear(slot: number): void {
    this.bits[slot >>> 5]! &= ~(1 << (slot & 31));
  }
}
