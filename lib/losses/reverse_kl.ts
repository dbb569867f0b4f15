/**
 * Reverse KL, KL(q_S ‖ p_T) = Σ q·(log q − log p): mode-seeking distillation (MiniLLM's token-level
 * term, Gu et al. ICLR 2024; the "RKL" baseline of TAID Table 1).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type PointwiseKernel, pointwiseLoss, type PointwiseOptions } from "./pointwise.ts";

/** KL(q‖p) per row; ∂/∂ℓq = q·(ℓq − ℓp + 1). */
export const reverseKLKernel: PointwiseKernel = {
  value: (lp, lq) => tf.sum(tf.mul(tf.exp(lq), tf.sub(lq, lp)), 1) as tf.Tensor1D,
  gradLogQ: (lp, lq) => tf.mul(tf.exp(lq), tf.add(tf.sub(lq, lp), 1)) as tf.Tensor2D,
  fused: { kind: "rkl" },
};

/** Reverse KL between softmax(student/T) and softmax(teacher/T), mean over unmasked positions. */
export function reverseKL(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: PointwiseOptions = {},
): tf.Scalar {
  return pointwiseLoss(
    "reverseKL",
    reverseKLKernel,
    teacherLogits,
    studentLogits,
    options,
  ) as tf.Scalar;
}
