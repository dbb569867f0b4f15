/**
 * Layer normalisation (Ba, Kiros & Hinton 2016) over the last axis as fused WGSL kernels on the
 * webgpu backend:
 *
 *   μ, σ² = mean and (biased) variance of the row;  x̂ = (x − μ)·r, r = 1/√(σ² + ε);
 *   y = x̂·γ + β
 *   ∂x = r·(g − mean(g) − x̂·mean(g·x̂)),  g = ∂y·γ;   ∂γ = Σ_rows ∂y·x̂;   ∂β = Σ_rows ∂y
 *
 * Forward: a row kernel writes (μ, r) per row, an elementwise kernel writes y. Backward: a row
 * kernel writes (mean(g), mean(g·x̂)), an elementwise kernel writes ∂x, and ∂γ, ∂β are two column
 * sums. The composite form (`tf.moments`, then sub, rsqrt, mul, mul, add) is about nine kernels
 * forward and twenty under autodiff; a GPT block has two layer norms.
 *
 * Kernels `KdlabLayerNormRows`, `KdlabLayerNormApply`, `KdlabLayerNormGradRows` and
 * `KdlabLayerNormGradInput`; `layerNorm` in `lib/models/ops.ts` uses them when
 * `fusedKernelsAvailable()` of `env.ts` (webgpu, fused kernels on).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import {
  ElementwiseProgram,
  f32Uniforms,
  registerWebGPUKernel,
  requireWebGPU,
  treeReduce,
} from "./webgpu_kernel.ts";

const ROWS = "KdlabLayerNormRows";
const APPLY = "KdlabLayerNormApply";
const GRAD_ROWS = "KdlabLayerNormGradRows";
const GRAD_INPUT = "KdlabLayerNormGradInput";
let registered = false;

/**
 * Layer norm of float32 `x` [..., C] with gain and bias [C], on the webgpu backend, with
 * gradients to all three.
 * @throws Error on another backend, dtype or mismatched shapes, or eps ≤ 0.
 */
export function fusedLayerNorm(
  x: tf.Tensor,
  gain: tf.Tensor1D,
  bias: tf.Tensor1D,
  eps = 1e-5,
): tf.Tensor {
  requireWebGPU("fusedLayerNorm");
  const c = x.shape.at(-1) ?? 0;
  if (x.rank < 1 || c === 0 || gain.shape.join() !== `${c}` || bias.shape.join() !== `${c}`) {
    throw new Error(
      `fusedLayerNorm: x must be [..., C] with C > 0 and gain, bias [C]; got [${x.shape}], ` +
        `[${gain.shape}], [${bias.shape}]`,
    );
  }
  if ([x, gain, bias].some((t) => t.dtype !== "float32")) {
    throw new Error("fusedLayerNorm: x, gain and bias must be float32");
  }
  if (!(eps > 0)) throw new Error(`fusedLayerNorm: eps must be > 0, got ${eps}`);
  registerFusedLayerNorm();
  const engine = tf.engine();
  const attrs = { eps } as unknown as tf.NamedAttrMap;
  const norm = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const rows = tf.reshape(input, [-1, c]);
    const stats = engine.runKernel(ROWS, { x: rows }, attrs) as tf.Tensor;
    const y = engine.runKernel(APPLY, { x: rows, stats, gain: g, bias: b }) as tf.Tensor;
    save([rows, stats, g]);
    return {
      value: tf.reshape(y, input.shape),
      gradFunc: (dy: tf.Tensor, [xs, st, gs]: tf.Tensor[]) => {
        const dyRows = tf.reshape(dy, [-1, c]);
        const sums = engine.runKernel(GRAD_ROWS, { x: xs, stats: st, gain: gs, dy: dyRows });
        const dx = engine.runKernel(GRAD_INPUT, {
          x: xs,
          stats: st,
          gain: gs,
          dy: dyRows,
          sums: sums as tf.Tensor,
        }) as tf.Tensor;
        const xhat = engine.runKernel(APPLY, { x: xs, stats: st }) as tf.Tensor;
        return [
          tf.reshape(dx, input.shape),
          tf.sum(tf.mul(dyRows, xhat), 0),
          tf.sum(dyRows, 0),
        ];
      },
    };
  });
  return norm(x, gain, bias);
}

/** Registers the four webgpu kernels with tfjs (idempotent). */
export function registerFusedLayerNorm(): void {
  if (registered) return;
  registered = true;
  registerWebGPUKernel<{ eps: number }>(ROWS, ({ x }, { eps }) => ({
    program: new RowsProgram(x.shape as [number, number], false),
    inputs: [x],
    uniforms: f32Uniforms(eps),
  }));
  registerWebGPUKernel<unknown>(APPLY, ({ x, stats, gain, bias }) => ({
    program: new ApplyProgram(x.shape, gain !== undefined),
    inputs: gain ? [x, stats, gain, bias] : [x, stats],
    uniforms: [],
  }));
  registerWebGPUKernel<unknown>(GRAD_ROWS, ({ x, stats, gain, dy }) => ({
    program: new RowsProgram(x.shape as [number, number], true),
    inputs: [x, stats, gain, dy],
    uniforms: f32Uniforms(0),
  }));
  registerWebGPUKernel<unknown>(GRAD_INPUT, ({ x, stats, gain, dy, sums }) => ({
    program: new GradInputProgram(x.shape),
    inputs: [x, stats, gain, dy, sums],
    uniforms: [],
  }));
}

/**
 * One workgroup per row of x [N, C], two sums per row. Forward: (μ, r) from two sweeps (the mean,
 * then the centred squares, as `tf.moments`). Backward: (mean(g), mean(g·x̂)) with g = dy·γ.
 */
class RowsProgram implements WebGPUProgram {
  variableNames: string[];
  uniforms = "eps : f32,";
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];

  constructor(shape: [number, number], readonly backward: boolean) {
    this.variableNames = backward ? ["x", "stats", "gain", "dy"] : ["x"];
    this.outputShape = [shape[0], 2];
    this.dispatch = [shape[0], 1, 1];
    this.workgroupSize = [shape[1] >= 1024 ? 256 : 64, 1, 1];
    this.shaderKey = `kdlabLayerNormRows_${backward}`;
  }

  getUserCode(): string {
    const wg = this.workgroupSize[0];
    const add = (i: string, j: string) => `bufA[${i}] += bufA[${j}]; bufB[${i}] += bufB[${j}];`;
    const sweeps = this.backward
      ? `
    let mean = stats[row * 2];
    let r = stats[row * 2 + 1];
    var s0 = 0.0;
    var s1 = 0.0;
    for (var c = i32(tid); c < cols; c += ${wg}) {
      let g = dy[base + c] * gain[c];
      s0 += g;
      s1 += g * (x[base + c] - mean) * r;
    }
    bufA[tid] = s0;
    bufB[tid] = s1;
    workgroupBarrier();
    ${treeReduce(wg, add)}
    let out0 = bufA[0] / f32(width);
    let out1 = bufB[0] / f32(width);`
      : `
    var s = 0.0;
    for (var c = i32(tid); c < cols; c += ${wg}) { s += x[base + c]; }
    bufA[tid] = s;
    bufB[tid] = 0.0;
    workgroupBarrier();
    ${treeReduce(wg, add)}
    let mean = bufA[0] / f32(width);
    workgroupBarrier();
    var q = 0.0;
    for (var c = i32(tid); c < cols; c += ${wg}) { let d = x[base + c] - mean; q += d * d; }
    bufA[tid] = q;
    workgroupBarrier();
    ${treeReduce(wg, add)}
    let out0 = mean;
    let out1 = inverseSqrt(bufA[0] / f32(width) + uniforms.eps);`;
    return `
  var<workgroup> bufA : array<f32, ${wg}>;
  var<workgroup> bufB : array<f32, ${wg}>;
  fn main(index : i32) {
    let tid = localId.x;
    let row = index / ${wg};
    let width = uniforms.xShape[1];
    // Rows past the end (a folded dispatch) sweep nothing; barriers stay in uniform control flow.
    let cols = select(0, width, row < uniforms.xShape[0]);
    let base = row * width;
    ${sweeps}
    if (tid == 0u && row < uniforms.xShape[0]) {
      result[row * 2] = out0;
      result[row * 2 + 1] = out1;
    }
  }`;
  }
}

/** WGSL: the row, its width, r and x̂ of element `index` of x [N, C] from the row statistics. */
const XHAT_WGSL = `
      let width = uniforms.xShape[1];
      let row = index / width;
      let r = stats[row * 2 + 1];
      let xhat = (x[index] - stats[row * 2]) * r;`;

/** y = (x − μ)·r·γ + β, or x̂ = (x − μ)·r without the affine part. */
class ApplyProgram extends ElementwiseProgram {
  variableNames: string[];
  uniforms = "";
  shaderKey: string;

  constructor(shape: number[], readonly affine: boolean) {
    super(shape);
    this.variableNames = affine ? ["x", "stats", "gain", "bias"] : ["x", "stats"];
    this.shaderKey = `kdlabLayerNormApply_${affine}`;
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {${XHAT_WGSL}
      ${
      this.affine
        ? "let c = index % width; result[index] = xhat * gain[c] + bias[c];"
        : "result[index] = xhat;"
    }
    }
  }`;
  }
}

/** ∂x = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ. */
class GradInputProgram extends ElementwiseProgram {
  variableNames = ["x", "stats", "gain", "dy", "sums"];
  uniforms = "";
  shaderKey = "kdlabLayerNormGradInput";

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {${XHAT_WGSL}
      let g = dy[index] * gain[index % width];
      result[index] = r * (g - sums[row * 2] - xhat * sums[row * 2 + 1]);
    }
  }`;
  }
}
