/**
 * Normalized KD (Yang et al., ICCV 2023, "From Knowledge Distillation to Self-Knowledge
 * Distillation: A Unified Approach with Normalized Loss and Customized Soft Labels", Eq. 8):
 * L = w_ce·CE − p_y^T·log q_y − γ·T²·Σ_{i≠y} p̂_i^T·log q̂_i, where the target term is at T = 1
 * and p̂, q̂ are softmaxes at T over the non-target classes only. Defaults (ImageNet): T = 1,
 * γ = 1.5, w_ce = 1.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { checkTemperature, type LossOptions, reduceRows, toRows } from "./validate.ts";

/** Options of {@linkcode nkd}. */
export interface NKDOptions extends LossOptions {
  /** Class ids [N] (NKD normalises the non-target classes). */
  labels?: tf.Tensor | number[];
  /** Non-target weight γ (default 1.5). */
  gamma?: number;
  /** Cross-entropy weight (default 1). */
  ceWeight?: number;
}

/** Normalized KD; see the module doc. */
export function nkd(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: NKDOptions = {},
): tf.Scalar {
  const temperature = checkTemperature("nkd", options.temperature);
  const { gamma = 1.5, ceWeight = 1 } = options;
  return tf.tidy(() => {
    const rows = toRows("nkd", teacherLogits, studentLogits, options);
    const y = checkLabels("nkd", options.labels, rows.student.shape[0], rows.vocab);
    const onehot = tf.oneHot(y, rows.vocab).toFloat();
    const pick = (x: tf.Tensor) => tf.sum(tf.mul(onehot, x), 1);
    const targetTerm = tf.neg(
      tf.mul(pick(tf.softmax(rows.teacher)), pick(tf.logSoftmax(rows.student))),
    );
    const rest = (z: tf.Tensor2D) =>
      tf.logSoftmax(tf.sub(tf.div(z, temperature), tf.mul(onehot, 1e9)));
    const lt = rest(rows.teacher), ls = rest(rows.student);
    const nonTarget = tf.neg(tf.sum(tf.mul(tf.mul(tf.exp(lt), tf.sub(1, onehot)), ls), 1));
    const perRow = tf.addN([
      tf.mul(ceWeight, crossEntropyRows(rows.student, y)),
      targetTerm,
      tf.mul(gamma * temperature * temperature, nonTarget),
    ]);
    return reduceRows(perRow as tf.Tensor1D, rows, options.reduction) as tf.Scalar;
  });
}
