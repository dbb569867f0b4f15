/**
 * Sinkhorn KD, batch-wise (Cui et al., LREC-COLING 2024, "SinKD: Sinkhorn Distance Minimization
 * for Knowledge Distillation"; formulation of the released `loss.py`): with P_S = softmax(z_S/T)
 * and P_T = softmax(z_T/T) (B×C), the cost C_ij = ‖P_S[i] − P_T[j]‖₁, kernel K = exp(−C/ε), and
 * `iterations` alternating row and column normalisations of K (unrolled, gradient through Π and
 * C), the loss is Σ_ij Π_ij·C_ij / B (the mean transport cost per sample; SinKD multiplies the sum
 * by 0.001 instead). Iterations run in the log domain, so small ε does not underflow.
 * Defaults: T = 2, ε = 0.1, 20 iterations. Needs at least 2 rows.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { logSumExp } from "./log_sum_exp.ts";
import { checkRange, checkTemperature, type LossOptions, toRows } from "./validate.ts";

/** Options of {@linkcode sinkhornKD}. */
export interface SinkhornKDOptions extends Omit<LossOptions, "reduction" | "mask"> {
  /** Entropic regularisation ε > 0 (default 0.1). */
  epsilon?: number;
  /** Row+column normalisation rounds (default 20). */
  iterations?: number;
}

/** Batch-wise Sinkhorn distance between student and teacher predictions; see the module doc. */
export function sinkhornKD(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: SinkhornKDOptions = {},
): tf.Scalar {
  const temperature = checkTemperature("sinkhornKD", options.temperature ?? 2);
  const epsilon = options.epsilon ?? 0.1;
  const iterations = options.iterations ?? 20;
  checkRange("sinkhornKD", "epsilon", epsilon, 1e-8, Infinity);
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`sinkhornKD: iterations must be a positive integer, got ${iterations}`);
  }
  return tf.tidy(() => {
    const rows = toRows("sinkhornKD", teacherLogits, studentLogits, options);
    const b = rows.student.shape[0];
    if (b < 2) throw new Error(`sinkhornKD: needs a batch of at least 2 rows, got ${b}`);
    const ps = tf.softmax(tf.div(rows.student, temperature));
    const pt = tf.softmax(tf.div(rows.teacher, temperature));
    const cost = tf.sum(tf.abs(tf.sub(ps.expandDims(1), pt.expandDims(0))), 2); // [B, B]
    let logPi = tf.div(cost, -epsilon);
    for (let i = 0; i < iterations; i++) {
      logPi = tf.sub(logPi, logSumExp(logPi, 1, true));
      logPi = tf.sub(logPi, logSumExp(logPi, 0, true));
    }
    return tf.div(tf.sum(tf.mul(tf.exp(logPi), cost)), b) as tf.Scalar;
  });
}

/** Options of {@linkcode sinKD}. */
export interface SinKDOptions extends SinkhornKDOptions {
  /** Class ids [N] for the hard-label term. */
  labels?: tf.Tensor | number[];
  /** Weight α of the soft cross-entropy; 1 − α goes to the hard labels (default 0.9). */
  alpha?: number;
  /** Temperature of the soft cross-entropy (default 3.5, SinKD's RTE script). */
  kdTemperature?: number;
  /** Weight β of the Sinkhorn term (default 0.1; see {@linkcode sinKD}). */
  beta?: number;
}

/**
 * SinKD's full objective (Cui et al., LREC-COLING 2024, `loss.py` and the GLUE scripts):
 * α·CE(softmax(z_T/τ), softmax(z_S/τ)) + (1 − α)·CE(z_S, y) + β·Sinkhorn, the soft term a
 * cross-entropy averaged over the batch without τ², the Sinkhorn term {@linkcode sinkhornKD}
 * (T = 2). Defaults α = 0.9, τ = 3.5 and β = 0.1: SinKD's β = 0.8 multiplies 0.001·Σ_ij Π_ij C_ij,
 * which at batch 128 is 0.128 × our per-sample mean, so 0.8 × 0.128 ≈ 0.1. The batch-wise term
 * alone is blind to which sample is which (any permutation of the student's rows has the same
 * cost), which is why the paper never trains with it alone.
 */
export function sinKD(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: SinKDOptions = {},
): tf.Scalar {
  const alpha = options.alpha ?? 0.9;
  const beta = options.beta ?? 0.1;
  const tau = checkTemperature("sinKD", options.kdTemperature ?? 3.5);
  checkRange("sinKD", "alpha", alpha, 0, 1);
  checkRange("sinKD", "beta", beta, 0, Infinity);
  return tf.tidy(() => {
    const rows = toRows("sinKD", teacherLogits, studentLogits, options);
    const softTeacher = tf.softmax(tf.div(rows.teacher, tau));
    const soft = tf.neg(
      tf.mean(tf.sum(tf.mul(softTeacher, tf.logSoftmax(tf.div(rows.student, tau))), 1)),
    );
    let total = tf.mul(alpha, soft);
    if (alpha < 1) {
      const y = checkLabels("sinKD", options.labels, rows.student.shape[0], rows.vocab);
      total = tf.add(total, tf.mul(1 - alpha, tf.mean(crossEntropyRows(rows.student, y))));
    }
    if (beta > 0) {
      const { labels: _l, ...rest } = options;
      total = tf.add(total, tf.mul(beta, sinkhornKD(teacherLogits, studentLogits, rest)));
    }
    return total as tf.Scalar;
  });
}
