/**
 * A general f-divergence D_f(p_T ‖ q_S) = Σ_i q_i·f(p_i/q_i) (Csiszár 1967; the f-distill framework
 * of Wen et al. ACL 2023, §2.2, Table 1), for any convex f with f(1) = 0 written with tfjs ops.
 * Composite autodiff; the ratio is exp(ℓp − ℓq), so very confident mismatches can overflow: prefer
 * the dedicated functions (forwardKL, reverseKL, totalVariation, generalizedJSD) for those cases.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkTemperature, type LossOptions, reduceRows, toRows } from "./validate.ts";

/** The generator f of an f-divergence, applied elementwise to the ratio r = p/q. */
export type FGenerator = (ratio: tf.Tensor) => tf.Tensor;

/** A divergence between teacher and student logits (rows over the last axis), as a loss. */
export type LogitDivergence = (
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options?: LossOptions,
) => tf.Scalar;

/** Common generators: KL (t log t), reverse KL (−log t), TVD (½|t−1|), JS and squared Hellinger. */
export const F_GENERATORS: Record<string, FGenerator> = {
  kl: (r) => tf.mul(r, tf.log(r)),
  reverseKL: (r) => tf.neg(tf.log(r)),
  tvd: (r) => tf.mul(0.5, tf.abs(tf.sub(r, 1))),
  js: (r) =>
    tf.mul(
      0.5,
      tf.sub(tf.mul(r, tf.log(r)), tf.mul(tf.add(r, 1), tf.log(tf.div(tf.add(r, 1), 2)))),
    ),
  hellinger: (r) => tf.square(tf.sub(tf.sqrt(r), 1)),
};

/**
 * Returns the loss `(teacher, student, options) → D_f(p_T ‖ q_S)` for the generator `f`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { F_GENERATORS, fDivergence } from "./f_divergence.ts";
 * const hellinger = fDivergence(F_GENERATORS.hellinger); // f(r) = (√r − 1)²
 * // p = (1/4, 3/4), q = (1/2, 1/2): Σ q·f(p/q) = Σ (√p − √q)²
 * const loss = hellinger(tf.tensor2d([[0, Math.log(3)]]), tf.tensor2d([[0, 0]]));
 * const expected = (0.5 - Math.sqrt(0.5)) ** 2 + (Math.sqrt(0.75) - Math.sqrt(0.5)) ** 2;
 * assert.ok(Math.abs((await loss.data())[0] - expected) < 1e-6); // 0.068148
 * ```
 */
export function fDivergence(f: FGenerator, name = "fDivergence"): LogitDivergence {
  return (
    teacherLogits: tf.Tensor,
    studentLogits: tf.Tensor,
    options: LossOptions = {},
  ): tf.Scalar => {
    const temperature = checkTemperature(name, options.temperature);
    return tf.tidy(() => {
      const rows = toRows(name, teacherLogits, studentLogits, options);
      const lp = tf.logSoftmax(tf.div(rows.teacher, temperature));
      const lq = tf.logSoftmax(tf.div(rows.student, temperature));
      const perRow = tf.sum(tf.mul(tf.exp(lq), f(tf.exp(tf.sub(lp, lq)))), 1);
      return reduceRows(perRow as tf.Tensor1D, rows, options.reduction) as tf.Scalar;
    });
  };
}
