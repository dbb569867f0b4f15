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
      logPi = tf.sub(logPi, tf.logSumExp(logPi, 1, true));
      logPi = tf.sub(logPi, tf.logSumExp(logPi, 0, true));
    }
    return tf.div(tf.sum(tf.mul(tf.exp(logPi), cost)), b) as tf.Scalar;
  });
}
