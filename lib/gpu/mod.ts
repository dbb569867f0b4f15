/**
 * WebGPU-specific code: fused WGSL kernels registered with tfjs, and what keeps the webgpu
 * backend's hot paths on the device.
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
