/**
 * Logit standardization (Sun, Ren, Li, Wang & Cao, CVPR 2024, "Logit Standardization in Knowledge
 * Distillation"): a Z-score of each row of logits, (z − mean(z)) / (std(z) + 1e-7), applied to the
 * teacher's and the student's logits before the temperature softmax of a logit-based KD loss. A
 * shared temperature then no longer forces the student to match the teacher's logit range and
 * variance, only their relations; the effective temperature of each model becomes its own
 * std(z)·T. As the released code (`normalize` in mdistiller's `KD.py` of the paper's repository),
 * std is the unbiased one (divisor V − 1) and the gradient flows through the student's mean and
 * std. Used by `hintonKD`'s `standardize` option; their KD recipe on CIFAR-100 is T = 2 with the
 * KD term at weight 9 and CE at 0.1.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The ε the released code adds to the standard deviation. */
export const STANDARDIZATION_EPSILON = 1e-7;

/**
 * Z-scores logits along their last axis (the classes): (z − mean) / (unbiased std + 1e-7).
 * Needs at least 2 classes.
 */
export function standardizeLogits(logits: tf.Tensor, fn = "standardizeLogits"): tf.Tensor {
  const classes = logits.shape.at(-1) ?? 0;
  if (classes < 2) {
    throw new Error(
      `${fn}: logit standardization needs at least 2 classes on the last axis, got shape ` +
        `[${logits.shape}]`,
    );
  }
  return tf.tidy(() => {
    const centred = tf.sub(logits, tf.mean(logits, -1, true));
    const variance = tf.div(tf.sum(tf.square(centred), -1, true), classes - 1);
    return tf.div(centred, tf.add(tf.sqrt(variance), STANDARDIZATION_EPSILON));
  });
}
