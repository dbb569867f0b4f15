/**
 * The TAID objective (Shing et al., "TAID: Temporally Adaptive Interpolated Distillation",
 * ICLR 2025, Eq. 5 / the official `TAID.forward`): the target interpolates student and teacher
 * in logit space, p_t = softmax((1−t)·sg(z_S) + t·z_T), with the student side detached, and the
 * loss is KL(p_t ‖ q_S). At t = 0 the target is the student (loss and gradient 0); at t = 1 it is
 * forward KL. p_t ∝ q^(1−t)·p^t, a normalised geometric mean.
 *
 * Returns the true KL; the official code returns the cross-entropy −Σ p_t·log q_S (same gradient,
 * larger by H(p_t)). {@linkcode TAID} lets the adaptive update use either signal.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forwardKLKernel } from "../losses/forward_kl.ts";
import {
  type PointwiseKernel,
  pointwiseLoss,
  pointwiseLossNaive,
  type PointwiseOptions,
  type TargetFn,
} from "../losses/pointwise.ts";

/** Options of {@linkcode taidLoss}. */
export interface TAIDLossOptions extends PointwiseOptions {
  /** Return the cross-entropy form −Σ p_t·log q (the official code's value) instead of the KL. */
  crossEntropy?: boolean;
}

/** Throws unless t is a finite number in [0, 1]. */
export function checkT(fn: string, t: number): void {
  if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > 1) {
    throw new Error(`${fn}: t must be a number in [0, 1], got ${t}`);
  }
}

/** Throws unless t is a float32 scalar tensor (its value stays on the device, unchecked). */
function checkTTensor(fn: string, t: tf.Tensor): void {
  if (t.dtype !== "float32" || t.size !== 1) {
    throw new Error(`${fn}: a tensor t must be a float32 scalar, got ${t.dtype} [${t.shape}]`);
  }
}

const interpolate = (t: number | tf.Tensor): TargetFn =>
  Object.assign(
    (teacher: tf.Tensor2D, student: tf.Tensor2D) =>
      typeof t === "number"
        ? tf.add(tf.mul(1 - t, student), tf.mul(t, teacher)) as tf.Tensor2D
        : tf.add(student, tf.mul(tf.reshape(t, []), tf.sub(teacher, student))) as tf.Tensor2D,
    { interpolation: t },
  );

const crossEntropyKernel: PointwiseKernel = {
  value: (lp: tf.Tensor2D, lq: tf.Tensor2D) =>
    tf.neg(tf.sum(tf.mul(tf.exp(lp), lq), 1)) as tf.Tensor1D,
  gradLogQ: forwardKLKernel.gradLogQ,
  fused: { kind: "ce" },
};

function taidParts(t: number | tf.Tensor, options: TAIDLossOptions) {
  if (typeof t === "number") checkT("taidLoss", t);
  else checkTTensor("taidLoss", t);
  return {
    kernel: options.crossEntropy ? crossEntropyKernel : forwardKLKernel,
    target: interpolate(t),
  };
}

/**
 * TAID loss KL(p_t ‖ q_S) for the interpolation parameter t ∈ [0, 1]: a number, or a float32
 * scalar tensor (t updated on the device by `DeviceTAID` of `device_taid.ts`, never read back; its range is
 * then the caller's to keep).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { taidLoss } from "./taid_loss.ts";
 * const loss = taidLoss(tf.tensor2d([[0, 2, -0.5, 0]]), tf.tensor2d([[1, 0, -1, 0.5]]), 0.4);
 * assert.ok(Math.abs((await loss.data())[0] - 0.129716) < 1e-6); // the reference note's value
 * assert.throws(() => taidLoss(tf.zeros([1, 4]), tf.zeros([1, 4]), 1.5), /t must be a number in \[0, 1\]/);
 * ```
 */
export function taidLoss(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  t: number | tf.Tensor,
  options: TAIDLossOptions = {},
): tf.Scalar {
  const { kernel, target } = taidParts(t, options);
  return pointwiseLoss(
    "taidLoss",
    kernel,
    teacherLogits,
    studentLogits,
    options,
    target,
  ) as tf.Scalar;
}

/** {@linkcode taidLoss} under plain tfjs autodiff (baseline for tests and benchmarks). */
export function taidLossNaive(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  t: number | tf.Tensor,
  options: TAIDLossOptions = {},
): tf.Scalar {
  const { kernel, target } = taidParts(t, options);
  return pointwiseLossNaive(
    "taidLoss",
    kernel,
    teacherLogits,
    studentLogits,
    options,
    target,
  ) as tf.Scalar;
}
