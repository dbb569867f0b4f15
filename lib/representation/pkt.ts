/**
 * Probabilistic knowledge transfer (Passalis & Tefas, ECCV 2018, "Learning Deep Representations
 * with Probabilistic Knowledge Transfer", with its cosine kernel): each model's features
 * define conditional probabilities between the batch's examples, p_{j|i} = K(xᵢ, xⱼ) / Σⱼ K(xᵢ, xⱼ)
 * with K(a, b) = (cos(a, b) + 1)/2 ∈ [0, 1], and the student minimises the divergence
 * Σ p^T log(p^T / p^S) between the teacher's and its own.
 *
 * As the authors' released `cosine_similarity_loss`: features are divided by ‖x‖ + 10⁻⁷, rows of
 * the kernel matrix (the diagonal included) are normalised to sum to 1, the log ratio carries
 * ε = 10⁻⁷ on both sides, and the loss is the *mean* over the B² entries (a sum over pairs / B²:
 * the CRD benchmark's weight 30 000 assumes this scale).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkFeaturePair, rowNorms } from "./checks.ts";

const EPSILON = 1e-7;

/** The row-stochastic cosine-kernel matrix of features `[B, d]` → `[B, B]`. */
export function cosineKernelProbabilities(f: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const unit = tf.div(f, tf.add(rowNorms(f), EPSILON));
    const kernel = tf.div(tf.add(tf.matMul(unit, unit, false, true), 1), 2);
    return tf.div(kernel, tf.sum(kernel, 1, true)) as tf.Tensor2D;
  });
}

/**
 * PKT between a teacher's and a student's features `[B, dT]`, `[B, dS]` (B ≥ 2); the teacher is
 * a constant. See the module doc.
 */
export function probabilisticKT(teacherFeatures: tf.Tensor, studentFeatures: tf.Tensor): tf.Scalar {
  checkFeaturePair("probabilisticKT", teacherFeatures, studentFeatures);
  return tf.tidy(() => {
    const pt = cosineKernelProbabilities(teacherFeatures as tf.Tensor2D);
    const ps = cosineKernelProbabilities(studentFeatures as tf.Tensor2D);
    const logRatio = tf.log(tf.div(tf.add(pt, EPSILON), tf.add(ps, EPSILON)));
    return tf.mean(tf.mul(pt, logRatio)) as tf.Scalar;
  });
}
