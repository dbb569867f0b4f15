/**
 * What every representation-distillation loss shares: the check of a (teacher, student) pair of
 * feature batches, and the numerically safe pieces the relational losses are built of (L2
 * normalisation that maps a zero vector to zero with a finite gradient, Huber's smooth L1).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues as checkLater } from "../deferred_checks.ts";

/**
 * Throws unless both feature batches are `[B, d]` tensors with the same B ≥ `minRows` (their
 * widths may differ), and, at once or on webgpu at the next `flushDeferredChecks()`, unless both
 * are finite. Errors name the function and the argument.
 */
export function checkFeaturePair(
  fn: string,
  teacherFeatures: tf.Tensor,
  studentFeatures: tf.Tensor,
  minRows = 2,
): void {
  for (
    const [name, x] of [["teacherFeatures", teacherFeatures], [
      "studentFeatures",
      studentFeatures,
    ]] as const
  ) {
    if (!(x instanceof tf.Tensor)) throw new Error(`${fn}: ${name} must be a tf.Tensor`);
    if (x.rank !== 2 || x.shape[1] === 0) {
      throw new Error(`${fn}: ${name} must be [B, d] with d ≥ 1, got shape [${x.shape}]`);
    }
  }
  const [bt, bs] = [teacherFeatures.shape[0], studentFeatures.shape[0]];
  if (bt !== bs) {
    throw new Error(
      `${fn}: teacherFeatures and studentFeatures must hold the same examples, got ${bt} and ` +
        `${bs} rows`,
    );
  }
  if (bs < minRows) {
    throw new Error(
      `${fn}: needs a batch of at least ${minRows} examples${
        minRows > 1 ? " (it compares examples with each other)" : ""
      }, got ${bs}`,
    );
  }
  const sums = tf.tidy(() =>
    tf.stack([tf.sum(tf.abs(teacherFeatures)), tf.sum(tf.abs(studentFeatures))])
  );
  checkLater(sums, ([t, s]) => {
    if (!Number.isFinite(t)) return `${fn}: teacherFeatures contain NaN or Inf`;
    if (!Number.isFinite(s)) return `${fn}: studentFeatures contain NaN or Inf`;
  });
}

/**
 * 1 where `x` > 0, else 0, with a zero gradient (tfjs has no gradient for comparisons, so a
 * `tf.where` on one cannot sit on the tape).
 */
function positive(x: tf.Tensor): tf.Tensor {
  return tf.step(x, 0);
}

/** ‖x‖₂ along the last axis, kept as a size-1 axis, with a zero (not NaN) gradient at x = 0. */
export function rowNorms(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const squared = tf.sum(tf.square(x), -1, true);
    const nonZero = positive(squared);
    return tf.mul(tf.sqrt(tf.add(squared, tf.sub(1, nonZero))), nonZero);
  });
}

/**
 * `x / ‖x‖₂` along the last axis, with a zero vector mapped to zero and a zero gradient there, as
 * PyTorch's `F.normalize` (whose ε clamp the tests never reach).
 */
export function normalizeRows(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const squared = tf.sum(tf.square(x), -1, true);
    const nonZero = positive(squared);
    return tf.mul(x, tf.mul(tf.rsqrt(tf.add(squared, tf.sub(1, nonZero))), nonZero));
  });
}

/** Huber's loss with δ = 1 (PyTorch's `smooth_l1_loss`), elementwise: ½x² for |x| < 1, |x| − ½ else. */
export function smoothL1(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const inner = positive(tf.sub(1, a));
    return tf.add(
      tf.mul(inner, tf.mul(0.5, tf.square(x))),
      tf.mul(tf.sub(1, inner), tf.sub(a, 0.5)),
    );
  });
}

/** Throws unless `value` is a finite number ≥ 0; returns it (or `fallback` when undefined). */
export function checkWeight(
  fn: string,
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  const w = value ?? fallback;
  if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
    throw new Error(`${fn}: ${name} must be a finite number ≥ 0, got ${w}`);
  }
  return w;
}
