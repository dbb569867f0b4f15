/**
 * Log of a probability mixture from log-probabilities, without leaving log space:
 * log(w·P + (1−w)·Q) = logsumexp(ℓP + log w, ℓQ + log(1−w)), exact at w ∈ {0, 1}.
 * (Never average log-probabilities: that is a geometric, not an arithmetic, mixture.)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** log(w·exp(lp) + (1−w)·exp(lq)) elementwise, stable for any log-probabilities. */
export function logMix(lp: tf.Tensor, lq: tf.Tensor, w: number): tf.Tensor {
  if (w === 1) return lp.clone();
  if (w === 0) return lq.clone();
  return tf.tidy(() => {
    const a = tf.add(lp, Math.log(w));
    const b = tf.add(lq, Math.log(1 - w));
    const m = tf.maximum(a, b);
    return tf.add(m, tf.log(tf.add(tf.exp(tf.sub(a, m)), tf.exp(tf.sub(b, m)))));
  });
}

/** The teacher side is a constant: a tensor whose gradient is zero (tfjs has no stopGradient). */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((x: tf.Tensor) => ({ value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as any,
) as unknown as (x: tf.Tensor) => tf.Tensor;
