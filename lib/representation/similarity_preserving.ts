/**
 * Similarity-preserving KD (Tung & Mori, ICCV 2019, "Similarity-Preserving Knowledge
 * Distillation"): with G = F·Fᵀ the batch's `[B, B]` Gram matrix of one model's
 * features (flattened activations), each row L2-normalised, L = ‖G̃_T − G̃_S‖²_F / B². Examples
 * that the teacher represents alike should be alike for the student, whatever either's width.
 * Rows are normalised as PyTorch's `F.normalize` would (a zero row stays zero).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkFeaturePair, normalizeRows } from "./checks.ts";

/** The row-normalised Gram matrix G̃ of features `[B, d]` → `[B, B]`. */
export function normalizedGram(f: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => normalizeRows(tf.matMul(f, f, false, true)) as tf.Tensor2D);
}

/**
 * SP between a teacher's and a student's features `[B, dT]`, `[B, dS]` (B ≥ 2); the teacher is a
 * constant. See the module doc.
 */
export function similarityPreserving(
  teacherFeatures: tf.Tensor,
  studentFeatures: tf.Tensor,
): tf.Scalar {
  checkFeaturePair("similarityPreserving", teacherFeatures, studentFeatures);
  return tf.tidy(() => {
    const B = studentFeatures.shape[0];
    const gt = normalizedGram(teacherFeatures as tf.Tensor2D);
    const gs = normalizedGram(studentFeatures as tf.Tensor2D);
    return tf.div(tf.sum(tf.square(tf.sub(gt, gs))), B * B) as tf.Scalar;
  });
}
