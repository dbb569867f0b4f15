/**
 * Dual-head KD (Yang et al. 2024, arXiv 2411.08937, "Dual-Head Knowledge Distillation"): the
 * student keeps its main head for cross-entropy and adds an auxiliary head trained only on a
 * logit-level loss, BinaryKL-Norm: T²·Σ_c KL(Bern(½) ‖ Bern(σ(d_c))) with d = (z_aux − z_T)/T,
 * in closed form −log 2 + ½·softplus(d) + ½·softplus(−d) per class (minimum at z_aux = z_T).
 * Total L = γ·CE(main, y) + α·BinaryKLNorm(aux, teacher). Defaults: T = 2, γ = 1, α = 1 (CIFAR).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { checkTemperature, type LossOptions, reduceRows, toRows } from "./validate.ts";

/** Options of {@linkcode dualHeadKD}. */
export interface DualHeadKDOptions extends LossOptions {
  /** The auxiliary head's logits [N, C] (the student argument is the main head). */
  auxLogits?: tf.Tensor;
  /** Class ids [N] for the main head's cross-entropy. */
  labels?: tf.Tensor | number[];
  /** Weight of the main head's cross-entropy (default 1). */
  gamma?: number;
  /** Weight of BinaryKL-Norm on the auxiliary head (default 1). */
  alpha?: number;
}

/** BinaryKL-Norm per row (sum over classes), T² included. */
export function binaryKLNormRows(
  teacher: tf.Tensor2D,
  aux: tf.Tensor2D,
  temperature: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const d = tf.div(tf.sub(aux, teacher), temperature);
    const perClass = tf.add(
      -Math.log(2),
      tf.mul(0.5, tf.add(tf.softplus(d), tf.softplus(tf.neg(d)))),
    );
    return tf.mul(temperature * temperature, tf.sum(perClass, 1)) as tf.Tensor1D;
  });
}

/** Dual-head KD; `studentLogits` is the main head, `options.auxLogits` the auxiliary head. */
export function dualHeadKD(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: DualHeadKDOptions = {},
): tf.Scalar {
  const temperature = checkTemperature("dualHeadKD", options.temperature ?? 2);
  const { gamma = 1, alpha = 1 } = options;
  if (!options.auxLogits) {
    throw new Error("dualHeadKD: options.auxLogits (the auxiliary head's logits) is required");
  }
  return tf.tidy(() => {
    const main = toRows("dualHeadKD", teacherLogits, studentLogits, options);
    const aux = toRows("dualHeadKD", teacherLogits, options.auxLogits!, {
      ...options,
      validate: true,
    });
    const y = checkLabels("dualHeadKD", options.labels, main.student.shape[0], main.vocab);
    const perRow = tf.add(
      tf.mul(gamma, crossEntropyRows(main.student, y)),
      tf.mul(alpha, binaryKLNormRows(aux.teacher, aux.student, temperature)),
    );
    return reduceRows(perRow as tf.Tensor1D, main, options.reduction) as tf.Scalar;
  });
}
