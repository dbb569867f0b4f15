/**
 * GELU, tanh approximation (Hendrycks & Gimpel 2016, as GPT-2 uses), as one WGSL kernel forward
 * and one backward on the webgpu backend:
 *
 *   y = ½x(1 + tanh u),  u = √(2/π)(x + 0.044715x³)
 *   y′ = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)
 *
 * The composite form (`lib/models/ops.ts`) is ten elementwise kernels forward, each constant an
 * uploaded scalar, and about twice as many under autodiff: on a GPU, where a GPT step is bound by
 * the cost of launching kernels, this is two. u is clamped to ±15 before tanh (tanh(15) = 1 in
 * float32), because shader tanh can overflow to NaN for large arguments.
 *
 * Kernels `KdlabGelu` and `KdlabGeluGrad`; `gelu` in `lib/models/ops.ts` uses them when
 * `fusedKernelsAvailable()` of `env.ts` (webgpu, fused kernels on).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ElementwiseProgram, registerWebGPUKernel, requireWebGPU } from "./webgpu_kernel.ts";

const FORWARD = "KdlabGelu";
const BACKWARD = "KdlabGeluGrad";
let registered = false;

/**
 * GELU (tanh approximation) of a float32 tensor on the webgpu backend, with its gradient.
 * @throws Error on another backend or dtype.
 */
export function fusedGelu<T extends tf.Tensor>(x: T): T {
  requireWebGPU("fusedGelu");
  if (x.dtype !== "float32") throw new Error(`fusedGelu: x must be float32, got ${x.dtype}`);
  registerFusedGelu();
  const engine = tf.engine();
  const gelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([input]);
    return {
      value: engine.runKernel(FORWARD, { x: input }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) =>
        engine.runKernel(BACKWARD, { x: saved, dy }) as tf.Tensor,
    };
  });
  return gelu(x) as T;
}

/** Registers the two webgpu kernels with tfjs (idempotent). */
export function registerFusedGelu(): void {
  if (registered) return;
  registered = true;
  registerWebGPUKernel<unknown>(FORWARD, ({ x }) => ({
    program: new GeluProgram(x.shape, false),
    inputs: [x],
    uniforms: [],
  }));
  registerWebGPUKernel<unknown>(BACKWARD, ({ x, dy }) => ({
    program: new GeluProgram(x.shape, true),
    inputs: [x, dy],
    uniforms: [],
  }));
}

class GeluProgram extends ElementwiseProgram {
  variableNames: string[];
  uniforms = "";
  shaderKey: string;

  constructor(shape: number[], readonly backward: boolean) {
    super(shape);
    this.variableNames = backward ? ["x", "dy"] : ["x"];
    this.shaderKey = `kdlabGelu_${backward}`;
  }

  getUserCode(): string {
    const c = Math.sqrt(2 / Math.PI).toFixed(9);
    const out = this.backward
      ? `0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * ${c} * (1.0 + 0.134145 * v * v)`
      : "0.5 * v * (1.0 + t)";
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let v = x[index];
      let t = tanh(clamp(${c} * (v + 0.044715 * v * v * v), -15.0, 15.0));
      result[index] = ${this.backward ? `dy[index] * (${out})` : out};
    }
  }`;
  }
}
