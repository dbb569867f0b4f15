/**
 * Kernels for tfjs's wasm backend written as WebAssembly in TypeScript, over a minimal module
 * writer (`wasm_module.ts`) and vector math (`simd_math.ts`): a SIMD batched matmul
 * (`simd_matmul.ts`), the fused divergences (`simd_divergence.ts`), and a buffer-sharing
 * `Identity` (`shared_identity.ts`); `tfjs_heap.ts` reaches the backend's memory.
 * `initBackend("wasm")` registers them.
 *
 * @module
 */
export * from "./wasm_module.ts";
export * from "./simd_matmul.ts";
export * from "./simd_math.ts";
export * from "./simd_divergence.ts";
export * from "./shared_identity.ts";
export * from "./tfjs_heap.ts";
