/**
 * Kernels for tfjs's wasm backend written as WebAssembly in TypeScript, over a minimal module
 * writer (`wasm_module.ts`) and vector math (`simd_math.ts`): a SIMD batched matmul
 * (`simd_matmul.ts`), the fused divergences (`simd_divergence.ts`), and a buffer-sharing
 * `Identity` (`shared_identity.ts`); `tfjs_heap.ts` reaches the backend's memory.
 * `initBackend("wasm")` registers them.
 *
 * @example The fused divergence kernels run on wasm by themselves
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../backend.ts";
 * import { DIVERGENCE_GRAD_KERNEL, DIVERGENCE_ROWS_KERNEL } from "../gpu/mod.ts";
 * import { forwardKL } from "../losses/mod.ts";
 *
 * await initBackend("wasm", { log: false });
 * const teacher = tf.tensor2d([[0, Math.log(3)]]); // p = (1/4, 3/4)
 * const student = tf.tensor2d([[0, 0]]); // q = (1/2, 1/2)
 * let gradient: Float32Array | undefined;
 * const profile = await tf.profile(async () => {
 *   const g = tf.grad((s: tf.Tensor) => forwardKL(teacher, s))(student);
 *   gradient = await g.data() as Float32Array; // async: dataSync cannot work on webgpu under Deno
 * });
 * // ∂KL(p‖q)/∂z_S = q − p, computed by one fused kernel forward and one backward.
 * assert.ok(Math.abs(gradient![0] - 0.25) < 1e-6 && Math.abs(gradient![1] + 0.25) < 1e-6);
 * assert.ok(profile.kernelNames.includes(DIVERGENCE_ROWS_KERNEL));
 * assert.ok(profile.kernelNames.includes(DIVERGENCE_GRAD_KERNEL));
 * ```
 *
 * @module
 */
export * from "./wasm_module.ts";
export * from "./simd_matmul.ts";
export * from "./simd_math.ts";
export * from "./simd_divergence.ts";
export * from "./shared_identity.ts";
export * from "./tfjs_heap.ts";
