/**
 * Plackett–Luce Distillation (Bassam, Zhu, Bian, NeurIPS 2025, arXiv 2506.12542, §4):
 * the teacher-optimal permutation π* puts the true label first and the other classes by
 * descending teacher logit; with weights α_k = softmax(z_T/τ)[π*_k],
 * L = Σ_k α_k·(logsumexp_{l≥k} z_S[π*_l] − z_S[π*_k]) on unsoftened student logits. Convex,
 * translation-invariant, replaces CE (no separate CE term), no T². Default τ = 1.
 * The suffix log-sum-exp is a reversed cumulative sum of exp(z − max), exact unless a logit lies
 * more than ~87 below its row's maximum (float32 underflow).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { syncReadsAvailable } from "../deferred_checks.ts";
import { checkLabels } from "./labels.ts";
import { stopGradient } from "./log_mix.ts";
import { checkTemperature, type LossOptions, reduceRows, toRows } from "./validate.ts";

/** Options of {@linkcode pld}. */
export interface PLDOptions extends LossOptions {
  /** Class ids [N]: the first entry of the teacher-optimal permutation. */
  labels?: tf.Tensor | number[];
}

/** The teacher-optimal permutation π* of each row (label first, then by teacher logit). */
export function teacherOptimalPermutation(teacher: number[][], labels: number[]): number[][] {
  return teacher.map((row, i) => {
    const rest = row.map((_, c) => c).filter((c) => c !== labels[i]);
    rest.sort((a, b) => row[b] - row[a] || a - b);
    return [labels[i], ...rest];
  });
}

/**
 * {@linkcode teacherOptimalPermutation} on the device (webgpu, which cannot read synchronously):
 * the label's logit raised to +∞, then a full descending top-k, whose ties keep index order.
 */
export function deviceOptimalPermutation(teacher: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const isLabel = tf.cast(tf.oneHot(labels, teacher.shape[1]), "bool");
    const raised = tf.where(isLabel, tf.fill(teacher.shape, Infinity), teacher);
    return tf.topk(raised, teacher.shape[1], true).indices as tf.Tensor2D;
  });
}

/** PLD loss; see the module doc (τ is `options.temperature`). */
export function pld(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: PLDOptions = {},
): tf.Scalar {
  const tau = checkTemperature("pld", options.temperature);
  return tf.tidy(() => {
    const rows = toRows("pld", teacherLogits, studentLogits, options);
    const y = checkLabels("pld", options.labels, rows.student.shape[0], rows.vocab);
    const order = syncReadsAvailable()
      ? tf.tensor2d(
        teacherOptimalPermutation(rows.teacher.arraySync(), Array.from(y.dataSync())),
        undefined,
        "int32",
      )
      : deviceOptimalPermutation(rows.teacher, y);
    const alpha = permuteRows(tf.softmax(tf.div(rows.teacher, tau)) as tf.Tensor2D, order);
    const z = permuteRows(rows.student, order);
    // The shift cancels in the gradient: stop it there, as logSumExp does (no Equal mask).
    const m = stopGradient(tf.max(z, 1, true));
    const suffix = tf.reverse(tf.cumsum(tf.reverse(tf.exp(tf.sub(z, m)), 1), 1), 1);
    const suffixLse = tf.add(tf.log(suffix), m);
    const perRow = tf.sum(tf.mul(alpha, tf.sub(suffixLse, z)), 1);
    return reduceRows(perRow as tf.Tensor1D, rows, options.reduction) as tf.Scalar;
  });
}

/**
 * `x[n, order[n, j]]` for every row n: a batched gather. tfjs-backend-wasm 4.22 reads out of
 * bounds in Gather with batchDims = 1 and has no gather gradient, so there the permutation is a
 * one-hot contraction `Σ_c onehot(order)[n, j, c]·x[n, c]` (C² work per row, fine for class
 * counts); other backends gather.
 */
function permuteRows(x: tf.Tensor2D, order: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== "wasm") return tf.gather(x, order, 1, 1) as tf.Tensor2D;
  const classes = x.shape[1];
  return tf.sum(tf.mul(tf.oneHot(order, classes), x.expandDims(1)), 2) as tf.Tensor2D;
}
