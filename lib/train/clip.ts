/**
 * Gradient clipping by global norm (Pascanu, Mikolov & Bengio, ICML 2013): all gradients are
 * scaled by `min(1, maxNorm / ‖g‖₂)` where ‖g‖₂ is the norm of their concatenation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fusedKernelsAvailable } from "../gpu/env.ts";
import { fusedSumOfSquares } from "../gpu/sum_of_squares.ts";

/**
 * The global L2 norm of a set of gradients, as a scalar tensor (on webgpu each Σg² is one
 * parallel kernel, `lib/gpu/sum_of_squares.ts`).
 */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  const fused = fusedKernelsAvailable();
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) =>
      fused && g.dtype === "float32" ? fusedSumOfSquares(g) : g.square().sum()
    );
    return tf.sqrt(tf.addN(squares)) as tf.Scalar;
  });
}

/**
 * Clipped gradients and the norm before clipping. The inputs are not disposed. With `maxNorm`
 * undefined the gradients are returned as clones (and the norm still measured).
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm?: number,
): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  if (maxNorm !== undefined && !(maxNorm > 0)) {
    throw new Error(`clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  }
  const norm = globalNorm(grads);
  const clipped = tf.tidy(() => {
    const out: Record<string, tf.Tensor> = {};
    if (maxNorm === undefined) {
      for (const [name, g] of Object.entries(grads)) out[name] = tf.clone(g); // no kernel runs
      return out;
    }
    const scale = tf.minimum(1, tf.div(maxNorm, norm.add(1e-6)));
    for (const [name, g] of Object.entries(grads)) out[name] = g.mul(scale);
    return out;
  });
  return { grads: clipped, norm };
}
