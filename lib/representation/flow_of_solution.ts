/**
 * FSP, the flow of the solution procedure (Yim, Joo, Bae & Kim, CVPR 2017, "A Gift from Knowledge
 * Distillation: Fast Optimization, Network Minimization and Transfer Learning"), as the CRD
 * benchmark runs it (RepDistiller's `FSP`): a first stage that trains the student's conv blocks
 * alone so that the way each block's output follows from the block before matches the teacher's,
 * then ordinary training on the labels.
 *
 * The FSP matrix of two feature maps F¹ `[B, h, w, m]` and F² `[B, h, w, n]` is (Eq. 1)
 *
 *   G_ij = Σ_{s ≤ h, t ≤ w} F¹_{s,t,i} · F²_{s,t,j} / (h·w),   one `[m, n]` matrix per example;
 *
 * where the two maps differ in size, the larger is first average-pooled to the smaller's (PyTorch's
 * adaptive average pooling, as the benchmark does). Consecutive block outputs make the pairs; the
 * loss is, summed over the pairs, the mean over B·m·n of (G_S − G_T)² (the benchmark's; the paper's
 * Eq. 2 sums the squares and averages over examples, the same up to a constant). The matrices pair
 * only when the student's blocks have the teacher's channels; there are no connectors.
 *
 * Departures from the benchmark: the stage trains with AdamW for a given number of steps instead
 * of SGD for 30 epochs; the pairs are consecutive conv blocks' outputs (the benchmark's ResNets
 * add a stem convolution's output before them).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { matMul } from "../models/ops.ts";
import type { Params } from "../models/params.ts";
import { checkBlockPairs, checkMaps } from "./block_maps.ts";
import { checkStudentVariables, type FirstStageOptions, trainFirstStage } from "./first_stage.ts";

/**
 * The `[out, n]` matrix of PyTorch's adaptive average pooling from n positions to `out`: row i
 * averages positions ⌊i·n/out⌋ to ⌈(i+1)·n/out⌉ − 1.
 */
export function adaptivePoolingWeights(n: number, out: number): number[][] {
  if (!(Number.isInteger(n) && Number.isInteger(out) && out >= 1 && out <= n)) {
    throw new Error(`adaptivePoolingWeights: need integers 1 ≤ out ≤ n, got n ${n}, out ${out}`);
  }
  return Array.from({ length: out }, (_, i) => {
    const [start, end] = [Math.floor(i * n / out), Math.ceil((i + 1) * n / out)];
    return Array.from({ length: n }, (_, k) => k >= start && k < end ? 1 / (end - start) : 0);
  });
}

/** Adaptive average pooling of `[B, H, W, C]` maps to `[B, side, side, C]` (H, W ≥ side). */
export function adaptiveAvgPool(x: tf.Tensor4D, side: number): tf.Tensor4D {
  checkMaps("adaptiveAvgPool", "x", [x]);
  const [B, H, W, C] = x.shape;
  if (H === side && W === side) return x.clone();
  return tf.tidy(() => {
    // Pool the rows, then the columns, each a matrix product over that axis.
    const ph = tf.tensor2d(adaptivePoolingWeights(H, side));
    const pw = tf.tensor2d(adaptivePoolingWeights(W, side));
    const rows = matMul(ph, x.transpose([1, 0, 2, 3]).reshape([H, B * W * C]))
      .reshape([side, B, W, C]).transpose([2, 1, 0, 3]).reshape([W, B * side * C]);
    return matMul(pw, rows).reshape([side, B, side, C]).transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * The FSP matrices (Eq. 1) of a lower and an upper block `[B, h, w, m]`, `[B, h', w', n]`: the
 * larger pooled to the smaller's size; `[B, m, n]`.
 */
export function fspMatrix(lower: tf.Tensor4D, upper: tf.Tensor4D): tf.Tensor3D {
  checkMaps("fspMatrix", "maps", [lower, upper]);
  return tf.tidy(() => {
    const side = Math.min(lower.shape[1], upper.shape[1]);
    const [a, b] = [adaptiveAvgPool(lower, side), adaptiveAvgPool(upper, side)];
    const [B, positions] = [a.shape[0], side * side];
    const g = matMul(
      a.reshape([B, positions, a.shape[3]]) as tf.Tensor3D,
      b.reshape([B, positions, b.shape[3]]) as tf.Tensor3D,
      true,
    );
    return tf.div(g, positions) as tf.Tensor3D;
  });
}

/**
 * The FSP loss of the module doc over consecutive blocks (at least two, each with the teacher's
 * channels): Σ over pairs of the mean of (G_S − G_T)².
 */
export function fspLoss(teacherMaps: tf.Tensor[], studentMaps: tf.Tensor[]): tf.Scalar {
  checkBlockPairs("fspLoss", teacherMaps, studentMaps);
  if (studentMaps.length < 2) {
    throw new Error(
      `fspLoss: FSP needs at least two consecutive blocks, got ${studentMaps.length}`,
    );
  }
  if (teacherMaps.some((t, j) => t.shape[3] !== studentMaps[j].shape[3])) {
    throw new Error(
      `fspLoss: the student's blocks must have the teacher's channels (FSP matrices have no ` +
        `connectors), got [${studentMaps.map((m) => m.shape[3])}] and ` +
        `[${teacherMaps.map((m) => m.shape[3])}]`,
    );
  }
  return tf.tidy(() =>
    tf.addN(
      studentMaps.slice(1).map((upper, j) => {
        const gs = fspMatrix(studentMaps[j] as tf.Tensor4D, upper as tf.Tensor4D);
        const gt = fspMatrix(teacherMaps[j] as tf.Tensor4D, teacherMaps[j + 1] as tf.Tensor4D);
        return tf.mean(tf.square(tf.sub(gs, gt)));
      }),
    ) as tf.Scalar
  );
}

/** The first stage's FSP loss at its first and its last step. */
export interface FlowFit {
  /** The FSP loss of the first batch, before any update. */
  initialLoss: number;
  /** The FSP loss of the last batch, before its update. */
  finalLoss: number;
}

/**
 * FSP's first stage: trains `studentVariables` (the student's conv blocks) on {@link fspLoss},
 * batch `step` being `teacherMaps(step)` and `studentMaps(step)` (the student's, computed with its
 * current variables inside the step's tidy), with AdamW at a constant learning rate.
 */
export async function trainStudentFlow(
  teacherMaps: (step: number) => tf.Tensor4D[],
  studentMaps: (step: number) => tf.Tensor4D[],
  studentVariables: Params,
  options: FirstStageOptions = {},
): Promise<FlowFit> {
  checkStudentVariables("trainStudentFlow", studentVariables);
  const fit = await trainFirstStage({
    fn: "trainStudentFlow",
    lossName: "the FSP loss",
    params: studentVariables,
    loss: (step) => fspLoss(teacherMaps(step), studentMaps(step)),
  }, options);
  return { initialLoss: fit.initialLoss, finalLoss: fit.finalLoss };
}
