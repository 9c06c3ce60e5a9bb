/**
 * Wraparound-safe arithmetic on 32-bit serial numbers (spec §2.3, R-WIRE-4; RFC 1982 serial number arithmetic,
 * in the signed-difference form of KCP's `_itimediff`). Any value that wraps at 2^32 (sequence numbers,
 * 32-bit timestamps) is compared only through these helpers (design.md rule 7).
 */

/**
 * The signed distance `a − b` between two 32-bit serial numbers, in [−2^31, 2^31): positive when `a` is after
 * `b`. Inputs are integers taken modulo 2^32. Exactly half the space apart (2^31) counts as "before".
 */
export function seqDiff32(a: number, b: number): number {
  return (a - b) | 0;
}

/** Whether serial number `a` comes before `b` (RFC 1982 §3.2), via {@link seqDiff32}. */
export function seqLessThan32(a: number, b: number): boolean {
  return seqDiff32(a, b) < 0;
}

/** `a + n` modulo 2^32 (RFC 1982 §3.1), as an unsigned integer in [0, 2^32). */
export function seqAdd32(a: number, n: number): number {
  return (a + n) >>> 0;
}
