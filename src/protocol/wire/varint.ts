import { WireEncodeError } from './errors.ts';

/** The largest value Ferry's varints carry: 2^53−1, the largest integer a JS `number` holds exactly (R-WIRE-3). */
export const varintMax = Number.MAX_SAFE_INTEGER;

/** Largest value of a 1-, 2- and 4-byte varint (RFC 9000 §16). */
export const varint1Max = 63;
/** Largest value of a 2-byte varint. */
export const varint2Max = 16_383;
/** Largest value of a 4-byte varint. */
export const varint4Max = 1_073_741_823;

/**
 * Number of bytes of the shortest varint encoding of `value` (R-WIRE-1, R-WIRE-2).
 * Throws {@link WireEncodeError} if `value` is not an integer in [0, 2^53−1].
 */
export function varintLength(value: number): 1 | 2 | 4 | 8 {
  if (value <= varint1Max && value >= 0) {
    if (Number.isInteger(value)) return 1;
  } else if (value <= varint2Max && value >= 0) {
    if (Number.isInteger(value)) return 2;
  } else if (value <= varint4Max && value >= 0) {
    if (Number.isInteger(value)) return 4;
  } else if (value <= varintMax && value >= 0) {
    if (Number.isInteger(value)) return 8;
  }
  throw new WireEncodeError('value-out-of-range', `varint value ${value} is not an integer in [0, 2^53-1]`);
}
