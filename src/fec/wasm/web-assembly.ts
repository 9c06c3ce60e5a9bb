/**
 * The slice of the WebAssembly JS API the codec uses. The project compiles without the DOM lib and
 * `@types/node` does not declare the `WebAssembly` global, so it is typed here once, over `globalThis`.
 */

/** A compiled WebAssembly module (opaque). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

/** A WebAssembly linear memory. */
export interface WasmMemory {
  /** The current backing buffer; replaced (and the old one detached) on every successful grow. */
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` 64 KiB pages, returning the previous size in pages; throws `RangeError` if it cannot. */
  grow(pages: number): number;
}

/** An instantiated module. */
export interface WasmInstance {
  /** The module's exports by name. */
  readonly exports: Record<string, unknown>;
}

/** Constructors of the global `WebAssembly` namespace used here. */
export interface WasmApi {
  /** Synchronous compilation (fine for a module of ~100 KB). */
  Module: new (
    bytes: Uint8Array,
  ) => WasmModule;
  /** Synchronous instantiation. */
  Instance: new (
    module: WasmModule,
    imports: Record<string, unknown>,
  ) => WasmInstance;
  /** The memory class, for `instanceof` checks. */
  Memory: abstract new (
    ...args: never[]
  ) => WasmMemory;
  /** The error a trap (e.g. a Rust panic compiled to `unreachable`) throws. */
  RuntimeError: abstract new (
    ...args: never[]
  ) => Error;
}

/** The global `WebAssembly` namespace, typed. */
export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
