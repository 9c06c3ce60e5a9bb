import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type WasmMemory, type WasmModule, wasmApi } from './wasm/web-assembly.ts';

/** Bytes in one WebAssembly memory page. */
export const WASM_PAGE_BYTES = 65_536;

/** The two entry points of `reed-solomon-erasure` 0.1.0 (see its `.d.ts`); both return 0 on success. */
interface RsExports {
  memory: WasmMemory;
  encode(shardsPtr: number, shardBytes: number, dataCount: number, parityCount: number): number;
  reconstruct(
    shardsPtr: number,
    shardBytes: number,
    dataCount: number,
    parityCount: number,
    availablePtr: number,
  ): number;
}

let compiledModule: WasmModule | undefined;

/**
 * The `reed-solomon-erasure` wasm module, compiled once per process on first use. The package's own JS
 * glue instantiates at import time; loading the bytes here keeps instantiation under our control.
 */
export function reedSolomonWasmModule(): WasmModule {
  if (compiledModule === undefined) {
    const path = createRequire(import.meta.url).resolve('reed-solomon-erasure/reed_solomon_erasure_bg.wasm');
    compiledModule = new wasmApi.Module(new Uint8Array(readFileSync(path)));
  }
  return compiledModule;
}

/**
 * One instance of the wasm codec plus a scratch region for shards. The module exports no allocator, so the
 * region lives in pages this class grows itself: `memory.grow` hands out fresh pages above everything the
 * module's own allocator owns, and that allocator never returns them (anchors.md). Raw calls: no
 * validation here — `ReedSolomonCodec` validates first, since bad arguments panic inside wasm.
 */
export class RsWasmInstance {
  readonly #exports: RsExports;
  #view: Uint8Array;
  #regionOffset = 0;
  #regionBytes = 0;

  /** Instantiates `module` (default: the shared compiled module); the module needs no imports. */
  constructor(module: WasmModule = reedSolomonWasmModule()) {
    const exports = new wasmApi.Instance(module, {}).exports;
    const { memory, encode, reconstruct } = exports;
    if (
      !(memory instanceof wasmApi.Memory) ||
      typeof encode !== 'function' ||
      typeof reconstruct !== 'function'
    ) {
      throw new TypeError('reed-solomon-erasure wasm: unexpected exports');
    }
    this.#exports = exports as unknown as RsExports;
    this.#view = new Uint8Array(memory.buffer);
  }

  /** Total size of the instance's linear memory, bytes. */
  get memoryBytes(): number {
    return this.#exports.memory.buffer.byteLength;
  }

  /**
   * Offset of a scratch region of at least `byteLength` bytes, growing memory when the current region is
   * too small (the old region is abandoned; the memory cap bounds the waste). Throws `RangeError` if the
   * memory cannot grow.
   */
  region(byteLength: number): number {
    if (byteLength > this.#regionBytes) {
      const pages = Math.ceil(byteLength / WASM_PAGE_BYTES);
      this.#regionOffset = this.#exports.memory.grow(pages) * WASM_PAGE_BYTES;
      this.#regionBytes = pages * WASM_PAGE_BYTES;
    }
    return this.#regionOffset;
  }

  /** A byte view of the whole memory, re-created only when a grow replaced the buffer. */
  bytes(): Uint8Array {
    const buffer = this.#exports.memory.buffer;
    if (this.#view.buffer !== buffer) this.#view = new Uint8Array(buffer);
    return this.#view;
  }

  /** Raw `encode`: fills the parity shards that follow `dataCount` data shards at `shardsPtr`. */
  encode(shardsPtr: number, shardBytes: number, dataCount: number, parityCount: number): number {
    return this.#exports.encode(shardsPtr, shardBytes, dataCount, parityCount);
  }

  /** Raw `reconstruct`: rebuilds the data shards whose byte at `availablePtr + i` is not 1. */
  reconstruct(
    shardsPtr: number,
    shardBytes: number,
    dataCount: number,
    parityCount: number,
    availablePtr: number,
  ): number {
    return this.#exports.reconstruct(shardsPtr, shardBytes, dataCount, parityCount, availablePtr);
  }
}
