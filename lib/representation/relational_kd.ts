/**
 * Relational knowledge distillation (Park, Kim, Lu & Cho, CVPR 2019, "Relational Knowledge
 * Distillation"): the student matches the *structure* of the teacher's embedding of a batch, not
 * the embedding itself, so the two widths may differ.
 *
 * - Distance-wise: ψ_D(tᵢ, tⱼ) = ‖tᵢ − tⱼ‖ / μ, μ the mean distance over the batch's
 *   pairs (those apart, as the released code); the loss is Huber's l_δ (δ = 1) between the student's and teacher's ψ_D.
 * - Angle-wise: ψ_A(tᵢ, tⱼ, tₖ) = ⟨eᵢⱼ, eₖⱼ⟩, eᵢⱼ = (tᵢ − tⱼ)/‖tᵢ − tⱼ‖, the cosine of
 *   the angle at tⱼ; the loss is l_δ between the two models' ψ_A.
 * - L = w_D·L_D + w_A·L_A, defaults w_D = 25, w_A = 50 (the paper's λ for RKD-DA, kept by the
 *   CRD benchmark's `RKDLoss`).
 *
 * As the released code, L_D is the mean over all B² ordered pairs and L_A over all B³ triples
 * (the degenerate ones, i = j or k = j, hold 0 in both models and add nothing but the count),
 * and a coincident pair's direction is the zero vector. Differences are formed directly
 * (B²·d values), not as ‖a‖² + ‖b‖² − 2ab, so close points keep their precision in float32.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkFeaturePair, checkWeight, normalizeRows, rowNorms, smoothL1 } from "./checks.ts";

/** Options of {@linkcode relationalKD}. */
export interface RelationalKDOptions {
  /** Weight of the distance-wise term (default 25). */
  distanceWeight?: number;
  /** Weight of the angle-wise term (default 50). */
  angleWeight?: number;
}

/** `[B, B, d]`: entry (a, b) is f_b − f_a. */
function differences(f: tf.Tensor2D): tf.Tensor3D {
  const [B, d] = f.shape;
  return tf.sub(f.reshape([1, B, d]), f.reshape([B, 1, d])) as tf.Tensor3D;
}

/**
 * ψ_D of a batch `[B, d]` → `[B, B]`: distances over their mean over the pairs apart (distance
 * > 0, as the released code; a batch of one point has ψ_D = 0).
 */
export function normalizedDistances(f: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    // rowNorms is 0, with a zero gradient, on the diagonal and for coincident pairs.
    const distances = tf.squeeze(rowNorms(differences(f)), [-1]);
    const apart = tf.step(distances, 0);
    const mean = tf.div(tf.sum(distances), tf.maximum(tf.sum(apart), 1));
    return tf.div(distances, tf.maximum(mean, 1e-12)) as tf.Tensor2D;
  });
}

/** ψ_A of a batch `[B, d]` → `[B, B, B]`: entry (j, i, k) is ⟨eᵢⱼ, eₖⱼ⟩ (the angle at j). */
export function tripletAngles(f: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const directions = normalizeRows(differences(f)) as tf.Tensor3D;
    return tf.matMul(directions, directions, false, true);
  });
}

/**
 * RKD-DA between a teacher's and a student's features `[B, dT]`, `[B, dS]` (B ≥ 2); the teacher
 * is a constant. See the module doc.
 */
export function relationalKD(
  teacherFeatures: tf.Tensor,
  studentFeatures: tf.Tensor,
  options: RelationalKDOptions = {},
): tf.Scalar {
  const fn = "relationalKD";
  checkFeaturePair(fn, teacherFeatures, studentFeatures);
  const wD = checkWeight(fn, "distanceWeight", options.distanceWeight, 25);
  const wA = checkWeight(fn, "angleWeight", options.angleWeight, 50);
  return tf.tidy(() => {
    const t = teacherFeatures as tf.Tensor2D;
    const s = studentFeatures as tf.Tensor2D;
    let loss = tf.scalar(0);
    if (wD > 0) {
      const term = tf.mean(smoothL1(tf.sub(normalizedDistances(s), normalizedDistances(t))));
      loss = tf.add(loss, tf.mul(wD, term));
    }
    if (wA > 0) {
      const term = tf.mean(smoothL1(tf.sub(tripletAngles(s), tripletAngles(t))));
      loss = tf.add(loss, tf.mul(wA, term));
    }
    return loss as tf.Scalar;
  });
}
