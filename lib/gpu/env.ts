/**
 * Switches of the WebGPU fast paths; `KD_FUSED` and `KD_MATMUL` in the environment set their defaults,
 * read once at import.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The variable's value, or undefined when unset or when the process may not read the environment. */
export function envFlag(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: defaults apply
  }
}

let fused = envFlag("KD_FUSED") !== "0";

/**
 * Turns the fused kernels (WGSL: divergences, AdamW, GELU, layer norm, sum of squares; wasm SIMD:
 * divergences) on or off
 * (default on; `KD_FUSED=0` in the environment turns them off), e.g. to benchmark the composite
 * path on the same device. Returns the previous setting.
 */
export function setFusedKernels(on: boolean): boolean {
  const before = fused;
  fused = on;
  return before;
}

/** True unless the fused kernels were switched off (`KD_FUSED=0`, `setFusedKernels(false)`). */
export function fusedKernelsEnabled(): boolean {
  return fused;
}

/** True when the active backend is webgpu and the fused kernels are switched on. */
export function fusedKernelsAvailable(): boolean {
  return fused && tf.getBackend() === "webgpu";
}
