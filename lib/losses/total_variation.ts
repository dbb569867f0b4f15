/**
 * Total variation distance, ½ Σ |p_T − q_S| (f-distill, Wen et al. ACL 2023, Table 1; the "TVD"
 * baseline of TAID Table 1). Subgradient ½·sign(q − p) per probability, 0 at ties.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sign } from "../models/ops.ts";
import { type PointwiseKernel, pointwiseLoss, type PointwiseOptions } from "./pointwise.ts";

/** ½Σ|p − q| per row; ∂/∂ℓq = ½·sign(q − p)·q. */
export const totalVariationKernel: PointwiseKernel = {
  value: (lp, lq) => tf.mul(0.5, tf.sum(tf.abs(tf.sub(tf.exp(lp), tf.exp(lq))), 1)) as tf.Tensor1D,
  gradLogQ: (lp, lq) => {
    const q = tf.exp(lq);
    return tf.mul(tf.mul(0.5, sign(tf.sub(q, tf.exp(lp)))), q) as tf.Tensor2D;
  },
  fused: { kind: "tvd" },
};

/** Total variation distance between softmax(teacher/T) and softmax(student/T). */
export function totalVariation(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: PointwiseOptions = {},
): tf.Scalar {
  return pointwiseLoss(
    "totalVariation",
    totalVariationKernel,
    teacherLogits,
    studentLogits,
    options,
  ) as tf.Scalar;
}
