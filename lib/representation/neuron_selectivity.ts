/**
 * Neuron selectivity transfer (Huang & Wang, 2017, "Like What You Like: Knowledge Distill via
 * Neuron Selectivity Transfer", arXiv 1707.01219, NST): each channel of a block's output is a
 * neuron, and its spatial activation pattern, flattened over H·W and L2-normalised, is one sample
 * of what the block's neurons select for. The student's block should reproduce the distribution
 * of the teacher's patterns, measured by the squared maximum mean discrepancy with the polynomial
 * kernel k(x, y) = (xᵀy + c)^d, d = 2, c = 0 (the paper's best, and the released code's):
 *
 *   MMD²(F_T, F_S) = mean_{i,i'} k(f_T^i, f_T^i') + mean_{j,j'} k(f_S^j, f_S^j')
 *                    − 2·mean_{i,j} k(f_T^i, f_S^j)
 *
 * over the teacher's C_T and the student's C_S channels of one example, averaged over the batch and
 * summed over the paired blocks, as the CRD benchmark's `NSTLoss` (weight 50) with its full loss;
 * the teacher-only term is constant in training but keeps the value an MMD² (≥ 0, 0 when the
 * two sets of patterns coincide). Channel counts may differ; paired blocks share H and W.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkBlockPairs } from "./block_maps.ts";
import { normalizeRows } from "./checks.ts";

/** A block output `[B, H, W, C]` as its channels' normalised spatial patterns `[B, C, H·W]`. */
export function channelPatterns(map: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, H, W, C] = map.shape;
    return normalizeRows(tf.transpose(map.reshape([B, H * W, C]), [0, 2, 1])) as tf.Tensor3D;
  });
}

/** mean over the batch and both channel sets of (aᵢ·bⱼ)², for patterns `[B, Ca, N]`, `[B, Cb, N]`. */
function meanSquaredKernel(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.matMul(a, b, false, true))) as tf.Scalar);
}

/**
 * NST's loss (see the module doc) between the teacher's block outputs `teacherMaps` (frozen) and
 * the student's `studentMaps`, paired block by block: Σ_j MMD²_j with k(x, y) = (xᵀy)², averaged
 * over the batch. Errors name the argument whose blocks do not pair; values are checked to be
 * finite (on webgpu at the next `flushDeferredChecks()`).
 */
export function neuronSelectivityTransfer(
  teacherMaps: tf.Tensor[],
  studentMaps: tf.Tensor[],
): tf.Scalar {
  checkBlockPairs("neuronSelectivityTransfer", teacherMaps, studentMaps);
  return tf.tidy(() =>
    tf.addN(studentMaps.map((m, j) => {
      const t = channelPatterns(teacherMaps[j]);
      const s = channelPatterns(m);
      return tf.add(
        tf.add(meanSquaredKernel(t, t), meanSquaredKernel(s, s)),
        tf.mul(-2, meanSquaredKernel(t, s)),
      );
    })) as tf.Scalar
  );
}
