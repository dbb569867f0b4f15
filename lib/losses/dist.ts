/**
 * DIST (Huang, You, Wang, Qian & Xu, NeurIPS 2022, "Knowledge Distillation from A Stronger
 * Teacher"): match the teacher's predictions up to their *relations* rather than exactly. With
 * Y_S = softmax(Z_S/τ) and Y_T = softmax(Z_T/τ) over a batch (B rows × C classes) and
 * d(u, v) = 1 − ρ(u, v), ρ the Pearson correlation:
 *
 * - inter-class relation: the mean over rows of d(Y_S[i, :], Y_T[i, :]) (each sample's ranking of
 *   the classes, invariant to a shift and a positive scale of its probabilities);
 * - intra-class relation: the mean over classes of d(Y_S[:, j], Y_T[:, j]) (how each class's
 *   probability varies across the batch);
 * - L = ceWeight·CE(Z_S, y) + τ²·(β·inter + γ·intra).
 *
 * As the released `dist_kd.py`, ρ is the cosine of the centred vectors, with ε = 1e-8 in the
 * denominator; here it enters as √(‖a‖²‖b‖² + ε²) rather than ‖a‖‖b‖ + ε, so a constant vector
 * (zero once centred) has ρ = 0 and a finite gradient. Defaults are the released ImageNet loss:
 * τ = 1, β = γ = 1, and CE at weight 1. With a mask, masked positions are dropped from both
 * relations (the column means and sums run over unmasked rows only).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { checkRange, checkTemperature, type LossOptions, reduceRows, toRows } from "./validate.ts";

/** Options of {@linkcode dist}. */
export interface DISTOptions extends Omit<LossOptions, "reduction"> {
  /** Weight β of the inter-class (per-sample) relation (default 1). */
  beta?: number;
  /** Weight γ of the intra-class (per-class, across the batch) relation (default 1). */
  gamma?: number;
  /** Weight of the cross-entropy with the labels at T = 1 (default 1; 0 needs no labels). */
  ceWeight?: number;
  /** Class ids [N], needed when ceWeight > 0. */
  labels?: tf.Tensor | number[];
}

/** The Pearson ε of the released code. */
const EPSILON = 1e-8;

/**
 * Pearson correlation of `a` and `b` along `axis` (0: columns, 1: rows); for columns, `weight`
 * (0/1 per row) counts only the rows whose weight is 1. See the module doc for ε.
 */
export function pearsonCorrelation(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  axis: 0 | 1,
  weight?: tf.Tensor1D,
): tf.Tensor1D {
  if (weight && axis !== 0) {
    throw new Error(
      "pearsonCorrelation: weight selects rows, so it applies to columns (axis 0) only; " +
        "drop the rows' results instead",
    );
  }
  return tf.tidy(() => {
    const w = weight?.expandDims(1);
    const centre = (x: tf.Tensor2D) => {
      if (!w) return tf.sub(x, tf.mean(x, axis, true));
      // Column means over the rows that count; rows that do not are zeroed after centring.
      const mean = tf.div(tf.sum(tf.mul(x, w), 0, true), tf.maximum(tf.sum(w), 1));
      return tf.mul(tf.sub(x, mean), w);
    };
    const ca = centre(a), cb = centre(b);
    const dot = tf.sum(tf.mul(ca, cb), axis);
    const norms = tf.mul(tf.sum(tf.square(ca), axis), tf.sum(tf.square(cb), axis));
    return tf.div(dot, tf.sqrt(tf.add(norms, EPSILON * EPSILON))) as tf.Tensor1D;
  });
}

/** DIST's loss; see the module doc. Needs at least 2 (unmasked) rows for the intra-class term. */
export function dist(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: DISTOptions = {},
): tf.Scalar {
  const temperature = checkTemperature("dist", options.temperature);
  const { beta = 1, gamma = 1, ceWeight = 1 } = options;
  checkRange("dist", "beta", beta, 0, Infinity);
  checkRange("dist", "gamma", gamma, 0, Infinity);
  checkRange("dist", "ceWeight", ceWeight, 0, Infinity);
  return tf.tidy(() => {
    const rows = toRows("dist", teacherLogits, studentLogits, options);
    if (rows.student.shape[0] < 2 && gamma > 0) {
      throw new Error(
        `dist: the intra-class relation correlates each class across the batch, so it needs at ` +
          `least 2 rows, got ${rows.student.shape[0]} (or set gamma to 0)`,
      );
    }
    const ys = tf.softmax(tf.div(rows.student, temperature)) as tf.Tensor2D;
    const yt = tf.softmax(tf.div(rows.teacher, temperature)) as tf.Tensor2D;
    const inter = reduceRows(tf.sub(1, pearsonCorrelation(ys, yt, 1)) as tf.Tensor1D, rows);
    const intra = tf.sub(1, tf.mean(pearsonCorrelation(ys, yt, 0, rows.mask)));
    const relations = tf.mul(
      temperature * temperature,
      tf.add(tf.mul(beta, inter), tf.mul(gamma, intra)),
    );
    if (ceWeight === 0) return relations as tf.Scalar;
    const y = checkLabels("dist", options.labels, rows.student.shape[0], rows.vocab);
    const ce = reduceRows(crossEntropyRows(rows.student, y), rows);
    return tf.add(relations, tf.mul(ceWeight, ce)) as tf.Scalar;
  });
}
