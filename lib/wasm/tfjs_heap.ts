/**
 * What kdlab's WebAssembly kernels need from tfjs's wasm backend: its memory, where a tensor's
 * data lies in it, outputs allocated there, and one instance of a kernel module per memory.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** The minimal view of tfjs-backend-wasm's `BackendWasm` the kernels use. */
export interface WasmBackendLike {
  /** The emscripten module: its memory. */
  wasm: { asm?: { memory?: unknown } };
  /** Tensor data by data id: each tensor's offset in the heap. */
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  /** Allocates an output tensor in the heap. */
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  /** Frees a tensor's data. */
  disposeData(dataId: object): void;
}

/** The backend's `WebAssembly.Memory`, or undefined when it is not reachable. */
export function backendMemory(backend: WasmBackendLike): WebAssembly.Memory | undefined {
  const memory = backend.wasm.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/** Byte offset of a tensor's data in the backend's memory. */
export function heapOffset(backend: WasmBackendLike, x: tf.TensorInfo): number {
  return backend.dataIdMap.get(x.dataId).memoryOffset;
}

const instances = new WeakMap<
  WebAssembly.Memory,
  WeakMap<WebAssembly.Module, WebAssembly.Exports>
>();

/** The exports of `module` instantiated over `memory` (imported as `env.memory`), one per pair. */
export function instanceExports(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): WebAssembly.Exports {
  let byModule = instances.get(memory);
  if (!byModule) instances.set(memory, byModule = new WeakMap());
  let exports = byModule.get(module);
  if (!exports) {
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    byModule.set(module, exports);
  }
  return exports;
}
