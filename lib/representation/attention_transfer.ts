/**
 * Attention transfer (Zagoruyko & Komodakis, ICLR 2017, "Paying More Attention to Attention:
 * Improving the Performance of Convolutional Neural Networks via Attention Transfer"), the
 * activation-based variant. A block's output A `[B, H, W, C]` has the spatial attention map
 * Q = Σ_c |A_c|^p (Eq. 1's F_sum^p; the released code takes the mean over channels, the same map
 * up to a factor the normalisation removes), flattened to `[B, H·W]` and L2-normalised per example.
 * The student learns to match the teacher's normalised map at every paired block j (Eq. 2):
 *
 *   L_AT = Σ_j mean_{b, k} (Q̂_S^j[b, k] − Q̂_T^j[b, k])²,
 *
 * the released code's `at_loss` (the squared distance averaged over the batch and the map's
 * positions), which the CRD benchmark (RepDistiller) weights by β = 1000. Channel counts may
 * differ (the map sums them away); the paired blocks must have the same spatial size.
 *
 * The teacher is frozen, so its maps enter only through their normalised attention,
 * {@link attentionTargets}: `[B, Σ_j H_j·W_j]` per example, small enough to compute once per
 * training split and read back by row (245 numbers per 28×28 image for blocks of 14² and 7²).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues as checkLater } from "../deferred_checks.ts";
import { normalizeRows } from "./checks.ts";
import { checkMaps } from "./block_maps.ts";

/**
 * Throws unless `p` is a finite number ≥ 1 (Eq. 1's exponent), naming the function `fn` and the
 * argument `name`; returns it.
 */
export function checkExponent(fn: string, name: string, p: unknown): number {
  if (typeof p !== "number" || !Number.isFinite(p) || p < 1) {
    throw new Error(`${fn}: ${name} must be a finite number ≥ 1 (the paper uses 2), got ${p}`);
  }
  return p;
}

/** Σ_c |A_c|^p of `[B, H, W, C]` maps, flattened to `[B, H·W]` and L2-normalised per example. */
function normalizedAttention(map: tf.Tensor, p: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, H, W] = map.shape;
    const power = p === 2 ? tf.square(map) : tf.pow(tf.abs(map), p);
    return normalizeRows(tf.sum(power, 3).reshape([B, H * W])) as tf.Tensor2D;
  });
}

/**
 * The normalised attention map Q̂ = vec(Σ_c |A_c|^p) / ‖·‖₂ of one block's output `[B, H, W, C]`,
 * `[B, H·W]` (Eq. 1 and Eq. 2's normalisation; an all-zero map stays zero). p ≥ 1, default 2.
 */
export function attentionMap(map: tf.Tensor, p = 2): tf.Tensor2D {
  checkExponent("attentionMap", "p", p);
  checkMaps("attentionMap", "map", [map]);
  return normalizedAttention(map, p);
}

/**
 * The frozen teacher's side of {@link attentionTransfer}: the normalised attention map of each
 * block output `[B, H_j, W_j, C_j]`, concatenated along the positions, `[B, Σ_j H_j·W_j]`.
 */
export function attentionTargets(teacherMaps: tf.Tensor[], p = 2): tf.Tensor2D {
  checkExponent("attentionTargets", "p", p);
  checkMaps("attentionTargets", "teacherMaps", teacherMaps);
  return tf.tidy(() => tf.concat(teacherMaps.map((m) => normalizedAttention(m, p)), 1));
}

/**
 * Attention transfer's loss (see the module doc): Σ_j mean (Q̂_S^j − Q̂_T^j)² between the
 * student's block outputs `studentMaps` (on the gradient tape) and the teacher's targets
 * `[B, Σ_j H_j·W_j]` from {@link attentionTargets} (the same p), block j of the student paired
 * with the j-th slice of the targets. Errors name the argument whose shape does not fit (the
 * targets' width must be the student's Σ_j H_j·W_j; that the teacher's blocks had the same sizes,
 * in the same order, is the caller's to check: `classifierTask` checks the two models); the
 * values are checked to be finite (on webgpu at the next `flushDeferredChecks()`).
 */
export function attentionTransfer(
  teacherTargets: tf.Tensor,
  studentMaps: tf.Tensor[],
  p = 2,
): tf.Scalar {
  const fn = "attentionTransfer";
  checkExponent(fn, "p", p);
  checkMaps(fn, "studentMaps", studentMaps);
  const B = studentMaps[0].shape[0];
  const sizes = studentMaps.map((m) => m.shape[1]! * m.shape[2]!);
  const width = sizes.reduce((a, b) => a + b, 0);
  if (!(teacherTargets instanceof tf.Tensor) || teacherTargets.rank !== 2) {
    throw new Error(
      `${fn}: teacherTargets must be [B, Σ H·W] (attentionTargets of the teacher's block ` +
        `outputs), got ${
          teacherTargets instanceof tf.Tensor
            ? `shape [${teacherTargets.shape}]`
            : typeof teacherTargets
        }`,
    );
  }
  if (teacherTargets.shape[0] !== B || teacherTargets.shape[1] !== width) {
    throw new Error(
      `${fn}: teacherTargets must be [${B}, ${width}] to pair with the student's blocks of ` +
        `${studentMaps.map((m) => `${m.shape[1]}×${m.shape[2]}`).join(", ")}, got ` +
        `[${teacherTargets.shape}] (the paired blocks must have the same spatial sizes)`,
    );
  }
  const sums = tf.tidy(() =>
    tf.stack([tf.sum(tf.abs(teacherTargets)), tf.addN(studentMaps.map((m) => tf.sum(tf.abs(m))))])
  );
  checkLater(sums, ([t, s]) => {
    if (!Number.isFinite(t)) return `${fn}: teacherTargets contain NaN or Inf`;
    if (!Number.isFinite(s)) return `${fn}: studentMaps contain NaN or Inf`;
  });
  return tf.tidy(() => {
    const targets = tf.split(teacherTargets, sizes, 1);
    const perBlock = studentMaps.map((m, j) =>
      tf.mean(tf.square(tf.sub(normalizedAttention(m, p), targets[j])))
    );
    return tf.addN(perBlock) as tf.Scalar;
  });
}
