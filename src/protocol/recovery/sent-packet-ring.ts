/**
 * Tracked sent packets indexed by packet number (spec §6): a growable ring whose slot for packet number `pn` is
 * `(head + pn - firstPn) & mask`. Packet numbers are consecutive (R-LOSS-1: each packet takes the next one), so
 * the ring is dense and an ACK range touches only the slots it covers: lookup, insert and removal are O(1), and
 * removing the oldest entries advances the head past empty slots (amortised O(1)).
 *
 * Memory is one slot per packet number between the oldest tracked packet and the newest one; an empty ring
 * restarts at the next packet pushed, so an idle gap in packet numbers costs nothing.
 */
export class SentPacketRing<P extends { packetNumber: number }> {
  private slots: (P | undefined)[] = new Array<P | undefined>(16).fill(undefined);
  private mask = 15;
  /** Slot index of `firstPn`. */
  private head = 0;
  /** Packet number of the oldest slot still held (the oldest tracked packet when not empty). */
  private firstPn = 0;
  /** One past the newest packet number pushed. */
  private endPn = 0;
  /** Packets held. */
  private held = 0;

  /** Number of packets held. */
  get size(): number {
    return this.held;
  }

  /** Packet number of the oldest packet held (meaningless when empty). */
  get oldestPacketNumber(): number {
    return this.firstPn;
  }

  /** One past the newest packet number pushed. */
  get endPacketNumber(): number {
    return this.endPn;
  }

  /** Adds `packet`; its packet number must be at least every one pushed before (else it is ignored). */
  push(packet: P): void {
    const pn = packet.packetNumber;
    if (this.held === 0) {
      this.firstPn = pn;
      this.endPn = pn;
      this.head = 0;
    } else if (pn < this.endPn) {
      return;
    }
    const offset = pn - this.firstPn;
    if (offset > this.mask) this.grow(offset + 1);
    // Skipped packet numbers leave empty slots (cleared on removal, so they hold nothing stale).
    this.slots[(this.head + offset) & this.mask] = packet;
    this.endPn = pn + 1;
    this.held++;
  }

  /** The packet with number `pn`, if held. */
  get(pn: number): P | undefined {
    if (pn < this.firstPn || pn >= this.endPn) return undefined;
    return this.slots[(this.head + pn - this.firstPn) & this.mask];
  }

  /** Removes the packet with number `pn` if held; the head moves past any empty slots it leaves at the front. */
  remove(pn: number): void {
    if (pn < this.firstPn || pn >= this.endPn) return;
    const index = (this.head + pn - this.firstPn) & this.mask;
    if (this.slots[index] === undefined) return;
    this.slots[index] = undefined;
    this.held--;
    if (this.held === 0) {
      this.firstPn = this.endPn;
      this.head = 0;
      return;
    }
    if (pn !== this.firstPn) return;
    while (this.slots[this.head] === undefined) {
      this.head = (this.head + 1) & this.mask;
      this.firstPn++;
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.slots = new Array<P | undefined>(16).fill(undefined);
    this.mask = 15;
    this.head = 0;
    this.firstPn = this.endPn;
    this.held = 0;
  }

  /** Doubles the capacity until `span` slots fit, keeping every packet at its packet number. */
  private grow(span: number): void {
    let capacity = this.slots.length * 2;
    while (capacity < span) capacity *= 2;
    const slots = new Array<P | undefined>(capacity).fill(undefined);
    const used = this.endPn - this.firstPn;
    for (let i = 0; i < used; i++) slots[i] = this.slots[(this.head + i) & this.mask];
    this.slots = slots;
    this.mask = capacity - 1;
    this.head = 0;
  }
}
