/**
 * Hinton KD (Hinton, Vinyals, Dean 2015, "Distilling the Knowledge in a Neural Network", §2):
 * L = w_ce·CE(z_S, y) + w_kd·T²·KL(softmax(z_T/T) ‖ softmax(z_S/T)). The T² keeps the soft-target
 * gradient's scale independent of T. Defaults follow mdistiller's CIFAR recipe except the weights:
 * T = 4, w_ce = 0 (no labels needed), w_kd = 1; mdistiller uses w_ce 0.1, w_kd 0.9. With
 * `standardize`, both models' logits are Z-scored per row before the soft term (Sun et al., CVPR
 * 2024, `logit_standardization.ts`); the CE term keeps the raw logits.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forwardKL } from "./forward_kl.ts";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { standardizeLogits } from "./logit_standardization.ts";
import type { PointwiseOptions } from "./pointwise.ts";
import { reduceRows, toRows } from "./validate.ts";

/** Options of {@linkcode hintonKD}. */
export interface HintonKDOptions extends PointwiseOptions {
  /** Class ids [N], needed when ceWeight > 0. */
  labels?: tf.Tensor | number[];
  /** Weight of the hard-label cross-entropy at T = 1 (default 0). */
  ceWeight?: number;
  /** Weight of the soft term T²·KL (default 1). */
  kdWeight?: number;
  /** Z-score each row of both models' logits before the soft term (logit standardization). */
  standardize?: boolean;
}

/** Hinton KD; see the module doc. */
export function hintonKD(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: HintonKDOptions = {},
): tf.Scalar {
  const temperature = options.temperature ?? 4;
  const ceWeight = options.ceWeight ?? 0;
  const kdWeight = options.kdWeight ?? 1;
  if (options.standardize !== undefined && typeof options.standardize !== "boolean") {
    throw new Error(`hintonKD: standardize must be true or false, got ${options.standardize}`);
  }
  return tf.tidy(() => {
    const [t, s] = options.standardize
      ? [standardizeLogits(teacherLogits, "hintonKD"), standardizeLogits(studentLogits, "hintonKD")]
      : [teacherLogits, studentLogits];
    const soft = tf.mul(
      kdWeight * temperature * temperature,
      forwardKL(t, s, { ...options, temperature }),
    );
    if (ceWeight === 0) return soft as tf.Scalar;
    const rows = toRows("hintonKD", teacherLogits, studentLogits, { ...options, validate: false });
    const y = checkLabels("hintonKD", options.labels, rows.student.shape[0], rows.vocab);
    const ce = reduceRows(crossEntropyRows(rows.student, y), rows, options.reduction);
    return tf.add(soft, tf.mul(ceWeight, ce)) as tf.Scalar;
  });
}
