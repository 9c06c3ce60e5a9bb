import { type FecLossReport, fecLossReportScale } from './fec-header.ts';

/**
 * Receiver-side estimate of the loss on the incoming path (spec §11.4, R-FEC-7), from the packet numbers of the
 * DATA packets that arrive, before any FEC recovery: a jump over n numbers is a burst of n losses, a late arrival
 * below the highest number seen takes one loss back. Loss rate and mean burst length are plain averages over the
 * first 64 packet numbers and 16 bursts, then exponentially weighted (weight 1/64 per packet number, 1/16 per
 * burst), so the first reports are quick and later ones follow a path that changes.
 */
export class FecLossEstimator {
  #highest = -1;
  #lossRate = 0;
  #meanBurst = 1;
  #observed = 0;
  #lostTotal = 0;
  #bursts = 0;

  /** Records the arrival of DATA packet `packetNumber` (duplicates and late arrivals included). */
  onPacketNumber(packetNumber: number): void {
    if (this.#highest < 0) {
      this.#highest = packetNumber;
      return;
    }
    if (packetNumber <= this.#highest) {
      // A late (reordered) packet was counted lost when the jump was seen: take that back.
      this.#lossRate = Math.max(0, this.#lossRate - 1 / 64);
      return;
    }
    const lost = Math.min(packetNumber - this.#highest - 1, 1024);
    this.#highest = packetNumber;
    this.#observed += lost + 1;
    if (this.#observed <= 64) {
      // Warm-up: the plain average, so the first reports are already close to the path's loss.
      this.#lostTotal += lost;
      this.#lossRate = this.#lostTotal / this.#observed;
    } else {
      // Each spanned number is one sample: lost ones move the average towards 1, the arrival towards 0.
      const keepLost = (63 / 64) ** lost;
      this.#lossRate = (this.#lossRate * keepLost + 1 - keepLost) * (63 / 64);
    }
    if (lost > 0) {
      this.#bursts++;
      this.#meanBurst += (lost - this.#meanBurst) / Math.min(this.#bursts, 16);
    }
  }

  /** Estimated fraction of packets lost, 0..1. */
  get lossRate(): number {
    return this.#lossRate;
  }

  /** Estimated mean length of a run of losses, ≥ 1. */
  get meanBurst(): number {
    return this.#meanBurst;
  }

  /** The report for the next REPAIR packet, or undefined before 16 packet numbers have been seen. */
  report(): FecLossReport | undefined {
    if (this.#observed < 16) return undefined;
    return {
      lossPermyriad: Math.min(fecLossReportScale, Math.round(this.#lossRate * fecLossReportScale)),
      meanBurstTenths: Math.min(16_383, Math.max(10, Math.round(this.#meanBurst * 10))),
    };
  }
}
