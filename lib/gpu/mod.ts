/**
 * WebGPU-specific code: fused WGSL kernels registered with tfjs, and what keeps the webgpu
 * backend's hot paths on the device. `initBackend("webgpu")` registers them.
 *
 * @example The fused divergence kernels run on webgpu by themselves
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../backend.ts";
 * import { DIVERGENCE_GRAD_KERNEL, DIVERGENCE_ROWS_KERNEL } from "../gpu/mod.ts";
 * import { forwardKL } from "../losses/mod.ts";
 *
 * // A real GPU, or a software adapter such as Mesa's llvmpipe (what CI uses).
 * await initBackend("webgpu", { log: false });
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
export * from "./env.ts";
export * from "./fused_divergence.ts";
export * from "./fused_adamw.ts";
export * from "./finite_gate.ts";
export * from "./fused_gelu.ts";
export * from "./fused_layer_norm.ts";
export * from "./sum_of_squares.ts";
export * from "./device_gradients.ts";
export * from "./kernel_patches.ts";
export * from "./tiled_matmul.ts";
export * from "./webgpu_kernel.ts";
