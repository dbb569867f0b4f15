/**
 * Forward KL, KL(p_T ‖ q_S) = Σ p·(log p − log q): the classic distillation objective
 * (Hinton et al. 2015, Eq. 2 without the T² factor; the "KL" baseline of TAID Table 1).
 * Returns the true KL (not the cross-entropy form −Σ p·log q, which differs by H(p)).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type PointwiseKernel, pointwiseLoss, type PointwiseOptions } from "./pointwise.ts";

/** KL(p‖q) per row; ∂/∂ℓq = −p. 0·log 0 = 0 because p = exp(ℓp) and ℓp stays finite. */
export const forwardKLKernel: PointwiseKernel = {
  value: (lp, lq) => tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), 1) as tf.Tensor1D,
  gradLogQ: (lp) => tf.neg(tf.exp(lp)) as tf.Tensor2D,
  fused: { kind: "fkl" },
};

/**
 * Forward KL between softmax(teacher/T) and softmax(student/T), mean over unmasked positions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { forwardKL } from "./forward_kl.ts";
 * // KL(softmax(z_T / 2) ‖ softmax(z_S / 2)), no T² factor (hintonKD has it).
 * const loss = forwardKL(tf.tensor2d([[0, 2, -1]]), tf.tensor2d([[1, 0, 0]]), { temperature: 2 });
 * assert.ok(Math.abs((await loss.data())[0] - 0.2728056) < 1e-6); // computed in float64
 * ```
 */
export function forwardKL(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: PointwiseOptions = {},
): tf.Scalar {
  return pointwiseLoss(
    "forwardKL",
    forwardKLKernel,
    teacherLogits,
    studentLogits,
    options,
  ) as tf.Scalar;
}
