/**
 * Correlation congruence (Peng, Jin, Liu, Zhou, Wu, Liu, Li & Zhang, ICCV 2019, "Correlation
 * Congruence for Knowledge Distillation", CCKD): besides each example's own output, the student
 * should reproduce how the teacher's embeddings of a batch's examples correlate with each other.
 * The correlation of two embeddings is a Gaussian RBF kernel, exp(−γ‖f̂_i − f̂_j‖²), on the
 * L2-normalised features, which for unit vectors is e^{−2γ}·e^{2γ f̂_i·f̂_j}; the paper
 * approximates it by the Taylor series of the second exponential to order P,
 *
 *   ψ(F)_ij = Σ_{p=0..P} e^{−2γ} (2γ)^p / p! · (f̂_i·f̂_j)^p,
 *
 * and the loss is L_CC = ‖ψ(F_T) − ψ(F_S)‖²_F / B² over the batch's `[B, B]` matrices, so the two
 * widths need not match. Defaults are the paper's as released in the Knowledge-Distillation-Zoo
 * (γ = 0.4, P = 2). The CRD benchmark's `Correlation` loss (weight 0.02) is another, simpler
 * form, the products of consecutive examples' |f_S − f_T| through learned embeddings; this module
 * is the paper's kernel form.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkFeaturePair, normalizeRows } from "./checks.ts";

/** The kernel's γ and the Taylor series' order P of {@linkcode correlationCongruence}. */
export interface CorrelationCongruenceOptions {
  /** γ of the Gaussian RBF kernel exp(−γ‖f̂_i − f̂_j‖²), > 0; default 0.4. */
  gamma?: number;
  /** The order P of the Taylor expansion, an integer in [0, 20]; default 2. */
  order?: number;
}

/**
 * Throws unless γ and P are valid, naming `fn` and the option (after `prefix`, e.g. `config.`);
 * returns them with the defaults filled.
 */
export function checkCorrelationOptions(
  fn: string,
  options: CorrelationCongruenceOptions,
  prefix = "",
): { gamma: number; order: number } {
  const { gamma = 0.4, order = 2 } = options;
  if (!(typeof gamma === "number" && Number.isFinite(gamma) && gamma > 0)) {
    throw new Error(
      `${fn}: ${prefix}gamma must be a finite number > 0 (the RBF kernel's γ), got ${gamma}`,
    );
  }
  if (!(Number.isInteger(order) && order >= 0 && order <= 20)) {
    throw new Error(
      `${fn}: ${prefix}order must be an integer in [0, 20] (the Taylor series' P), got ${order}`,
    );
  }
  return { gamma, order };
}

/**
 * The batch's correlation matrix ψ(F) `[B, B]` of features `[B, d]`: the order-P Taylor
 * approximation of the Gaussian RBF kernel on the L2-normalised rows (see the module doc). A zero
 * row is normalised to zero, so its correlations are the series' constant e^{−2γ}.
 */
export function correlationMatrix(
  features: tf.Tensor2D,
  options: CorrelationCongruenceOptions = {},
): tf.Tensor2D {
  const { gamma, order } = checkCorrelationOptions("correlationMatrix", options);
  return tf.tidy(() => {
    const unit = normalizeRows(features) as tf.Tensor2D;
    const cosine = tf.matMul(unit, unit, false, true);
    // term_p = e^{−2γ}(2γ)^p/p! · cos^p, built from term_{p−1}.
    let term: tf.Tensor = tf.fill(cosine.shape, Math.exp(-2 * gamma));
    let total = term;
    for (let p = 1; p <= order; p++) {
      term = tf.mul(term, tf.mul(cosine, (2 * gamma) / p));
      total = tf.add(total, term);
    }
    return total as tf.Tensor2D;
  });
}

/**
 * CCKD's correlation-congruence loss between a teacher's and a student's features `[B, dT]`,
 * `[B, dS]` (B ≥ 2): the mean over the B² pairs of (ψ(F_T) − ψ(F_S))². The teacher is a constant.
 */
export function correlationCongruence(
  teacherFeatures: tf.Tensor,
  studentFeatures: tf.Tensor,
  options: CorrelationCongruenceOptions = {},
): tf.Scalar {
  checkFeaturePair("correlationCongruence", teacherFeatures, studentFeatures);
  const checked = checkCorrelationOptions("correlationCongruence", options);
  return tf.tidy(() => {
    const ct = correlationMatrix(teacherFeatures as tf.Tensor2D, checked);
    const cs = correlationMatrix(studentFeatures as tf.Tensor2D, checked);
    return tf.mean(tf.square(tf.sub(ct, cs))) as tf.Scalar;
  });
}
