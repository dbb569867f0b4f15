/**
 * Fused WebGPU kernels for the vocabulary-wide divergences of distillation: softmax of both logit
 * rows, the divergence and its gradient, without any [N, V] temporary in the forward pass.
 *
 * The composite tfjs path (logSoftmax, exp, sub, mul, sum, and their autodiff) launches ~10 kernels
 * and materialises several [N, V] tensors per loss; on the H100 a KL forward over [4096, 8192] took
 * 41 ms against PyTorch's 1.4 ms (issue #10). Here the forward pass is one kernel with one
 * workgroup per row (two sweeps over the row: an online log-sum-exp, then the divergence), writing
 * eight numbers per row; the backward pass is one elementwise kernel that recomputes p and q from
 * the logits and the saved row statistics (as Liger Kernel's fused losses and FlashAttention's
 * recomputation do), so the only [N, V] tensor ever written is the gradient itself.
 *
 * Every divergence is a sum over the vocabulary of a term t(ℓp, ℓq), with g = ∂t/∂ℓq (ℓp, ℓq the
 * target and student log-probabilities at temperature T; the target is a = (λ·z_T + (1−λ)·sg(z_S))/T,
 * λ = 1 except for TAID's interpolation, Shing et al. ICLR 2025 Eq. 5). The forward kernel sums t
 * and g per row; the backward applies ∂D/∂z_S = (g − q·Σg)/T, as `lib/losses/pointwise.ts` does.
 * - `fkl`  p(ℓp − ℓq): KL(p‖q) (Hinton et al. 2015);                g = −p
 * - `ce`   −p·ℓq (TAID's official value);                            g = −p
 * - `rkl`  q(ℓq − ℓp): KL(q‖p) (Gu et al. ICLR 2024);               g = q(ℓq − ℓp + 1)
 * - `gjsd` β·p(ℓp − ℓm) + (1−β)·q(ℓq − ℓm), m = βp + (1−β)q (Agarwal et al. ICLR 2024, Eq. 1);
 *          g = (1−β)·q·(ℓq − ℓm)
 * - `skl`  p(ℓp − ℓm), m = αp + (1−α)q (skew KL, Ko et al. ICML 2024); g = −(1−α)·p·q/m
 * - `srkl` q(ℓq − ℓm), m = (1−α)p + αq (skew reverse KL);            g = q(ℓq − ℓm + 1) − α·q²/m
 * - `tvd`  ½|p − q| (total variation);                               g = ½·sign(q − p)·q
 *
 * The kernels are registered with tfjs as `KdlabDivergenceRows` and `KdlabDivergenceGrad` for the
 * `webgpu` backend, and as WebAssembly SIMD kernels of the same names for the `wasm` backend
 * (`lib/wasm/simd_divergence.ts`, registered by `initBackend("wasm")`); {@linkcode fusedDivergenceRows}
 * wraps them in a `tf.customGrad`. On other backends they are not available
 * ({@linkcode fusedDivergenceAvailable} says so) and the losses use the composite path. Tests compare
 * both on the software adapter and on wasm.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues } from "../deferred_checks.ts";
import type { WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import {
  ElementwiseProgram,
  f32Uniforms,
  registerWebGPUKernel,
  treeReduce,
} from "./webgpu_kernel.ts";
import { fusedKernelsEnabled } from "./env.ts";

/** The divergences with a fused kernel. */
export type FusedDivergenceKind = "fkl" | "ce" | "rkl" | "gjsd" | "skl" | "srkl" | "tvd";

const KINDS: readonly FusedDivergenceKind[] = ["fkl", "ce", "rkl", "gjsd", "skl", "srkl", "tvd"];

/** A fused divergence: which one, and its parameter. */
export interface FusedDivergence {
  /** Which divergence. */
  kind: FusedDivergenceKind;
  /** Teacher weight β ∈ (0, 1) of `gjsd`. */
  beta?: number;
  /** Skew α ∈ (0, 1) of `skl` and `srkl` (the endpoints are plain KLs: use those kinds). */
  alpha?: number;
}

/** Parameters of one fused call. */
export interface FusedDivergenceOptions {
  /** Softmax temperature T > 0. */
  temperature: number;
  /**
   * Teacher weight λ ∈ [0, 1] of the target logits λ·z_T + (1−λ)·sg(z_S) (TAID's t; default 1):
   * a number, or a float32 scalar tensor read by the kernels on the device (TAID's t when it is
   * updated on the device; its range is then the caller's to keep, nothing is read back).
   */
  interpolation?: number | tf.Tensor;
  /**
   * The calling loss's name: reject NaN/Inf logits, counted by the forward kernel in the sweep it
   * makes anyway, through `checkValues` of `lib/deferred_checks.ts` (an error naming the loss and
   * the argument at the next flush). Without it the logits are not checked.
   */
  checkFinite?: string;
}

/**
 * The forward kernel: inputs `teacher`, `student` [N, V] (and optionally `lambda`, a float32
 * scalar), attributes {@linkcode FusedDivergenceAttrs}; output [N, {@linkcode DIVERGENCE_STATS}].
 */
export const DIVERGENCE_ROWS_KERNEL = "KdlabDivergenceRows";
/**
 * The backward kernel: inputs `teacher`, `student`, `stats` (the forward output), `dy` [N] (and
 * `lambda`); output ∂/∂student [N, V].
 */
export const DIVERGENCE_GRAD_KERNEL = "KdlabDivergenceGrad";
/**
 * Numbers written per row by the forward kernel: the maximum and log Σ e^(x − max) of the target
 * logits, the same of the student logits, D, Σg, and how many of the row's teacher and student
 * logits are NaN or ±Inf. The maximum and the log-sum are kept apart so that a log-probability is
 * computed as (x − max) − log Σ, as tfjs's logSoftmax does: folded into one float32 LSE, their sum
 * would carry an error of up to half an ulp of the logits' size (≈ 8e-6 at 238), which shifts every
 * log-probability of the row by as much and, on one-hot rows, costs 100× the composite path's error.
 */
export const DIVERGENCE_STATS = 8;
const STATS = DIVERGENCE_STATS;

/** True when the active backend has the kernels: webgpu (registered on first use), or wasm with SIMD. */
function backendHasKernels(): boolean {
  const backend = tf.getBackend();
  return backend === "webgpu" || tf.getKernel(DIVERGENCE_ROWS_KERNEL, backend) !== undefined;
}

/**
 * True when {@linkcode fusedDivergenceRows} can run: the fused kernels are switched on (`KD_FUSED`,
 * `setFusedKernels`) and the active backend is webgpu, or has the kernels registered (wasm with
 * SIMD).
 */
export function fusedDivergenceAvailable(): boolean {
  return fusedKernelsEnabled() && backendHasKernels();
}

let registered = false;

/**
 * Per-row divergence [N] between the target built from `teacher` and softmax(student/T), with a
 * custom gradient to `student` (the target is constant). Both inputs are float32 [N, V] on the
 * webgpu backend; callers validate them (see `lib/losses/validate.ts`).
 *
 * @throws Error when the backend is not webgpu, shapes differ, or a parameter is out of range.
 */
export function fusedDivergenceRows(
  divergence: FusedDivergence,
  teacher: tf.Tensor2D,
  student: tf.Tensor2D,
  options: FusedDivergenceOptions,
): tf.Tensor1D {
  const attrs = checkedAttrs(divergence, options);
  if (!backendHasKernels()) {
    throw new Error(
      `fusedDivergenceRows: needs the webgpu backend or the wasm backend with SIMD, active is ${tf.getBackend()}`,
    );
  }
  if (tf.getBackend() === "webgpu") registerFusedKernels();
  if (teacher.rank !== 2 || student.rank !== 2 || teacher.shape.join() !== student.shape.join()) {
    throw new Error(
      `fusedDivergenceRows: teacher and student must both be [N, V], got [${teacher.shape}] and [${student.shape}]`,
    );
  }
  if (teacher.dtype !== "float32") teacher = tf.cast(teacher, "float32");
  if (student.dtype !== "float32") student = tf.cast(student, "float32");
  const lambda = lambdaOf(
    options.interpolation instanceof tf.Tensor ? options.interpolation : undefined,
  );
  const rows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const stats = tf.engine().runKernel(
      DIVERGENCE_ROWS_KERNEL,
      { teacher, student: s, ...lambda },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor2D;
    save([teacher, s, stats, ...Object.values(lambda)]);
    const loss = options.checkFinite;
    if (loss !== undefined) {
      checkValues(tf.sum(tf.slice(stats, [0, 6], [-1, 2]), 0), ([badTeacher, badStudent]) => {
        if (badTeacher > 0) return `${loss}: teacherLogits contain NaN or Inf`;
        if (badStudent > 0) return `${loss}: studentLogits contain NaN or Inf`;
      });
    }
    const value = tf.tidy(() =>
      tf.reshape(tf.slice(stats, [0, 4], [-1, 1]), [stats.shape[0]]) as tf.Tensor1D
    );
    stats.dispose();
    const gradFunc = (dy: tf.Tensor1D, saved: tf.Tensor[]) =>
      tf.engine().runKernel(
        DIVERGENCE_GRAD_KERNEL,
        { teacher: saved[0], student: saved[1], stats: saved[2], dy, ...lambdaOf(saved[3]) },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor2D;
    return { value, gradFunc };
  });
  return rows(student) as tf.Tensor1D;
}

/** The kernels' attributes. */
export interface FusedDivergenceAttrs {
  /** Which divergence. */
  kind: FusedDivergenceKind;
  /** β of gjsd, α of skl/srkl. */
  param: number;
  /** 1/T: the kernels scale both sides' logits by it. */
  invTemperature: number;
  /** λ when it is a number; unused when λ is the kernels' `lambda` input. */
  interpolation: number;
}

/** The kernels' optional `lambda` input: λ as a float32 scalar on the device (read as lambda[0]). */
function lambdaOf(lambda: tf.Tensor | undefined): { lambda?: tf.Tensor } {
  return lambda ? { lambda } : {};
}

function checkedAttrs(
  divergence: FusedDivergence,
  options: FusedDivergenceOptions,
): FusedDivergenceAttrs {
  const { kind } = divergence;
  if (!KINDS.includes(kind)) {
    throw new Error(`fusedDivergenceRows: unknown kind "${kind}"; expected ${KINDS.join(", ")}`);
  }
  const beta = divergence.beta ?? 0.5;
  if (kind === "gjsd" && !(beta > 0 && beta < 1)) {
    throw new Error(`fusedDivergenceRows: gjsd needs beta in (0, 1), got ${beta}`);
  }
  const alpha = divergence.alpha ?? 0.1;
  if ((kind === "skl" || kind === "srkl") && !(alpha > 0 && alpha < 1)) {
    throw new Error(`fusedDivergenceRows: ${kind} needs alpha in (0, 1), got ${alpha}`);
  }
  const t = options.temperature;
  if (!(Number.isFinite(t) && t > 0)) {
    throw new Error(`fusedDivergenceRows: temperature must be a finite number > 0, got ${t}`);
  }
  const lambda = options.interpolation ?? 1;
  if (lambda instanceof tf.Tensor) {
    if (lambda.dtype !== "float32" || lambda.size !== 1) {
      throw new Error(
        `fusedDivergenceRows: a tensor interpolation must be a float32 scalar, got ${lambda.dtype} [${lambda.shape}]`,
      );
    }
  } else if (!(lambda >= 0 && lambda <= 1)) {
    throw new Error(`fusedDivergenceRows: interpolation must be in [0, 1], got ${lambda}`);
  }
  const param = kind === "gjsd" ? beta : kind === "skl" || kind === "srkl" ? alpha : 0.5;
  const interpolation = typeof lambda === "number" ? lambda : 0;
  return { kind, param, invTemperature: 1 / t, interpolation };
}

/** Registers the two webgpu kernels with tfjs (idempotent). */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  const uniforms = (a: FusedDivergenceAttrs) =>
    f32Uniforms(a.invTemperature, a.interpolation, a.param);
  registerWebGPUKernel<FusedDivergenceAttrs>(
    DIVERGENCE_ROWS_KERNEL,
    ({ teacher, student, lambda }, a) => ({
      program: new DivergenceRowsProgram(teacher.shape as [number, number], a.kind, !!lambda),
      inputs: lambda ? [teacher, student, lambda] : [teacher, student],
      uniforms: uniforms(a),
    }),
  );
  registerWebGPUKernel<FusedDivergenceAttrs>(
    DIVERGENCE_GRAD_KERNEL,
    ({ teacher, student, stats, dy, lambda }, a) => ({
      program: new DivergenceGradProgram(teacher.shape as [number, number], a.kind, !!lambda),
      inputs: lambda ? [teacher, student, stats, dy, lambda] : [teacher, student, stats, dy],
      uniforms: uniforms(a),
    }),
  );
}

const UNIFORMS = "invTemperature : f32, interpolation : f32, param : f32,";

/**
 * WGSL shared by both programs: the target and student log-space coordinates of one element; λ is
 * the `lambda` input when `lambdaInput`, else the uniform.
 */
const logitsWgsl = (lambdaInput: boolean) => `
  fn targetLogit(i : i32) -> f32 {
    let lam = ${lambdaInput ? "lambda[0]" : "uniforms.interpolation"};
    return (lam * teacher[i] + (1.0 - lam) * student[i]) * uniforms.invTemperature;
  }
  fn studentLogit(i : i32) -> f32 {
    return student[i] * uniforms.invTemperature;
  }
  // 1 for NaN and ±Inf (all exponent bits set), tested on the bits: shader compilers may assume
  // floats are finite.
  fn nonFinite(x : f32) -> f32 {
    return select(0.0, 1.0, (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u);
  }
  // log(exp(x) + exp(y)), stable.
  fn logAddExp(x : f32, y : f32) -> f32 {
    let m = max(x, y);
    return m + log(1.0 + exp(-abs(x - y)));
  }
`;

/**
 * WGSL defining `term` (this element's share of D) and `g` (∂term/∂ℓq) from `lp` and `lq`;
 * `uniforms.param` is β (gjsd) or α (skl, srkl).
 */
function termWgsl(kind: FusedDivergenceKind): string {
  const mix = (wp: string, wq: string) => `logAddExp(log(${wp}) + lp, log(${wq}) + lq)`;
  switch (kind) {
    case "fkl":
      return "let p = exp(lp); let term = p * (lp - lq); let g = -p;";
    case "ce":
      return "let p = exp(lp); let term = -p * lq; let g = -p;";
    case "rkl":
      return "let q = exp(lq); let term = q * (lq - lp); let g = q * (lq - lp + 1.0);";
    case "gjsd":
      return `let b = uniforms.param; let lm = ${mix("b", "1.0 - b")};
              let q = exp(lq); let qlm = q * (lq - lm);
              let term = b * exp(lp) * (lp - lm) + (1.0 - b) * qlm; let g = (1.0 - b) * qlm;`;
    case "skl":
      return `let a = uniforms.param; let lm = ${mix("a", "1.0 - a")};
              let term = exp(lp) * (lp - lm); let g = -(1.0 - a) * exp(lp + lq - lm);`;
    case "srkl":
      return `let a = uniforms.param; let lm = ${mix("1.0 - a", "a")}; let q = exp(lq);
              let term = q * (lq - lm); let g = q * (lq - lm + 1.0) - a * q * exp(lq - lm);`;
    case "tvd":
      return `let p = exp(lp); let q = exp(lq);
              let term = 0.5 * abs(p - q); let g = 0.5 * sign(q - p) * q;`;
  }
}

/** Merges two (max, Σexp(x − max)) pairs of both rows: slot j into slot i. */
const mergeLse = (i: string, j: string) =>
  ["A", "B"].map((r) =>
    `{ let m = max(max${r}[${i}], max${r}[${j}]);
       buf${r}[${i}] = buf${r}[${i}] * exp(max${r}[${i}] - m) + buf${r}[${j}] * exp(max${r}[${j}] - m);
       max${r}[${i}] = m; }`
  ).join("\n");

/** Adds slot j of all four buffers (the divergence, Σg and both non-finite counts) into slot i. */
const addAll = (i: string, j: string) =>
  ["bufA", "bufB", "maxA", "maxB"].map((b) => `${b}[${i}] += ${b}[${j}];`).join(" ");

/**
 * Forward: one workgroup per row; two sweeps (an online log-sum-exp of both rows, then the
 * divergence) with workgroup tree reductions. Output [N, DIVERGENCE_STATS] (see there).
 */
class DivergenceRowsProgram implements WebGPUProgram {
  variableNames: string[];
  uniforms = UNIFORMS;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];

  constructor(
    shape: [number, number],
    readonly kind: FusedDivergenceKind,
    readonly lambdaInput: boolean,
  ) {
    this.variableNames = lambdaInput ? ["teacher", "student", "lambda"] : ["teacher", "student"];
    this.outputShape = [shape[0], STATS];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [shape[0], 1, 1];
    this.workgroupSize = [shape[1] >= 2048 ? 256 : 64, 1, 1];
    this.shaderKey = `kdlabDivergenceRows_${kind}_${lambdaInput}`;
  }

  getUserCode(): string {
    const wg = this.workgroupSize[0];
    return `
  var<workgroup> maxA : array<f32, ${wg}>;
  var<workgroup> maxB : array<f32, ${wg}>;
  var<workgroup> bufA : array<f32, ${wg}>;
  var<workgroup> bufB : array<f32, ${wg}>;
  ${logitsWgsl(this.lambdaInput)}
  fn main(index : i32) {
    let tid = localId.x;
    let row = index / ${wg};
    let rows = uniforms.teacherShape[0];
    let v = uniforms.teacherShape[1];
    // Rows past the end (a folded dispatch) sweep nothing; barriers stay in uniform control flow.
    let cols = select(0, v, row < rows);
    let base = row * v;

    // Sweep 1: running maximum and sum of exponentials of both rows (online log-sum-exp,
    // Milakov & Gimelshein 2018), one exp per element.
    var ma = -3.402823e+38f;
    var mb = -3.402823e+38f;
    var sa = 0.0;
    var sb = 0.0;
    var badT = 0.0;
    var badS = 0.0;
    for (var c = i32(tid); c < cols; c += ${wg}) {
      badT += nonFinite(teacher[base + c]);
      badS += nonFinite(student[base + c]);
      let xa = targetLogit(base + c);
      let xb = studentLogit(base + c);
      if (xa > ma) { sa = sa * exp(ma - xa) + 1.0; ma = xa; } else { sa += exp(xa - ma); }
      if (xb > mb) { sb = sb * exp(mb - xb) + 1.0; mb = xb; } else { sb += exp(xb - mb); }
    }
    maxA[tid] = ma;
    maxB[tid] = mb;
    bufA[tid] = sa;
    bufB[tid] = sb;
    workgroupBarrier();
    ${treeReduce(wg, mergeLse)}
    let rowMaxA = maxA[0];
    let logSumA = log(bufA[0]);
    let rowMaxB = maxB[0];
    let logSumB = log(bufB[0]);
    workgroupBarrier();

    // Sweep 2: the divergence and Σg.
    var v0 = 0.0;
    var v1 = 0.0;
    for (var c = i32(tid); c < cols; c += ${wg}) {
      let lp = (targetLogit(base + c) - rowMaxA) - logSumA;
      let lq = (studentLogit(base + c) - rowMaxB) - logSumB;
      ${termWgsl(this.kind)}
      v0 += term;
      v1 += g;
    }
    bufA[tid] = v0;
    bufB[tid] = v1;
    maxA[tid] = badT;
    maxB[tid] = badS;
    workgroupBarrier();
    ${treeReduce(wg, addAll)}
    if (tid == 0u && row < rows) {
      result[row * ${STATS}] = rowMaxA;
      result[row * ${STATS} + 1] = logSumA;
      result[row * ${STATS} + 2] = rowMaxB;
      result[row * ${STATS} + 3] = logSumB;
      result[row * ${STATS} + 4] = bufA[0];
      result[row * ${STATS} + 5] = bufB[0];
      result[row * ${STATS} + 6] = maxA[0];
      result[row * ${STATS} + 7] = maxB[0];
    }
  }`;
  }
}

/** Backward: one thread per logit, (g − q·Σg)·dy[row]/T from the logits and the row statistics. */
class DivergenceGradProgram extends ElementwiseProgram {
  variableNames: string[];
  uniforms = UNIFORMS;
  shaderKey: string;

  constructor(
    shape: [number, number],
    readonly kind: FusedDivergenceKind,
    readonly lambdaInput: boolean,
  ) {
    super(shape);
    this.variableNames = ["teacher", "student", "stats", "dy", ...lambdaInput ? ["lambda"] : []];
    this.shaderKey = `kdlabDivergenceGrad_${kind}_${lambdaInput}`;
  }

  getUserCode(): string {
    return `
  ${logitsWgsl(this.lambdaInput)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let row = index / uniforms.teacherShape[1];
      let at = row * ${STATS};
      let lp = (targetLogit(index) - stats[at]) - stats[at + 1];
      let lq = (studentLogit(index) - stats[at + 2]) - stats[at + 3];
      let sumG = stats[at + 5];
      ${termWgsl(this.kind)}
      result[index] = (g - exp(lq) * sumG) * dy[row] * uniforms.invTemperature;
    }
  }`;
  }
}
