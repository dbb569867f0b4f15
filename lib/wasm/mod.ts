/**
 * Kernels for tfjs's wasm backend written as WebAssembly in TypeScript: a SIMD batched matmul
 * (`simd_matmul.ts`) over a minimal module writer (`wasm_module.ts`). `initBackend("wasm")`
 * registers them.
 *
 * @module
 */
export * from "./wasm_module.ts";
export * from "./simd_matmul.ts";
export * from "./simd_math.ts";
export * from "./simd_divergence.ts";
export * from "./shared_identity.ts";
