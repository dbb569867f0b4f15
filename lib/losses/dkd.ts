/**
 * Decoupled KD (Zhao et al., CVPR 2022, Eqs. 1–7): KD = TCKD + (1 − p_y^T)·NCKD, and DKD drops the
 * coupling: L = w_ce·CE + w(epoch)·T²·(α·TCKD + β·NCKD), with TCKD the binary KL of
 * [p_y, 1 − p_y] and NCKD the KL of the distributions over non-target classes. Computed in log
 * space (log(1 − p_y) = LSE_{i≠y} − LSE), so confident teachers do not underflow.
 * Defaults (mdistiller CIFAR-100): α = 1, β = 8, T = 4, w_ce = 1, warm-up 20 epochs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { logSumExp } from "./log_sum_exp.ts";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { checkTemperature, type LossOptions, reduceRows, toRows } from "./validate.ts";

/** Options of {@linkcode dkd}. */
export interface DKDOptions extends LossOptions {
  /** Class ids [N] (DKD splits the target class from the rest). */
  labels?: tf.Tensor | number[];
  /** TCKD weight (default 1). */
  alpha?: number;
  /** NCKD weight (default 8). */
  beta?: number;
  /** Cross-entropy weight (default 1). */
  ceWeight?: number;
  /** Current epoch, 1-indexed (default: warm-up done). */
  epoch?: number;
  /** Warm-up epochs: the KD weight is min(epoch/warmup, 1) (default 20). */
  warmup?: number;
}

/** Per-row TCKD and NCKD at temperature T (exported for tests and analysis). */
export function dkdParts(
  teacher: tf.Tensor2D,
  student: tf.Tensor2D,
  labels: tf.Tensor1D,
  temperature: number,
): { tckd: tf.Tensor1D; nckd: tf.Tensor1D } {
  return tf.tidy(() => {
    const onehot = tf.oneHot(labels, teacher.shape[1]).toFloat();
    const parts = (z: tf.Tensor2D) => {
      const x = tf.div(z, temperature);
      const lse = logSumExp(x, 1);
      const masked = tf.sub(x, tf.mul(onehot, 1e9)); // target excluded
      const lseRest = logSumExp(masked, 1);
      const logTarget = tf.sub(tf.sum(tf.mul(onehot, x), 1), lse);
      const logRest = tf.sub(lseRest, lse);
      const logNonTarget = tf.sub(masked, lseRest.expandDims(1));
      return { logTarget, logRest, logNonTarget };
    };
    const t = parts(teacher), s = parts(student);
    const tckd = tf.add(
      tf.mul(tf.exp(t.logTarget), tf.sub(t.logTarget, s.logTarget)),
      tf.mul(tf.exp(t.logRest), tf.sub(t.logRest, s.logRest)),
    );
    const nckd = tf.sum(tf.mul(tf.exp(t.logNonTarget), tf.sub(t.logNonTarget, s.logNonTarget)), 1);
    return { tckd: tckd as tf.Tensor1D, nckd: nckd as tf.Tensor1D };
  });
}

/** Decoupled KD; see the module doc. */
export function dkd(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: DKDOptions = {},
): tf.Scalar {
  const temperature = checkTemperature("dkd", options.temperature ?? 4);
  const { alpha = 1, beta = 8, ceWeight = 1, warmup = 20 } = options;
  const weight = Math.min((options.epoch ?? warmup) / warmup, 1);
  return tf.tidy(() => {
    const rows = toRows("dkd", teacherLogits, studentLogits, options);
    const y = checkLabels("dkd", options.labels, rows.student.shape[0], rows.vocab);
    const { tckd, nckd } = dkdParts(rows.teacher, rows.student, y, temperature);
    const kd = tf.mul(
      weight * temperature * temperature,
      tf.add(tf.mul(alpha, tckd), tf.mul(beta, nckd)),
    );
    const perRow = tf.add(tf.mul(ceWeight, crossEntropyRows(rows.student, y)), kd);
    return reduceRows(perRow as tf.Tensor1D, rows, options.reduction) as tf.Scalar;
  });
}
