/**
 * Feature-regression losses of multi-teacher distillation, as compared in the PHI-S paper
 * (Ranzinger et al., arXiv 2410.01680, §2.1): MSE (eq. 1), cosine distance (eq. 2), AM-RADIO's
 * hybrid of cosine and smooth-L1 (eq. 3) and the cosine–MSE hybrid (eq. 4). Predictions and
 * targets are `[N, C]` (one feature vector per row); every loss is a mean, so teachers of different
 * widths and batch sizes are comparable.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Feature losses by name. */
export const FEATURE_LOSSES = [
  "mse",
  "cosine",
  "smooth-l1",
  "hybrid-cosine-smooth-l1",
  "hybrid-cosine-mse",
] as const;

/** One of {@link FEATURE_LOSSES}. */
export type FeatureLossName = typeof FEATURE_LOSSES[number];

/** Options of the feature losses. */
export interface FeatureLossOptions {
  /** Hybrid weight β of the cosine term (default 0.9, paper eq. 3–4). */
  beta?: number;
  /** Smooth-L1 threshold b (default 2, NVIDIA TAO's `BalancedFeatureLoss`; the paper gives none). */
  threshold?: number;
}

function check(prediction: tf.Tensor, target: tf.Tensor, who: string): void {
  if (prediction.rank !== 2 || target.rank !== 2) {
    throw new Error(
      `${who}: prediction and target must be [N, C], got [${prediction.shape}] and [${target.shape}]`,
    );
  }
  if (prediction.shape[0] !== target.shape[0] || prediction.shape[1] !== target.shape[1]) {
    throw new Error(
      `${who}: prediction [${prediction.shape}] and target [${target.shape}] differ in shape`,
    );
  }
  if (prediction.shape[0] === 0) throw new Error(`${who}: empty batch`);
}

/** Mean over all elements of (x − y)² (eq. 1). */
export function featureMSE(prediction: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  check(prediction, target, "featureMSE");
  return tf.tidy(() => tf.mean(tf.squaredDifference(prediction, target)) as tf.Scalar);
}

/** Mean over rows of 1 − xᵀy / (‖x‖‖y‖), norms floored at 1e-8 (eq. 2). */
export function featureCosine(prediction: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  check(prediction, target, "featureCosine");
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(prediction, target), 1);
    const norms = tf.mul(
      tf.maximum(tf.norm(prediction, 2, 1), 1e-8),
      tf.maximum(tf.norm(target, 2, 1), 1e-8),
    );
    return tf.mean(tf.sub(1, tf.div(dot, norms))) as tf.Scalar;
  });
}

/** Smooth-L1 (Girshick, "Fast R-CNN", 2015): ½d²/b where |d| < b, else |d| − ½b; a mean. */
export function featureSmoothL1(
  prediction: tf.Tensor2D,
  target: tf.Tensor2D,
  threshold = 2,
): tf.Scalar {
  check(prediction, target, "featureSmoothL1");
  if (!(threshold > 0)) throw new Error(`featureSmoothL1: threshold must be > 0, got ${threshold}`);
  return tf.tidy(() => {
    // m = min(|d|, b): m·(|d| − m/2)/b is ½d²/b below b and |d| − ½b above, with no branch.
    const d = tf.abs(tf.sub(prediction, target));
    const m = tf.minimum(d, threshold);
    return tf.mean(tf.div(tf.mul(m, tf.sub(d, tf.div(m, 2))), threshold)) as tf.Scalar;
  });
}

/** A feature loss by name (see {@link FEATURE_LOSSES}). */
export function featureLoss(
  name: FeatureLossName,
  prediction: tf.Tensor2D,
  target: tf.Tensor2D,
  options: FeatureLossOptions = {},
): tf.Scalar {
  const beta = options.beta ?? 0.9;
  if (!(beta >= 0 && beta <= 1)) {
    throw new Error(`featureLoss: beta must be in [0, 1], got ${beta}`);
  }
  switch (name) {
    case "mse":
      return featureMSE(prediction, target);
    case "cosine":
      return featureCosine(prediction, target);
    case "smooth-l1":
      return featureSmoothL1(prediction, target, options.threshold);
    case "hybrid-cosine-smooth-l1":
      return tf.tidy(() =>
        tf.add(
          tf.mul(beta, featureCosine(prediction, target)),
          tf.mul(1 - beta, featureSmoothL1(prediction, target, options.threshold)),
        ) as tf.Scalar
      );
    case "hybrid-cosine-mse":
      return tf.tidy(() =>
        tf.add(
          tf.mul(beta, featureCosine(prediction, target)),
          tf.mul(1 - beta, featureMSE(prediction, target)),
        ) as tf.Scalar
      );
    default:
      throw new Error(
        `featureLoss: unknown loss "${name}"; expected one of ${FEATURE_LOSSES.join(", ")}`,
      );
  }
}
