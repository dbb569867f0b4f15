/**
 * Generalized Jensen–Shannon divergence (Agarwal et al. ICLR 2024, "On-Policy Distillation of
 * Language Models: Learning from Self-Generated Mistakes", Eq. 1; TRL's definition):
 * m = β·p_T + (1−β)·q_S, JSD_β = β·KL(p_T‖m) + (1−β)·KL(q_S‖m). β weights the teacher.
 * As in TRL, β = 0 returns exactly FKL and β = 1 exactly RKL (the interior formula tends to 0 at
 * both ends, so the objective is discontinuous there).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forwardKLKernel } from "./forward_kl.ts";
import { logMix } from "./log_mix.ts";
import { reverseKLKernel } from "./reverse_kl.ts";
import { type PointwiseKernel, pointwiseLoss, type PointwiseOptions } from "./pointwise.ts";
import { checkRange } from "./validate.ts";

/** Options of {@linkcode generalizedJSD}. */
export interface GeneralizedJSDOptions extends PointwiseOptions {
  /** Teacher weight β ∈ [0, 1] (default 0.5). */
  beta?: number;
}

/** JSD_β per row; ∂/∂ℓq = (1−β)·q·(ℓq − log m). */
export function generalizedJSDKernel(beta: number): PointwiseKernel {
  if (beta === 0) return forwardKLKernel;
  if (beta === 1) return reverseKLKernel;
  return {
    value: (lp, lq) => {
      const lm = logMix(lp, lq, beta);
      const kl = (la: tf.Tensor) => tf.sum(tf.mul(tf.exp(la), tf.sub(la, lm)), 1);
      return tf.add(tf.mul(beta, kl(lp)), tf.mul(1 - beta, kl(lq))) as tf.Tensor1D;
    },
    gradLogQ: (lp, lq) =>
      tf.mul(1 - beta, tf.mul(tf.exp(lq), tf.sub(lq, logMix(lp, lq, beta)))) as tf.Tensor2D,
    fused: { kind: "gjsd", beta },
  };
}

/** Generalized JSD between softmax(teacher/T) and softmax(student/T); see the module doc. */
export function generalizedJSD(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: GeneralizedJSDOptions = {},
): tf.Scalar {
  const beta = options.beta ?? 0.5;
  checkRange("generalizedJSD", "beta", beta, 0, 1);
  return pointwiseLoss(
    "generalizedJSD",
    generalizedJSDKernel(beta),
    teacherLogits,
    studentLogits,
    options,
  ) as tf.Scalar;
}
