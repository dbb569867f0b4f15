/**
 * The machinery behind every token-level divergence D(p_target ‖ q_S) that is a sum over the
 * vocabulary (FKL, RKL, TVD, generalized JSD, skew KL/RKL, TAID): a divergence is a
 * {@linkcode PointwiseKernel} (its per-row value and its gradient with respect to the student's
 * log-probabilities), and {@linkcode pointwiseLoss} turns it into a loss that
 *
 * - validates inputs, divides both logit rows by T (no T² factor), treats the target as constant;
 * - processes rows in chunks of at most `chunkElements` logits inside one `tf.customGrad`, so the
 *   forward keeps no [N, V] temporaries and the backward emits the analytic gradient chunk by
 *   chunk (peak ≈ inputs + the gradient itself, instead of tfjs's several [N, V] temporaries);
 * - masks and reduces (mean over unmasked positions, sum, or none).
 *
 * {@linkcode pointwiseLossNaive} is the same kernel under plain tfjs autodiff (the composite
 * path), used to cross-check gradients and as the baseline in `bench/losses.ts`.
 *
 * Gradient mapping: with ℓ = z/T − LSE(z/T) and g = ∂D/∂ℓ, ∂D/∂z = (g − q·Σg)/T.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { stopGradient } from "./log_mix.ts";
import { checkTemperature, type LossOptions, reduceRows, type Rows, toRows } from "./validate.ts";

/** A divergence of one row, from target and student log-probabilities [n, V]. */
export interface PointwiseKernel {
  /** Per-row divergence [n]. */
  value(lp: tf.Tensor2D, lq: tf.Tensor2D): tf.Tensor1D;
  /** ∂value/∂lq, [n, V] (student log-probabilities as free coordinates). */
  gradLogQ(lp: tf.Tensor2D, lq: tf.Tensor2D): tf.Tensor2D;
}

/** Builds the target logits of a chunk from the teacher chunk and the (detached) student chunk. */
export type TargetFn = (teacher: tf.Tensor2D, student: tf.Tensor2D) => tf.Tensor2D;

/** Options of the pointwise losses. */
export interface PointwiseOptions extends LossOptions {
  /** Largest number of logits processed at once (rows × V); default 2^22. */
  chunkElements?: number;
}

/** Default chunk budget: 4M logits (16 MiB in float32) per temporary. */
export const DEFAULT_CHUNK_ELEMENTS = 1 << 22;

const identityTarget: TargetFn = (teacher) => teacher;

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
  return tf.tidy(() => {
    const rows = toRows(fn, teacher, student, options);
    const perRow = chunkedRows(kernel, rows, temperature, chunk, target);
    return reduceRows(perRow(rows.student), rows, options.reduction);
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
  const logProbs = (t: tf.Tensor2D, s: tf.Tensor2D) => {
    const lp = tf.logSoftmax(tf.div(target(t, s), temperature)) as tf.Tensor2D;
    const lq = tf.logSoftmax(tf.div(s, temperature)) as tf.Tensor2D;
    return [lp, lq] as const;
  };
  // Runs `body` on each chunk of rows (teacher chunk, student chunk, first row) and concatenates.
  const forEachChunk = <T extends tf.Tensor>(
    s: tf.Tensor2D,
    body: (t: tf.Tensor2D, s: tf.Tensor2D, r0: number) => T,
  ): T =>
    spans.length === 1 ? tf.tidy(() => body(rows.teacher, s, 0)) : tf.concat(
      spans.map(([r0, m]) =>
        tf.tidy(() =>
          body(tf.slice(rows.teacher, [r0, 0], [m, v]), tf.slice(s, [r0, 0], [m, v]), r0)
        )
      ),
    ) as T;

  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [student, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([student]);
    const value = forEachChunk(student, (t, s) => kernel.value(...logProbs(t, s)));
    const gradFunc = (dy: tf.Tensor1D, saved: tf.Tensor[]) =>
      forEachChunk(saved[0] as tf.Tensor2D, (t, s, r0) => {
        const [lp, lq] = logProbs(t, s);
        const g = kernel.gradLogQ(lp, lq);
        const q = tf.exp(lq);
        const dz = tf.div(tf.sub(g, tf.mul(q, tf.sum(g, 1, true))), temperature);
        return tf.mul(dz, tf.slice(dy, [r0], [s.shape[0]]).expandDims(1));
      });
    return { value, gradFunc };
  }) as unknown as (student: tf.Tensor2D) => tf.Tensor1D;
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
    const t = stopGradient(target(rows.teacher, stopGradient(rows.student) as tf.Tensor2D));
    const lp = tf.logSoftmax(tf.div(t, temperature)) as tf.Tensor2D;
    const lq = tf.logSoftmax(tf.div(rows.student, temperature)) as tf.Tensor2D;
    return reduceRows(kernel.value(lp, lq), rows, options.reduction);
  });
}
