/**
 * A device-side "was this step finite" flag, for training loops that read back only every few
 * steps (every readback costs ≥ 10 ms under Deno's WebGPU): `finiteGate(values, previous)` is a
 * float32 [1] that is `previous` (1 when absent) if every element of `values` is finite, else 0.
 * Fed to the fused AdamW update as its gate, it skips the update of a step whose loss or gradient
 * norm is NaN or ±Inf, and, chained from step to step, of every later step until the host reads
 * it: the weights stay as they were before the first bad step, as when the loop reads every step
 * (the role of the found-inf flag in mixed-precision loss scaling, e.g. `torch.cuda.amp`).
 *
 * The test is on the exponent bits (shader compilers may assume floats are finite).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ElementwiseProgram, registerWebGPUKernel, requireWebGPU } from "./webgpu_kernel.ts";

const KERNEL = "KdlabFiniteGate";
let registered = false;

/**
 * float32 [1]: `previous` (or 1) when every element of `values` (any shape, float32) is finite,
 * else 0. On the webgpu backend; nothing is read back.
 *
 * @throws Error when the backend is not webgpu, `values` is empty or not float32, or `previous`
 * is not float32 [1].
 */
export function finiteGate(values: tf.Tensor, previous?: tf.Tensor): tf.Tensor {
  requireWebGPU("finiteGate");
  if (values.dtype !== "float32" || values.size === 0) {
    throw new Error(
      `finiteGate: values must be a non-empty float32 tensor, got ${values.dtype} [${values.shape}]`,
    );
  }
  if (previous && (previous.dtype !== "float32" || previous.size !== 1)) {
    throw new Error(
      `finiteGate: previous must be float32 [1], got ${previous.dtype} [${previous.shape}]`,
    );
  }
  if (!registered) {
    registered = true;
    registerWebGPUKernel<Record<string, never>>(KERNEL, ({ values, previous }) => ({
      program: new FiniteGateProgram(previous !== undefined),
      inputs: previous ? [values, previous] : [values],
      uniforms: [{ type: "int32", data: [values.shape.reduce((a, b) => a * b, 1)] }],
    }));
  }
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = { values: tf.reshape(values, [-1]) };
    if (previous) inputs.previous = tf.reshape(previous, [1]);
    return tf.engine().runKernel(KERNEL, inputs) as tf.Tensor;
  });
}

/** One thread folds the (few) values: a loss per micro-batch and a gradient norm. */
class FiniteGateProgram extends ElementwiseProgram {
  variableNames: string[];
  uniforms = "count : i32,";
  shaderKey: string;

  constructor(readonly chained: boolean) {
    super([1]);
    this.variableNames = chained ? ["values", "previous"] : ["values"];
    this.shaderKey = `kdlabFiniteGate_${chained}`;
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index == 0) {
      var open = ${this.chained ? "previous[0]" : "1.0"};
      for (var i = 0; i < uniforms.count; i++) {
        if ((bitcast<u32>(values[i]) & 0x7f800000u) == 0x7f800000u) { open = 0.0; }
      }
      result[0] = open;
    }
  }`;
  }
}
