import { FecArgumentError } from './reed-solomon-errors.ts';

/** Most shards in one group: GF(2^8) has 256 evaluation points. */
export const RS_MAX_TOTAL_SHARDS = 256;

/**
 * Checks a shard count: an integer in 1..255 (the other kind needs at least one shard). Cheap checks only:
 * these run on every call (the wasm module panics on 0 and on totals over 256, anchors.md).
 */
export function checkCount(count: unknown, kind: 'data-count' | 'parity-count'): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count >= RS_MAX_TOTAL_SHARDS) {
    throw new FecArgumentError(
      kind,
      `expected an integer in 1..${RS_MAX_TOTAL_SHARDS - 1}, got ${describeValue(count)}`,
    );
  }
  return count;
}

/**
 * Names a rejected argument for an error message without ever throwing: `String(x)` throws for objects whose
 * `toString`/`Symbol.toPrimitive` throws or is missing (found by the argument-storm property).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}

/** Checks that `dataCount + parityCount` fits one GF(2^8) group. */
export function checkTotal(dataCount: number, parityCount: number): void {
  if (dataCount + parityCount > RS_MAX_TOTAL_SHARDS) {
    throw new FecArgumentError(
      'total-count',
      `${dataCount} data + ${parityCount} parity shards exceed ${RS_MAX_TOTAL_SHARDS}`,
    );
  }
}

/** Checks a list argument is an array before its length is trusted. */
export function checkArray<T>(list: unknown, what: string): readonly T[] {
  if (!Array.isArray(list)) throw new FecArgumentError('not-an-array', `${what} must be an array`);
  return list;
}

/**
 * Checks every entry of `shards` is a `Uint8Array` of one common length in 1..`maxShardBytes` and returns
 * that length. `label` names the list in error messages.
 */
export function checkUniformShards(
  shards: readonly unknown[],
  maxShardBytes: number,
  label: string,
  expectedBytes = -1,
): number {
  let shardBytes = expectedBytes;
  for (let i = 0; i < shards.length; i++) {
    const shard = shards[i];
    if (!(shard instanceof Uint8Array)) {
      throw new FecArgumentError('not-a-shard', `${label}[${i}] is not a Uint8Array`);
    }
    shardBytes = checkShardLength(shard, shardBytes, maxShardBytes, `${label}[${i}]`);
  }
  return shardBytes;
}

/**
 * Checks one shard against the group's length so far (`shardBytes`, or -1 before the first shard) and
 * returns the group's length.
 */
export function checkShardLength(
  shard: Uint8Array,
  shardBytes: number,
  maxShardBytes: number,
  name: string,
): number {
  const length = shard.length;
  if (length === shardBytes) return length;
  if (length < 1 || length > maxShardBytes) {
    throw new FecArgumentError('shard-size', `${name} has ${length} bytes; allowed 1..${maxShardBytes}`);
  }
  if (shardBytes !== -1) {
    throw new FecArgumentError('size-mismatch', `${name} has ${length} bytes, the group has ${shardBytes}`);
  }
  return length;
}
