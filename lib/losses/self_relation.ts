/**
 * Self-relations of a set of vectors, as MiniLM's value relation (Wang et al., NeurIPS 2020,
 * Eq. 7) and MiniLMv2's query, key and value relations (Wang et al., Findings of ACL 2021,
 * Eq. 3) define them: for each head's vectors X `[T, d]`, R = softmax(X·Xᵀ/√d) row by row, over
 * the keys a query may see. Shared by `minilm_attention.ts` and `minilm_relations.ts`, which
 * compare a teacher's R with a student's by the mean row KL.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * log R for vectors `[B, A, T, d]` (A heads): the row-wise log-softmax of X·Xᵀ/√d `[B, A, T, T]`.
 * With `causal`, keys after the query get −1e9 before the softmax; with `keyMask` (0/1 float32
 * `[B, T]`), padded keys do too.
 */
export function logSelfRelation(
  vectors: tf.Tensor,
  causal: boolean,
  keyMask?: tf.Tensor,
): tf.Tensor {
  const [B, A, T, d] = vectors.shape;
  const flat = vectors.reshape([B * A, T, d]) as tf.Tensor3D;
  let scores = tf.div(tf.matMul(flat, flat, false, true), Math.sqrt(d)).reshape([B, A, T, T]);
  if (causal) {
    const future = tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0));
    scores = tf.sub(scores, tf.mul(future, 1e9));
  }
  if (keyMask) scores = tf.sub(scores, tf.mul(tf.sub(1, keyMask.reshape([B, 1, 1, T])), 1e9));
  return tf.logSoftmax(scores);
}

/** KL(P ‖ Q) per row from log-probabilities `[..., T]` → `[...]`, with 0·log 0 = 0. */
export function logRowKL(logP: tf.Tensor, logQ: tf.Tensor): tf.Tensor {
  const p = tf.exp(logP);
  return tf.sum(tf.where(tf.greater(p, 0), tf.mul(p, tf.sub(logP, logQ)), tf.zerosLike(p)), -1);
}

/**
 * The mean of per-row values `[B, A, T]` over heads and kept queries: a plain mean without
 * `keyMask`, else weighted by the 0/1 float32 mask `[B, T]` over queries.
 */
export function meanOverKeptRows(perRow: tf.Tensor, keyMask?: tf.Tensor): tf.Scalar {
  if (!keyMask) return tf.mean(perRow) as tf.Scalar;
  const [B, A, T] = perRow.shape;
  const weights = keyMask.reshape([B, 1, T]);
  return tf.div(tf.sum(tf.mul(perRow, weights)), tf.mul(tf.sum(keyMask), A)) as tf.Scalar;
}
