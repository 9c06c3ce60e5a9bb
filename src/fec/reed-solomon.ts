import { FecArgumentError, FecCodecError } from './reed-solomon-errors.ts';
import {
  checkArray,
  checkCount,
  checkShardLength,
  checkTotal,
  checkUniformShards,
  RS_MAX_TOTAL_SHARDS,
} from './reed-solomon-validate.ts';
import { RsWasmInstance } from './reed-solomon-wasm.ts';

/** Default and hard upper bound on one shard, bytes: a group's region is at most 256 × 64 KiB = 16 MiB. */
export const RS_MAX_SHARD_BYTES = 65_536;

/** Default memory cap of one wasm instance, bytes, past which it is replaced by a fresh one. */
export const RS_DEFAULT_MEMORY_CAP_BYTES = 64 * 1024 * 1024;

/** Tuning of a `ReedSolomonCodec`. */
export interface ReedSolomonOptions {
  /**
   * Replace the wasm instance once its linear memory exceeds this many bytes. The module's allocator
   * leaks with large groups (822 MiB after 20k groups of 64+32, anchors.md); a fresh instance costs
   * ~0.1–0.4 ms. Default `RS_DEFAULT_MEMORY_CAP_BYTES`; any positive number (tiny caps recycle often).
   */
  memoryCapBytes?: number;
  /** Longest shard accepted, bytes, in 1..`RS_MAX_SHARD_BYTES` (the default). */
  maxShardBytes?: number;
  /** Creates wasm instances; a seam for fault-injection tests. Default: `new RsWasmInstance()`. */
  createInstance?: () => RsWasmInstance;
}

/** Counters of one codec since it was created. */
export interface ReedSolomonStats {
  /** Wasm instances created (the first one included). */
  instancesCreated: number;
  /** Instances replaced because their memory passed `memoryCapBytes`. */
  recycledForMemory: number;
  /** Instances replaced after an unexpected trap, error code or failed grow (`FecCodecError`). */
  recycledAfterError: number;
  /** Successful encodes (including parity restored by `reconstruct`). */
  encodes: number;
  /** Successful reconstructions, fast paths with nothing to rebuild included. */
  reconstructs: number;
  /** Reconstructions refused as unrecoverable. */
  unrecoverable: number;
  /** Linear memory of the live wasm instance, bytes (0 when none); at most the cap between calls. */
  memoryBytes: number;
}

/** Options of one `reconstruct` call. */
export interface ReconstructOptions {
  /** Also rebuild missing parity shards (by re-encoding) and return them in `parity`. */
  restoreParity?: boolean;
}

/** A successful reconstruction. */
export interface ReconstructSuccess {
  ok: true;
  /** All `dataCount` data shards: the caller's arrays where present, new arrays where rebuilt. */
  data: Uint8Array[];
  /** All parity shards, only with `restoreParity` (caller's arrays where present, new ones otherwise). */
  parity?: Uint8Array[];
  /** Indices (into the group) of the shards that were rebuilt, ascending. */
  rebuilt: number[];
}

/** A group that cannot be reconstructed: fewer than `dataCount` shards arrived. */
export interface ReconstructFailure {
  ok: false;
  /** Always `'unrecoverable'`: more shards are missing than there are parity shards. */
  reason: 'unrecoverable';
  /** Shards present in the call. */
  presentCount: number;
  /** Shards needed: the group's data count. */
  neededCount: number;
}

/** Outcome of `ReedSolomonCodec.reconstruct`: the data, or a typed refusal (never garbage). */
export type ReconstructResult = ReconstructSuccess | ReconstructFailure;

/**
 * Systematic Reed-Solomon erasure codec over GF(2^8), wrapping the wasm build of the Rust crate
 * `reed-solomon-erasure`. A group has k data and m parity shards of equal length (k, m ≥ 1, k + m ≤ 256);
 * any k of them rebuild the data. Every argument is validated in TypeScript (`FecArgumentError`) so none
 * can reach a wasm panic; shards are copied into pages the wrapper owns; the instance is replaced past a
 * memory cap and after any unexpected failure (`FecCodecError`). Synchronous and allocation-light:
 * `encodeInto` allocates nothing once the scratch region is large enough.
 */
export class ReedSolomonCodec {
  readonly #memoryCapBytes: number;
  readonly #maxShardBytes: number;
  readonly #createInstance: () => RsWasmInstance;
  #instance: RsWasmInstance | undefined;
  readonly #stats: Omit<ReedSolomonStats, 'memoryBytes'> = {
    instancesCreated: 0,
    recycledForMemory: 0,
    recycledAfterError: 0,
    encodes: 0,
    reconstructs: 0,
    unrecoverable: 0,
  };

  /** Creates a codec; the wasm instance is created on first use. */
  constructor(options: ReedSolomonOptions = {}) {
    const { memoryCapBytes = RS_DEFAULT_MEMORY_CAP_BYTES, maxShardBytes = RS_MAX_SHARD_BYTES } = options;
    if (typeof memoryCapBytes !== 'number' || !(memoryCapBytes > 0)) {
      throw new FecArgumentError('option', `memoryCapBytes must be a positive number`);
    }
    if (!Number.isInteger(maxShardBytes) || maxShardBytes < 1 || maxShardBytes > RS_MAX_SHARD_BYTES) {
      throw new FecArgumentError('option', `maxShardBytes must be an integer in 1..${RS_MAX_SHARD_BYTES}`);
    }
    this.#memoryCapBytes = memoryCapBytes;
    this.#maxShardBytes = maxShardBytes;
    this.#createInstance = options.createInstance ?? (() => new RsWasmInstance());
  }

  /** A snapshot of the counters. */
  get stats(): ReedSolomonStats {
    return { ...this.#stats, memoryBytes: this.#instance?.memoryBytes ?? 0 };
  }

  /** Longest shard this codec accepts, bytes. */
  get maxShardBytes(): number {
    return this.#maxShardBytes;
  }

  /** Encodes `dataShards` (all the same length) and returns `parityCount` new parity shards. */
  encode(dataShards: readonly Uint8Array[], parityCount: number): Uint8Array[] {
    const data = checkArray<Uint8Array>(dataShards, 'dataShards');
    const dataCount = checkCount(data.length, 'data-count');
    checkCount(parityCount, 'parity-count');
    checkTotal(dataCount, parityCount);
    const shardBytes = checkUniformShards(data, this.#maxShardBytes, 'dataShards');
    const offset = this.#encodeInWasm(data, dataCount, parityCount, shardBytes);
    const memory = this.#instance!.bytes();
    const parity: Uint8Array[] = [];
    for (let j = 0; j < parityCount; j++) {
      const start = offset + (dataCount + j) * shardBytes;
      parity.push(memory.slice(start, start + shardBytes));
    }
    this.#afterCall();
    return parity;
  }

  /**
   * Encodes `dataShards` into the caller's `parityShards` (one per parity shard, each as long as the data
   * shards). Allocates nothing once the scratch region is large enough.
   */
  encodeInto(dataShards: readonly Uint8Array[], parityShards: readonly Uint8Array[]): void {
    const data = checkArray<Uint8Array>(dataShards, 'dataShards');
    const parity = checkArray<Uint8Array>(parityShards, 'parityShards');
    const dataCount = checkCount(data.length, 'data-count');
    const parityCount = checkCount(parity.length, 'parity-count');
    checkTotal(dataCount, parityCount);
    const shardBytes = checkUniformShards(data, this.#maxShardBytes, 'dataShards');
    checkUniformShards(parity, this.#maxShardBytes, 'parityShards', shardBytes);
    const offset = this.#encodeInWasm(data, dataCount, parityCount, shardBytes);
    const memory = this.#instance!.bytes();
    for (let j = 0; j < parityCount; j++) {
      const start = offset + (dataCount + j) * shardBytes;
      parity[j]!.set(memory.subarray(start, start + shardBytes));
    }
    this.#afterCall();
  }

  /**
   * Rebuilds a group from any `dataCount` of its shards. `shards` lists the whole group in order (data
   * then parity, so its length is k + m); missing shards are `undefined`. With fewer than `dataCount`
   * present the result is `{ ok: false, reason: 'unrecoverable' }`. The wasm codec restores data only;
   * `restoreParity` re-encodes to rebuild missing parity too.
   */
  reconstruct(
    shards: readonly (Uint8Array | undefined)[],
    dataCount: number,
    options?: ReconstructOptions,
  ): ReconstructResult {
    const group = checkArray<Uint8Array | undefined>(shards, 'shards');
    checkCount(dataCount, 'data-count');
    if (group.length > RS_MAX_TOTAL_SHARDS) checkTotal(dataCount, group.length - dataCount);
    const parityCount = checkCount(group.length - dataCount, 'parity-count');
    const restoreParity = options?.restoreParity === true;

    let shardBytes = -1;
    let presentCount = 0;
    let missingData = 0;
    let missingParity = 0;
    for (let i = 0; i < group.length; i++) {
      const shard = group[i];
      if (shard === undefined) {
        if (i < dataCount) missingData++;
        else missingParity++;
        continue;
      }
      if (!(shard instanceof Uint8Array)) {
        throw new FecArgumentError('not-a-shard', `shards[${i}] is neither a Uint8Array nor undefined`);
      }
      shardBytes = checkShardLength(shard, shardBytes, this.#maxShardBytes, `shards[${i}]`);
      presentCount++;
    }
    if (presentCount < dataCount) {
      this.#stats.unrecoverable++;
      return { ok: false, reason: 'unrecoverable', presentCount, neededCount: dataCount };
    }
    const rebuildParity = restoreParity && missingParity > 0;
    if (missingData === 0 && !rebuildParity) {
      this.#stats.reconstructs++;
      const data = group.slice(0, dataCount) as Uint8Array[];
      if (!restoreParity) return { ok: true, data, rebuilt: [] };
      return { ok: true, data, parity: group.slice(dataCount) as Uint8Array[], rebuilt: [] };
    }
    const offset = this.#reconstructInWasm(
      group,
      dataCount,
      parityCount,
      shardBytes,
      missingData,
      rebuildParity,
    );
    const memory = this.#instance!.bytes();
    const rebuilt: number[] = [];
    const data: Uint8Array[] = [];
    for (let i = 0; i < dataCount; i++) {
      const shard = group[i];
      if (shard !== undefined) {
        data.push(shard);
        continue;
      }
      const start = offset + i * shardBytes;
      data.push(memory.slice(start, start + shardBytes));
      rebuilt.push(i);
    }
    this.#stats.reconstructs++;
    if (!restoreParity) {
      this.#afterCall();
      return { ok: true, data, rebuilt };
    }
    const parity: Uint8Array[] = [];
    for (let i = dataCount; i < group.length; i++) {
      const shard = group[i];
      if (shard !== undefined) {
        parity.push(shard);
        continue;
      }
      const start = offset + i * shardBytes;
      parity.push(memory.slice(start, start + shardBytes));
      rebuilt.push(i);
    }
    this.#afterCall();
    return { ok: true, data, parity, rebuilt };
  }

  /** Copies the data shards into wasm memory and encodes; returns the region offset. */
  #encodeInWasm(
    data: readonly Uint8Array[],
    dataCount: number,
    parityCount: number,
    shardBytes: number,
  ): number {
    const instance = this.#current();
    const offset = this.#region(instance, (dataCount + parityCount) * shardBytes);
    const memory = instance.bytes();
    for (let i = 0; i < dataCount; i++) memory.set(data[i]!, offset + i * shardBytes);
    this.#call(instance, 'encode', offset, shardBytes, dataCount, parityCount, 0);
    this.#stats.encodes++;
    return offset;
  }

  /**
   * Copies the first `dataCount` present shards into wasm memory and marks only those available: the
   * crate decodes from exactly those, so copying the rest is wasted work (present data shards always come
   * first). Rebuilds the missing data shards, then, if parity must be restored, re-encodes in place.
   * Returns the region offset.
   */
  #reconstructInWasm(
    group: readonly (Uint8Array | undefined)[],
    dataCount: number,
    parityCount: number,
    shardBytes: number,
    missingData: number,
    rebuildParity: boolean,
  ): number {
    const instance = this.#current();
    const total = dataCount + parityCount;
    const offset = this.#region(instance, total * shardBytes + total);
    const availableAt = offset + total * shardBytes;
    const memory = instance.bytes();
    let copied = 0;
    for (let i = 0; i < total; i++) {
      const shard = group[i];
      const use = shard !== undefined && copied < dataCount;
      memory[availableAt + i] = use ? 1 : 0;
      if (use) {
        memory.set(shard, offset + i * shardBytes);
        copied++;
      }
    }
    if (missingData > 0) {
      this.#call(instance, 'reconstruct', offset, shardBytes, dataCount, parityCount, availableAt);
    }
    if (rebuildParity) {
      // All k data shards are now in the region: re-encode there to restore the parity (anchors.md).
      this.#call(instance, 'encode', offset, shardBytes, dataCount, parityCount, 0);
      this.#stats.encodes++;
    }
    return offset;
  }

  /** The live instance, created on demand. */
  #current(): RsWasmInstance {
    if (this.#instance === undefined) {
      this.#instance = this.#createInstance();
      this.#stats.instancesCreated++;
    }
    return this.#instance;
  }

  /** A scratch region of `byteLength` bytes; a failed grow discards the instance (`FecCodecError`). */
  #region(instance: RsWasmInstance, byteLength: number): number {
    try {
      return instance.region(byteLength);
    } catch (error) {
      this.#discardAfterError();
      throw new FecCodecError('memory', `cannot grow wasm memory by ${byteLength} bytes`, error);
    }
  }

  /** One raw wasm call; a trap or non-zero status discards the instance and throws `FecCodecError`. */
  #call(
    instance: RsWasmInstance,
    op: 'encode' | 'reconstruct',
    offset: number,
    shardBytes: number,
    dataCount: number,
    parityCount: number,
    availableAt: number,
  ): void {
    let status: number;
    try {
      status =
        op === 'encode'
          ? instance.encode(offset, shardBytes, dataCount, parityCount)
          : instance.reconstruct(offset, shardBytes, dataCount, parityCount, availableAt);
    } catch (error) {
      this.#discardAfterError();
      throw new FecCodecError('trap', `${op}(${dataCount}+${parityCount}, ${shardBytes} B) trapped`, error);
    }
    if (status !== 0) {
      this.#discardAfterError();
      throw new FecCodecError(
        'status',
        `${op}(${dataCount}+${parityCount}, ${shardBytes} B) returned ${status}`,
      );
    }
  }

  /** Drops an instance whose state can no longer be trusted. */
  #discardAfterError(): void {
    this.#instance = undefined;
    this.#stats.recycledAfterError++;
  }

  /** Bounds the leaking allocator: replace the instance once its memory passes the cap. */
  #afterCall(): void {
    if (this.#instance !== undefined && this.#instance.memoryBytes > this.#memoryCapBytes) {
      this.#instance = undefined;
      this.#stats.recycledForMemory++;
    }
  }
}
