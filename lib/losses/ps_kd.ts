/**
 * Progressive self-KD (Kim et al., ICCV 2021, "Self-Knowledge Distillation with Progressive
 * Refinement of Targets", Eq. 4): no teacher; the target is ỹ = (1 − α_t)·onehot(y) + α_t·p_prev,
 * where p_prev is the model's own softmax for that sample recorded in the previous epoch and
 * α_t = α_T·(e + 1)/E (epoch e 0-indexed, α_T = 0.8). The loss is the soft-target cross-entropy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkLabels } from "./labels.ts";
import { checkRange, checkValues } from "./validate.ts";

/** α_t = α_T·(epoch + 1)/epochs for a 0-indexed epoch. */
export function psKDAlpha(epoch: number, epochs: number, alphaT = 0.8): number {
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new Error(`psKDTargets: epochs must be a positive integer, got ${epochs}`);
  }
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= epochs) {
    throw new Error(`psKDTargets: epoch must be an integer in [0, ${epochs}), got ${epoch}`);
  }
  checkRange("psKDTargets", "alphaT", alphaT, 0, 1);
  return alphaT * (epoch + 1) / epochs;
}

/** The PS-KD targets ỹ [N, C] from labels and the previous epoch's probabilities [N, C]. */
export function psKDTargets(
  labels: tf.Tensor | number[],
  previousProbs: tf.Tensor2D,
  epoch: number,
  epochs: number,
  alphaT = 0.8,
): tf.Tensor2D {
  const alpha = psKDAlpha(epoch, epochs, alphaT);
  return tf.tidy(() => {
    const [n, c] = previousProbs.shape;
    const y = checkLabels("psKDTargets", labels, n, c);
    return tf.add(
      tf.mul(1 - alpha, tf.oneHot(y, c).toFloat()),
      tf.mul(alpha, previousProbs),
    ) as tf.Tensor2D;
  });
}

/** Soft-target cross-entropy mean_b Σ −ỹ·log softmax(z) for targets [N, C] and logits [N, C]. */
export function softTargetCrossEntropy(targets: tf.Tensor2D, logits: tf.Tensor2D): tf.Scalar {
  if (targets.shape.join() !== logits.shape.join()) {
    throw new Error(
      `softTargetCrossEntropy: targets [${targets.shape}] and logits [${logits.shape}] differ`,
    );
  }
  checkValues("softTargetCrossEntropy", targets, logits);
  return tf.tidy(() =>
    tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar
  );
}
