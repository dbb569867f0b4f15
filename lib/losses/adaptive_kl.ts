/**
 * Adaptive KL (Wu et al. 2024, "Rethinking Kullback-Leibler Divergence in Knowledge Distillation
 * for Large Language Models", arXiv 2404.02657, Eq. 9): weights forward and reverse KL by how far
 * the student is from the teacher on the head and on the tail of the teacher's distribution,
 *
 *   AKL = g_head/(g_head + g_tail)·KL(p‖q) + g_tail/(g_head + g_tail)·KL(q‖p),
 *   g_head = Σ_{i∈head} |p_i − q_i|,  g_tail = Σ_{i∉head} |p_i − q_i|,
 *
 * where the head is the set of largest teacher probabilities holding mass ≥ 1 − μ counted from the
 * smallest up (token i is in the head when the mass of tokens no larger than p_i is ≥ μ; μ = 0.5).
 * As in the TAID repository's implementation the weights carry gradient. Differences from that
 * code: its head mask is computed in sorted order but applied to unsorted gaps (here the mask is
 * applied in vocabulary order, ties included), and it logs the FKL term in cross-entropy form
 * (here both terms are true KLs). Composite autodiff (not chunked).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkRange, checkTemperature, type LossOptions, reduceRows, toRows } from "./validate.ts";

/** Options of {@linkcode adaptiveKL}. */
export interface AdaptiveKLOptions extends LossOptions {
  /** Head threshold μ ∈ (0, 1) (default 0.5). */
  mu?: number;
}

/** 1 where token i is in the teacher's head (see the module doc), else 0; [n, V]. */
export function teacherHeadMask(p: tf.Tensor2D, mu: number): tf.Tensor2D {
  return tf.tidy(() => {
    const v = p.shape[1];
    const sorted = tf.topk(p, v, true).values; // descending
    const before = tf.cumsum(sorted, 1, true); // mass of strictly larger tokens
    const inHead = tf.lessEqual(before, 1 - mu + 1e-7);
    const tau = tf.min(tf.where(inHead, sorted, tf.onesLike(sorted).mul(Infinity)), 1, true);
    return tf.greaterEqual(p, tau).toFloat() as tf.Tensor2D;
  });
}

/** Adaptive KL between softmax(teacher/T) and softmax(student/T). */
export function adaptiveKL(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: AdaptiveKLOptions = {},
): tf.Scalar {
  const mu = options.mu ?? 0.5;
  checkRange("adaptiveKL", "mu", mu, 1e-6, 1 - 1e-6);
  const temperature = checkTemperature("adaptiveKL", options.temperature);
  return tf.tidy(() => {
    const rows = toRows("adaptiveKL", teacherLogits, studentLogits, options);
    const lp = tf.logSoftmax(tf.div(rows.teacher, temperature));
    const lq = tf.logSoftmax(tf.div(rows.student, temperature));
    const p = tf.exp(lp), q = tf.exp(lq);
    const head = teacherHeadMask(p as tf.Tensor2D, mu);
    const gap = tf.abs(tf.sub(p, q));
    const gHead = tf.sum(tf.mul(head, gap), 1);
    const gTail = tf.sum(tf.mul(tf.sub(1, head), gap), 1);
    const total = tf.add(tf.add(gHead, gTail), 1e-12);
    const fkl = tf.sum(tf.mul(p, tf.sub(lp, lq)), 1);
    const rkl = tf.sum(tf.mul(q, tf.sub(lq, lp)), 1);
    const perRow = tf.div(tf.add(tf.mul(gHead, fkl), tf.mul(gTail, rkl)), total);
    return reduceRows(perRow as tf.Tensor1D, rows, options.reduction) as tf.Scalar;
  });
}
