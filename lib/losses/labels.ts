/**
 * Class labels for classification objectives: validation and one-hot encoding, plus the
 * cross-entropy that several methods add to their distillation term.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues, syncReadsAvailable } from "../deferred_checks.ts";
import { sparseKLPerRow } from "./sparse_kd.ts";

/** Validates labels (integers in [0, classes), one per row, any shape) and returns them as int32 [N]. */
export function checkLabels(
  fn: string,
  labels: tf.Tensor | number[] | undefined,
  rows: number,
  classes: number,
): tf.Tensor1D {
  if (labels === undefined) {
    throw new Error(`${fn}: options.labels is required (int class ids [N])`);
  }
  if (!Array.isArray(labels) && !syncReadsAvailable()) {
    return deviceLabels(fn, labels, rows, classes);
  }
  const values = Array.isArray(labels) ? labels : Array.from(labels.dataSync());
  // Labels of any shape with one id per row ([B, T] next tokens for [B, T, V] logits) are
  // taken in row-major order, as the logits are flattened.
  if (values.length !== rows) {
    throw new Error(
      `${fn}: labels must be [${rows}] (one per row), got ${
        Array.isArray(labels) ? `${values.length} values` : `[${labels.shape}]`
      }`,
    );
  }
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new Error(`${fn}: labels[${i}] = ${v} is not a class id in [0, ${classes})`);
    }
  });
  return tf.tensor1d(values, "int32");
}

/**
 * {@linkcode checkLabels} without a synchronous read (webgpu): the shape is checked now, the values
 * (integer class ids in range) at the next `flushDeferredChecks()`.
 */
function deviceLabels(fn: string, labels: tf.Tensor, rows: number, classes: number): tf.Tensor1D {
  if (labels.size !== rows) {
    throw new Error(`${fn}: labels must be [${rows}] (one per row), got [${labels.shape}]`);
  }
  const flat = labels.reshape([rows]);
  checkValues(
    tf.tidy(() => {
      const x = flat.toFloat();
      return tf.stack([tf.min(x), tf.max(x), tf.sum(tf.abs(tf.sub(x, tf.round(x))))]);
    }),
    ([lo, hi, fraction]) => {
      if (fraction !== 0 || lo < 0 || hi >= classes) {
        return `${fn}: labels must be integer class ids in [0, ${classes}), got values in [${lo}, ${hi}]`;
      }
    },
  );
  return tf.cast(flat, "int32") as tf.Tensor1D;
}

/**
 * Per-row cross-entropy −log softmax(z)_y, [N]: KL(δ_y ‖ softmax(z)), sparse KD's loss with one
 * stored token of probability 1 (`sparseKLPerRow`), whose gradient softmax(z) − onehot(y) is
 * written out (on wasm: the backend's softmax kernel and one host write per row, instead of
 * autodiff through a log-softmax and a [N, V] one-hot product).
 */
export function crossEntropyRows(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n] = logits.shape;
    const ids = (labels.dtype === "int32" ? labels : labels.toInt()).reshape([n, 1]);
    return sparseKLPerRow(logits, tf.ones([n, 1]), ids as tf.Tensor2D);
  });
}

/**
 * log softmax(logits) at each position's token: `[..., V]` logits and int32 token ids of their
 * leading shape give the tokens' log-probabilities, of that shape (the sampled tokens' log q and
 * log p of MiniLLM's rollouts, or of a scored generation). Ids are not checked here.
 */
export function tokenLogProbs(logits: tf.Tensor, tokens: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tokens, logits.shape.at(-1)!)), -1)
  );
}

/** Mean cross-entropy of `logits` [N, C] against integer `labels`. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor | number[]): tf.Scalar {
  return tf.tidy(() => {
    const y = checkLabels("crossEntropy", labels, logits.shape[0], logits.shape[1]);
    return tf.mean(crossEntropyRows(logits, y)) as tf.Scalar;
  });
}
