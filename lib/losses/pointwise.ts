/**
 * The machinery behind every token-level divergence D(p_target ‖ q_S) that is a sum over the
 * vocabulary (FKL, RKL, TVD, generalized JSD, skew KL/RKL, TAID): a divergence is a
 * {@linkcode PointwiseKernel} (its per-row value and its gradient with respect to the student's
 * log-probabilities), and {@linkcode pointwiseLoss} turns it into a loss that
 *
 * - validates inputs, divides both logit rows by T (no T² factor), treats the target as constant;
 * - processes rows in chunks of at most `chunkElements` logits inside one `tf.customGrad`; under a
 *   gradient tape each chunk's analytic gradient is computed in the same pass as its value (as in
 *   Liger's fused losses), so no [N, V] temporary outlives its chunk and the backward only scales
 *   the saved gradient (peak ≈ inputs + the gradient, instead of tfjs's several [N, V] temporaries);
 * - masks and reduces (mean over unmasked positions, sum, or none).
 *
 * {@linkcode pointwiseLossNaive} is the same kernel under plain tfjs autodiff (the composite
 * path), used to cross-check gradients and as the baseline in `bench/losses.ts`.
 *
 * On the webgpu backend, a kernel that names a fused version (`fused`, with a target that is the
 * teacher or TAID's interpolation) runs as two WGSL kernels instead (`lib/gpu/fused_divergence.ts`:
 * one pass per row forward, one elementwise pass backward, no chunking needed); on wasm with SIMD,
 * as the same two kernels in WebAssembly (`lib/wasm/simd_divergence.ts`).
 *
 * Gradient mapping: with ℓ = z/T − LSE(z/T) and g = ∂D/∂ℓ, ∂D/∂z = (g − q·Σg)/T.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type FusedDivergence,
  fusedDivergenceAvailable,
  fusedDivergenceRows,
} from "../gpu/fused_divergence.ts";
import { stopGradient } from "./log_mix.ts";
import { checkTemperature, type LossOptions, reduceRows, type Rows, toRows } from "./validate.ts";

/** A divergence of one row, from target and student log-probabilities [n, V]. */
export interface PointwiseKernel {
  /** Per-row divergence [n]. */
  value(lp: tf.Tensor2D, lq: tf.Tensor2D): tf.Tensor1D;
  /** ∂value/∂lq, [n, V] (student log-probabilities as free coordinates). */
  gradLogQ(lp: tf.Tensor2D, lq: tf.Tensor2D): tf.Tensor2D;
  /** The same divergence as a fused WebGPU kernel, when one exists. */
  fused?: FusedDivergence;
}

/**
 * Builds the target logits of a chunk from the teacher chunk and the (detached) student chunk.
 * `interpolation` = λ declares that the target is λ·teacher + (1−λ)·student (TAID; a number, or a
 * float32 scalar tensor when λ lives on the device), which the fused WebGPU kernels compute
 * themselves; without it the fused path is not used.
 */
export type TargetFn = ((teacher: tf.Tensor2D, student: tf.Tensor2D) => tf.Tensor2D) & {
  interpolation?: number | tf.Tensor;
};

/** Options of the pointwise losses. */
export interface PointwiseOptions extends LossOptions {
  /** Largest number of logits processed at once (rows × V); default 2^22. */
  chunkElements?: number;
}

/** Default chunk budget: 4M logits (16 MiB in float32) per temporary. */
export const DEFAULT_CHUNK_ELEMENTS = 1 << 22;

const identityTarget: TargetFn = Object.assign((teacher: tf.Tensor2D) => teacher, {
  interpolation: 1,
});

/**
 * Target and student log-probabilities at temperature T. The target is built from `student`
 * (the student logits as the target sees them: detached by the caller where needed), the loss
 * side from `studentLoss`.
 */
function logProbs(
  teacher: tf.Tensor2D,
  student: tf.Tensor2D,
  studentLoss: tf.Tensor2D,
  target: TargetFn,
  temperature: number,
): [tf.Tensor2D, tf.Tensor2D] {
  const lp = tf.logSoftmax(tf.div(target(teacher, student), temperature)) as tf.Tensor2D;
  const lq = tf.logSoftmax(tf.div(studentLoss, temperature)) as tf.Tensor2D;
  return [lp, lq];
}

/** The chunked, custom-gradient loss; see the module doc. */
export function pointwiseLoss(
  fn: string,
  kernel: PointwiseKernel,
  teacher: tf.Tensor,
  student: tf.Tensor,
  options: PointwiseOptions = {},
  target: TargetFn = identityTarget,
): tf.Tensor {
  const temperature = checkTemperature(fn, options.temperature);
  const chunk = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  if (!(chunk >= 1)) throw new Error(`${fn}: chunkElements must be ≥ 1, got ${chunk}`);
  const fused = target.interpolation !== undefined && fusedDivergenceAvailable()
    ? kernel.fused
    : undefined;
  const validate = options.validate ?? true;
  return tf.tidy(() => {
    // The fused forward kernel counts NaN/Inf logits in its own sweep: no separate pass for them.
    const rows = toRows(fn, teacher, student, options, fused === undefined);
    const perRow = fused
      ? fusedDivergenceRows(fused, rows.teacher, rows.student, {
        temperature,
        interpolation: target.interpolation,
        checkFinite: validate ? fn : undefined,
      })
      : chunkedRows(kernel, rows, temperature, chunk, target)(rows.student);
    return reduceRows(perRow, rows, options.reduction);
  });
}

function chunkedRows(
  kernel: PointwiseKernel,
  rows: Rows,
  temperature: number,
  chunkElements: number,
  target: TargetFn,
): (student: tf.Tensor2D) => tf.Tensor1D {
  const [n, v] = rows.teacher.shape;
  const step = Math.max(1, Math.floor(chunkElements / v));
  const spans: [number, number][] = [];
  for (let r = 0; r < n; r += step) spans.push([r, Math.min(step, n - r)]);
  // Under a gradient tape (tf.grad, optimizer.minimize) each chunk's analytic gradient is computed
  // in the same pass as its value and saved; backward only scales it by dy. Outside a tape (evaluation)
  // only values are computed.
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [student, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const recording = gradientRecording();
    const whole = spans.length === 1;
    const teacherRows = whole ? undefined : rowChunker(rows.teacher);
    const studentRows = whole ? undefined : rowChunker(student);
    const values: tf.Tensor[] = [];
    const grads = recording ? rowAssembler(n, v) : undefined;
    for (const [r0, m] of spans) {
      const [value, grad] = tf.tidy(() => {
        const t = teacherRows ? teacherRows(r0, m) : rows.teacher;
        const s = studentRows ? studentRows(r0, m) : student;
        const [lp, lq] = logProbs(t, s, s, target, temperature);
        const value = kernel.value(lp, lq);
        if (!recording) return [value];
        const g = kernel.gradLogQ(lp, lq);
        const q = tf.exp(lq);
        return [value, tf.div(tf.sub(g, tf.mul(q, tf.sum(g, 1, true))), temperature)];
      });
      values.push(value);
      if (grad) grads!.add(r0, grad);
    }
    const value = concatAndDispose(values) as tf.Tensor1D;
    const grad = grads?.finish();
    save(grad ? [grad] : []);
    grad?.dispose(); // save() kept its own reference
    const gradFunc = (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
      if (saved.length === 0) {
        throw new Error("pointwiseLoss: gradient requested outside a gradient tape");
      }
      return tf.mul(saved[0], dy.expandDims(1));
    };
    return { value, gradFunc };
  }) as unknown as (student: tf.Tensor2D) => tf.Tensor1D;
}

/**
 * Cuts x into row chunks, lazily. On wasm, tfjs 4.22's Slice copies the whole source per call
 * (≈95 ms for 128 MiB) and Gather moves ~23 M elements/s (both measured), so the data is read
 * once and each chunk is uploaded from a subarray; on other backends Slice is cheap (a GPU kernel
 * on webgpu, a view on cpu).
 */
function rowChunker(x: tf.Tensor2D): (r0: number, m: number) => tf.Tensor2D {
  const v = x.shape[1];
  if (tf.getBackend() === "wasm") {
    const data = x.dataSync() as Float32Array;
    return (r0, m) => tf.tensor2d(data.subarray(r0 * v, (r0 + m) * v), [m, v]);
  }
  return (r0, m) => tf.slice(x, [r0, 0], [m, v]);
}

/** Concatenates row chunks along axis 0, disposing the parts (a single part is returned as is). */
function concatAndDispose(parts: tf.Tensor[]): tf.Tensor {
  if (parts.length === 1) return parts[0];
  const whole = tf.concat(parts);
  tf.dispose(parts);
  return whole;
}

/**
 * Collects [m, v] row chunks of an [n, v] result. On wasm each chunk is copied to host memory and
 * freed at once, so the wasm heap (2–4 GiB at most) never holds the chunks and the result together;
 * elsewhere the chunks are concatenated on the device.
 */
function rowAssembler(n: number, v: number) {
  const host = tf.getBackend() === "wasm" ? new Float32Array(n * v) : undefined;
  const parts: tf.Tensor[] = [];
  return {
    add(r0: number, chunk: tf.Tensor) {
      if (!host) return void parts.push(chunk);
      host.set(chunk.dataSync() as Float32Array, r0 * v);
      chunk.dispose();
    },
    finish(): tf.Tensor2D {
      return host ? tf.tensor2d(host, [n, v]) : concatAndDispose(parts) as tf.Tensor2D;
    },
  };
}

/** True while tfjs records a gradient tape (inside tf.grad, tf.variableGrads, minimize). */
function gradientRecording(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
  return state.gradientDepth > 0;
}

/** The same divergence under tfjs autodiff (the naive composite path). */
export function pointwiseLossNaive(
  fn: string,
  kernel: PointwiseKernel,
  teacher: tf.Tensor,
  student: tf.Tensor,
  options: LossOptions = {},
  target: TargetFn = identityTarget,
): tf.Tensor {
  const temperature = checkTemperature(fn, options.temperature);
  return tf.tidy(() => {
    const rows = toRows(fn, teacher, student, options);
    const detachedTarget: TargetFn = (t, s) => stopGradient(target(t, s)) as tf.Tensor2D;
    const detached = stopGradient(rows.student) as tf.Tensor2D;
    const [lp, lq] = logProbs(rows.teacher, detached, rows.student, detachedTarget, temperature);
    return reduceRows(kernel.value(lp, lq), rows, options.reduction);
  });
}
