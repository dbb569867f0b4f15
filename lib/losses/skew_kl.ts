/**
 * Skew KL and skew reverse KL (DistiLLM, Ko et al. ICML 2024, Eqs. 3–4):
 * SKL_α = KL(p_T ‖ α·p_T + (1−α)·q_S) and SRKL_α = KL(q_S ‖ (1−α)·p_T + α·q_S), default α = 0.1.
 * The student enters the mixture with gradient. Both return true KL values (DistiLLM's code logs
 * the cross-entropy form of SKL; the gradients agree).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { logMix } from "./log_mix.ts";
import { type PointwiseKernel, pointwiseLoss, type PointwiseOptions } from "./pointwise.ts";
import { checkRange } from "./validate.ts";

/** Options of {@linkcode skewKL} and {@linkcode skewReverseKL}. */
export interface SkewKLOptions extends PointwiseOptions {
  /** Skew α ∈ [0, 1] (default 0.1); SKL puts α on the teacher, SRKL on the student. */
  alpha?: number;
}

/** SKL_α per row; with m = αp + (1−α)q, ∂/∂ℓq = −(1−α)·p·q/m. */
export function skewKLKernel(alpha: number): PointwiseKernel {
  return {
    value: (lp, lq) =>
      tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, logMix(lp, lq, alpha))), 1) as tf.Tensor1D,
    gradLogQ: (lp, lq) =>
      tf.mul(-(1 - alpha), tf.exp(tf.sub(tf.add(lp, lq), logMix(lp, lq, alpha)))) as tf.Tensor2D,
    ...(alpha > 0 && alpha < 1 ? { fused: { kind: "skl" as const, alpha } } : {}),
  };
}

/** SRKL_α per row; with m = (1−α)p + αq, ∂/∂ℓq = q·(ℓq − log m + 1 − α·q/m). */
export function skewReverseKLKernel(alpha: number): PointwiseKernel {
  return {
    value: (lp, lq) =>
      tf.sum(tf.mul(tf.exp(lq), tf.sub(lq, logMix(lp, lq, 1 - alpha))), 1) as tf.Tensor1D,
    gradLogQ: (lp, lq) => {
      const lm = logMix(lp, lq, 1 - alpha);
      const q = tf.exp(lq);
      const base = tf.add(tf.sub(lq, lm), 1);
      // α·q/m ≤ 1 for α > 0 (m ≥ α·q); at α = 0 the term vanishes, and exp(ℓq − ℓm) may overflow.
      const g = alpha === 0 ? base : tf.sub(base, tf.mul(alpha, tf.exp(tf.sub(lq, lm))));
      return tf.mul(q, g) as tf.Tensor2D;
    },
    ...(alpha > 0 && alpha < 1 ? { fused: { kind: "srkl" as const, alpha } } : {}),
  };
}

/** Skew KL, KL(p_T ‖ α·p_T + (1−α)·q_S). α = 0 gives forward KL. */
export function skewKL(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: SkewKLOptions = {},
): tf.Scalar {
  const alpha = options.alpha ?? 0.1;
  checkRange("skewKL", "alpha", alpha, 0, 1);
  return pointwiseLoss(
    "skewKL",
    skewKLKernel(alpha),
    teacherLogits,
    studentLogits,
    options,
  ) as tf.Scalar;
}

/** Skew reverse KL, KL(q_S ‖ (1−α)·p_T + α·q_S). α = 0 gives reverse KL. */
export function skewReverseKL(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: SkewKLOptions = {},
): tf.Scalar {
  const alpha = options.alpha ?? 0.1;
  checkRange("skewReverseKL", "alpha", alpha, 0, 1);
  return pointwiseLoss(
    "skewReverseKL",
    skewReverseKLKernel(alpha),
    teacherLogits,
    studentLogits,
    options,
  ) as tf.Scalar;
}
