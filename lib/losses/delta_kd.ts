/**
 * Delta-KD (Cao, Kang, Xing, Jiang, arXiv 2509.14526, "Delta Knowledge Distillation for Large
 * Language Models"): three frozen models — the student's own base (pretrained) model, the teacher's
 * base model and the teacher after SFT — give a synthetic target that applies the teacher's SFT
 * shift to the student's base distribution, and the student is trained towards it with KL.
 *
 * ASSUMPTION (the paper's exact operator and defaults were not available): the shift is applied in
 * log-probability space, log π* = log π_base_S + κ·(log π_SFT_T − log π_base_T) + const (a
 * "parallelogram" in logit space), κ = 1 by default; loss KL(π* ‖ q_S) at temperature T.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forwardKL } from "./forward_kl.ts";
import type { PointwiseOptions } from "./pointwise.ts";
import { checkTemperature, toRows } from "./validate.ts";

/** Options of {@linkcode deltaKD}. */
export interface DeltaKDOptions extends PointwiseOptions {
  /** Logits of the teacher before SFT (same shape as the SFT teacher's). */
  teacherBaseLogits?: tf.Tensor;
  /** Logits of the student's frozen base model. */
  studentBaseLogits?: tf.Tensor;
  /** Scale κ of the shift (default 1). */
  kappa?: number;
}

/** The Delta-KD target's logits (log π* up to a constant, at temperature 1). */
export function deltaKDTarget(
  teacherSFTLogits: tf.Tensor,
  teacherBaseLogits: tf.Tensor,
  studentBaseLogits: tf.Tensor,
  kappa: number,
  temperature: number,
): tf.Tensor {
  return tf.tidy(() => {
    const l = (z: tf.Tensor) => tf.logSoftmax(tf.div(z, temperature));
    return tf.add(
      l(studentBaseLogits),
      tf.mul(kappa, tf.sub(l(teacherSFTLogits), l(teacherBaseLogits))),
    );
  });
}

/** Delta-KD; `teacherLogits` are the SFT teacher's; see the module doc for the assumed operator. */
export function deltaKD(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: DeltaKDOptions = {},
): tf.Scalar {
  const temperature = checkTemperature("deltaKD", options.temperature);
  const kappa = options.kappa ?? 1;
  if (!Number.isFinite(kappa)) throw new Error(`deltaKD: kappa must be finite, got ${kappa}`);
  const { teacherBaseLogits, studentBaseLogits } = options;
  if (!teacherBaseLogits || !studentBaseLogits) {
    throw new Error(
      "deltaKD: options.teacherBaseLogits and options.studentBaseLogits are required",
    );
  }
  return tf.tidy(() => {
    toRows("deltaKD", teacherLogits, teacherBaseLogits, options); // shapes and values of the extras
    toRows("deltaKD", teacherLogits, studentBaseLogits, options);
    const target = deltaKDTarget(
      teacherLogits,
      teacherBaseLogits,
      studentBaseLogits,
      kappa,
      temperature,
    );
    // forwardKL divides by T again: hand it the target log-probabilities scaled back by T.
    return forwardKL(tf.mul(target, temperature), studentLogits, options);
  });
}
