/**
 * MiniLM attention transfer (Wang et al., NeurIPS 2020, "MiniLM: Deep Self-Attention Distillation
 * for Task-Agnostic Compression of Pre-Trained Transformers", Eqs. 6–8): for the last layer of
 * teacher and student (same head count), L_AT = mean over heads and queries of KL(A_T ‖ A_S), and
 * the value relation VR = softmax(V·Vᵀ/√d_k) gives L_VR the same way; L = L_AT + L_VR. Hidden and
 * head sizes may differ, since only T×T matrices are compared. With `causal`, keys after the query
 * are excluded from the value relation (for GPT-style models); attention maps are taken as given.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@linkcode miniLMAttention}. */
export interface MiniLMOptions {
  /** Exclude future keys from the value relation (default false). */
  causal?: boolean;
}

function checkAttention(name: string, x: tf.Tensor): void {
  if (x.rank !== 4 || x.shape[2] !== x.shape[3]) {
    throw new Error(
      `miniLMAttention: ${name} must be [B, H, T, T] attention probabilities, got [${x.shape}]`,
    );
  }
}

/** KL(P ‖ Q) averaged over all rows of row-stochastic tensors (0·log 0 = 0). */
function rowKL(p: tf.Tensor, q: tf.Tensor): tf.Scalar {
  const tiny = 1e-30;
  const terms = tf.where(
    tf.greater(p, 0),
    tf.mul(p, tf.sub(tf.log(tf.maximum(p, tiny)), tf.log(tf.maximum(q, tiny)))),
    tf.zerosLike(p),
  );
  return tf.mean(tf.sum(terms, -1)) as tf.Scalar;
}

function valueRelation(values: tf.Tensor, causal: boolean): tf.Tensor {
  const [, , t, d] = values.shape;
  let scores = tf.div(tf.matMul(values, values, false, true), Math.sqrt(d));
  if (causal) {
    const future = tf.sub(1, tf.linalg.bandPart(tf.ones([t, t]), -1, 0));
    scores = tf.sub(scores, tf.mul(future, 1e9));
  }
  return tf.softmax(scores);
}

/** MiniLM's last-layer loss L_AT + L_VR; see the module doc. */
export function miniLMAttention(
  teacherAttention: tf.Tensor,
  studentAttention: tf.Tensor,
  teacherValues: tf.Tensor,
  studentValues: tf.Tensor,
  options: MiniLMOptions = {},
): tf.Scalar {
  checkAttention("teacherAttention", teacherAttention);
  checkAttention("studentAttention", studentAttention);
  if (teacherAttention.shape.join() !== studentAttention.shape.join()) {
    throw new Error(
      `miniLMAttention: attention shapes differ ([${teacherAttention.shape}] vs [${studentAttention.shape}]); ` +
        `head counts and lengths must match`,
    );
  }
  for (
    const [name, v] of [["teacherValues", teacherValues], ["studentValues", studentValues]] as const
  ) {
    if (v.rank !== 4 || v.shape.slice(0, 3).join() !== teacherAttention.shape.slice(0, 3).join()) {
      throw new Error(
        `miniLMAttention: ${name} must be [${
          teacherAttention.shape.slice(0, 3)
        }, d], got [${v.shape}]`,
      );
    }
  }
  return tf.tidy(() => {
    const causal = options.causal ?? false;
    const at = rowKL(teacherAttention, studentAttention);
    const vr = rowKL(valueRelation(teacherValues, causal), valueRelation(studentValues, causal));
    return tf.add(at, vr) as tf.Scalar;
  });
}
