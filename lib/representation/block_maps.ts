/**
 * Block outputs as the middle-layer methods (attention transfer, NST, VID on blocks) handle them:
 * a list of `[B, H_j, W_j, C_j]` tensors, one per conv block, checked; and flattened to one row per
 * example, `[B, Σ_j H_j·W_j·C_j]`, so that a frozen teacher's blocks fit the per-example tables
 * its logits live in, and unflattened again for the loss.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues as checkLater } from "../deferred_checks.ts";

/**
 * Throws unless `maps` is a non-empty list of non-empty `[B, H, W, C]` tensors with the same B,
 * naming the function `fn` and the argument `name`.
 */
export function checkMaps(fn: string, name: string, maps: tf.Tensor[]): void {
  if (!Array.isArray(maps) || maps.length === 0) {
    throw new Error(`${fn}: ${name} must be a non-empty list of [B, H, W, C] block outputs`);
  }
  maps.forEach((m, j) => {
    if (!(m instanceof tf.Tensor) || m.rank !== 4 || m.size === 0) {
      throw new Error(
        `${fn}: ${name}[${j}] must be a non-empty [B, H, W, C] tensor, got shape ` +
          `[${m instanceof tf.Tensor ? m.shape : typeof m}]`,
      );
    }
    if (m.shape[0] !== maps[0].shape[0]) {
      throw new Error(
        `${fn}: ${name} must hold the same examples, got ${maps[0].shape[0]} rows in block 0 ` +
          `and ${m.shape[0]} in block ${j}`,
      );
    }
  });
}

/**
 * Throws unless the teacher's and the student's blocks pair up: as many blocks, the same examples,
 * and the same spatial size at each block (channels may differ); and, at once or on webgpu at the
 * next `flushDeferredChecks()`, unless both are finite.
 */
export function checkBlockPairs(
  fn: string,
  teacherMaps: tf.Tensor[],
  studentMaps: tf.Tensor[],
): void {
  checkMaps(fn, "teacherMaps", teacherMaps);
  checkMaps(fn, "studentMaps", studentMaps);
  const size = (m: tf.Tensor) => `${m.shape[1]}×${m.shape[2]}`;
  if (
    teacherMaps.length !== studentMaps.length ||
    teacherMaps[0].shape[0] !== studentMaps[0].shape[0] ||
    teacherMaps.some((t, j) => size(t) !== size(studentMaps[j]))
  ) {
    const describe = (maps: tf.Tensor[]) => maps.map((m) => `[${m.shape}]`).join(", ");
    throw new Error(
      `${fn}: teacherMaps and studentMaps must pair block by block (the same examples and ` +
        `spatial sizes), got ${describe(teacherMaps)} and ${describe(studentMaps)}`,
    );
  }
  const sums = tf.tidy(() =>
    tf.stack([
      tf.addN(teacherMaps.map((m) => tf.sum(tf.abs(m)))),
      tf.addN(studentMaps.map((m) => tf.sum(tf.abs(m)))),
    ])
  );
  checkLater(sums, ([t, s]) => {
    if (!Number.isFinite(t)) return `${fn}: teacherMaps contain NaN or Inf`;
    if (!Number.isFinite(s)) return `${fn}: studentMaps contain NaN or Inf`;
  });
}

/** Block outputs `[B, H_j, W_j, C_j]` as one row per example, `[B, Σ_j H_j·W_j·C_j]`. */
export function flattenBlocks(maps: tf.Tensor[]): tf.Tensor2D {
  checkMaps("flattenBlocks", "maps", maps);
  return tf.tidy(() => tf.concat(maps.map((m) => m.reshape([m.shape[0], -1])), 1) as tf.Tensor2D);
}

/**
 * The inverse of {@link flattenBlocks}: rows `[B, Σ_j H_j·W_j·C_j]` back to block outputs of the
 * given `[H_j, W_j, C_j]` shapes. Throws, naming the shapes, unless the widths add up.
 */
export function unflattenBlocks(
  rows: tf.Tensor,
  shapes: [number, number, number][],
): tf.Tensor4D[] {
  const sizes = shapes.map(([h, w, c]) => h * w * c);
  const width = sizes.reduce((a, b) => a + b, 0);
  if (!(rows instanceof tf.Tensor) || rows.rank !== 2 || rows.shape[1] !== width) {
    throw new Error(
      `unflattenBlocks: rows must be [B, ${width}] to hold blocks of ` +
        `${shapes.map((s) => s.join("×")).join(", ")} (H×W×C), got ${
          rows instanceof tf.Tensor ? `[${rows.shape}]` : typeof rows
        }`,
    );
  }
  const B = rows.shape[0];
  return tf.tidy(() =>
    tf.split(rows, sizes, 1).map((part, j) => part.reshape([B, ...shapes[j]]) as tf.Tensor4D)
  );
}

/**
 * Throws unless `channels` is a non-empty list of positive integers (a CNN's channels per block;
 * `runVision` fills them from the models); returns it.
 */
export function checkChannels(fn: string, name: string, channels: unknown): number[] {
  if (
    !Array.isArray(channels) || channels.length === 0 ||
    !channels.every((c) => Number.isInteger(c) && c >= 1)
  ) {
    throw new Error(
      `${fn}: ${name} must be a non-empty list of positive integers (the channels of each ` +
        `block; runVision fills it from the models), got ${JSON.stringify(channels)}`,
    );
  }
  return channels as number[];
}
