/**
 * Input checks shared by every objective: shapes, finiteness, temperature, mask. Errors name the
 * objective, the argument and what was expected; nothing fails later as a silent NaN.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues as checkLater } from "../deferred_checks.ts";

/** How losses reduce per-position values: mean over unmasked positions, their sum, or none. */
export type Reduction = "mean" | "sum" | "none";

/** Options every logit-level objective takes. */
export interface LossOptions {
  /** Softmax temperature T > 0 (default 1). */
  temperature?: number;
  /** 0/1 tensor of the leading shape ([N] or [B, T]); 0 excludes a position. */
  mask?: tf.Tensor;
  /** Default "mean": the mean over unmasked positions. */
  reduction?: Reduction;
  /** Check for NaN/Inf logits and an all-masked batch (one small readback; default true). */
  validate?: boolean;
}

/** Logits flattened to rows, with what is needed to reduce and reshape back. */
export interface Rows {
  /** Teacher logits as rows [rows, vocab]. */
  teacher: tf.Tensor2D;
  /** Student logits as rows [rows, vocab]. */
  student: tf.Tensor2D;
  /** [N] float mask, or undefined when every position counts. */
  mask?: tf.Tensor1D;
  /** The leading shape ([N] or [B, T]). */
  leading: number[];
  /** Vocabulary (classes) per row. */
  vocab: number;
}

/** Throws unless `value` is a finite number in [lo, hi]. */
export function checkRange(fn: string, name: string, value: number, lo: number, hi: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < lo || value > hi) {
    throw new Error(`${fn}: ${name} must be a number in [${lo}, ${hi}], got ${value}`);
  }
}

/** Throws unless the temperature is a finite number > 0; returns it (default 1). */
export function checkTemperature(fn: string, temperature: number | undefined): number {
  const t = temperature ?? 1;
  if (typeof t !== "number" || !Number.isFinite(t) || t <= 0) {
    throw new Error(`${fn}: temperature must be a finite number > 0, got ${t}`);
  }
  return t;
}

/** Throws unless `x` is a tensor of rank 2 ([N, V]) or 3 ([B, T, V]) with N, V > 0. */
export function checkLogitShape(fn: string, name: string, x: tf.Tensor): void {
  if (!(x instanceof tf.Tensor)) throw new Error(`${fn}: ${name} must be a tf.Tensor`);
  if (x.rank !== 2 && x.rank !== 3) {
    throw new Error(`${fn}: ${name} must be [N, V] or [B, T, V], got shape [${x.shape}]`);
  }
  if (x.size === 0) throw new Error(`${fn}: ${name} is an empty batch (shape [${x.shape}])`);
}

/**
 * Validates teacher/student logits (and mask) and flattens them to rows [N, V].
 * With `validate`, reads back one small tensor to reject NaN/Inf and an all-masked batch;
 * `checkFinite: false` leaves the NaN/Inf test to the caller (the fused WebGPU kernels count
 * non-finite logits in their own sweep).
 */
export function toRows(
  fn: string,
  teacher: tf.Tensor,
  student: tf.Tensor,
  options: LossOptions,
  checkFinite = true,
): Rows {
  checkLogitShape(fn, "teacherLogits", teacher);
  checkLogitShape(fn, "studentLogits", student);
  if (teacher.shape.join() !== student.shape.join()) {
    const what = teacher.shape.at(-1) !== student.shape.at(-1)
      ? "vocab sizes differ"
      : "shapes differ";
    throw new Error(
      `${fn}: teacherLogits [${teacher.shape}] and studentLogits [${student.shape}]: ${what}; ` +
        `they must have the same shape`,
    );
  }
  const vocab = student.shape.at(-1)!;
  const leading = student.shape.slice(0, -1);
  const rows = leading.reduce((a, b) => a * b, 1);
  const mask = options.mask;
  if (mask !== undefined) {
    if (!(mask instanceof tf.Tensor) || mask.shape.join() !== leading.join()) {
      throw new Error(
        `${fn}: mask must have the leading shape [${leading}] of the logits, got [${
          mask instanceof tf.Tensor ? mask.shape : typeof mask
        }]`,
      );
    }
  }
  if (options.validate ?? true) checkValues(fn, teacher, student, mask, checkFinite);
  return tf.tidy(() => ({
    teacher: teacher.reshape([rows, vocab]) as tf.Tensor2D,
    student: student.reshape([rows, vocab]) as tf.Tensor2D,
    mask: mask === undefined ? undefined : mask.reshape([rows]).toFloat() as tf.Tensor1D,
    leading,
    vocab,
  }));
}

/**
 * Rejects non-finite logits (unless `checkFinite` is false), masks that are not 0/1, and an
 * all-masked batch: at once, or on webgpu at the next `flushDeferredChecks()` (see
 * `lib/deferred_checks.ts`).
 */
export function checkValues(
  fn: string,
  teacher: tf.Tensor,
  student: tf.Tensor,
  mask?: tf.Tensor,
  checkFinite = true,
) {
  if (!checkFinite && mask === undefined) return;
  const flags = tf.tidy(() => {
    const finite = (x: tf.Tensor) => checkFinite ? tf.sum(tf.abs(x.toFloat())) : tf.scalar(0);
    const m = mask?.toFloat();
    return tf.stack([
      finite(teacher),
      finite(student),
      m ? tf.sum(tf.mul(m, tf.sub(1, m)).abs()) : tf.scalar(0),
      m ? tf.sum(m) : tf.scalar(1),
    ]);
  });
  checkLater(flags, ([t, s, bad, count]) => {
    if (!Number.isFinite(t)) return `${fn}: teacherLogits contain NaN or Inf`;
    if (!Number.isFinite(s)) return `${fn}: studentLogits contain NaN or Inf`;
    if (bad !== 0 || !Number.isFinite(count)) return `${fn}: mask must hold only 0 and 1`;
    if (count === 0) return `${fn}: every position is masked; nothing to average`;
  });
}

/**
 * Reduces per-row values [N] with the mask: mean over unmasked rows (default), sum, or none
 * (reshaped to the leading shape, masked positions 0).
 */
export function reduceRows(
  perRow: tf.Tensor1D,
  rows: Rows,
  reduction: Reduction = "mean",
): tf.Tensor {
  return tf.tidy(() => {
    const masked = rows.mask ? tf.mul(perRow, rows.mask) : perRow;
    if (reduction === "none") return masked.reshape(rows.leading);
    if (reduction === "sum") return tf.sum(masked);
    if (reduction === "mean") {
      const count = rows.mask ? tf.maximum(tf.sum(rows.mask), 1) : tf.scalar(perRow.shape[0]);
      return tf.div(tf.sum(masked), count);
    }
    throw new Error(`reduction must be "mean", "sum" or "none", got ${JSON.stringify(reduction)}`);
  });
}
