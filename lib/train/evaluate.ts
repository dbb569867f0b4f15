/**
 * Held-out evaluation: a language model's cross-entropy, perplexity and divergence to a teacher;
 * a classifier's accuracy, cross-entropy, expected calibration error (Guo et al., "On
 * Calibration of Modern Neural Networks", ICML 2017; 15 equal-width bins) and agreement with a
 * teacher. Sums are accumulated in float64 on the host.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { evaluationBatches, imageTensors, windowsAt } from "../data/batches.ts";
import type { ImageSplit } from "../data/images.ts";
import type { GPT } from "../models/gpt.ts";
import type { ImageClassifier } from "../models/vision.ts";

/** A language model's held-out metrics (nats per token). */
export interface LanguageModelEval {
  crossEntropy: number;
  perplexity: number;
  /** Mean KL(p_teacher ‖ q_model) per token, when a teacher is given. */
  teacherKL?: number;
  tokens: number;
}

/** Cross-entropy against the true next token over non-overlapping windows of `tokens`. */
export function evaluateLanguageModel(
  model: GPT,
  tokens: Int32Array,
  options: { contextLength?: number; batchSize?: number; maxWindows?: number; teacher?: GPT } = {},
): LanguageModelEval {
  const contextLength = options.contextLength ?? model.config.contextLength;
  const batches = evaluationBatches(tokens, {
    contextLength,
    batchSize: options.batchSize ?? 16,
    maxWindows: options.maxWindows,
  });
  let ce = 0;
  let kl = 0;
  let count = 0;
  for (const starts of batches) {
    const [ceSum, klSum] = tf.tidy(() => {
      const { inputs, targets } = windowsAt(tokens, starts, contextLength);
      const logp = tf.logSoftmax(model.forward(inputs).logits);
      const V = logp.shape[2];
      const picked = logp.mul(tf.oneHot(targets, V)).sum();
      const out = [picked.neg()];
      if (options.teacher) {
        const logt = tf.logSoftmax(options.teacher.forward(inputs).logits);
        out.push(tf.exp(logt).mul(logt.sub(logp)).sum());
      }
      return out.map((t) => t.dataSync()[0]);
    });
    ce += ceSum;
    kl += klSum ?? 0;
    count += starts.length * contextLength;
  }
  const crossEntropy = ce / count;
  return {
    crossEntropy,
    perplexity: Math.exp(crossEntropy),
    ...(options.teacher ? { teacherKL: kl / count } : {}),
    tokens: count,
  };
}

/** A classifier's held-out metrics. */
export interface ClassifierEval {
  accuracy: number;
  crossEntropy: number;
  /** Expected calibration error, 15 bins. */
  ece: number;
  /** Fraction of examples where the model's and the teacher's argmax agree. */
  agreement?: number;
  count: number;
}

/** Probabilities of a classifier on a split, `[N × classes]` row-major, in batches. */
export function predictProbabilities(
  model: ImageClassifier,
  split: ImageSplit,
  batchSize = 500,
): Float32Array {
  if (split.count === 0) throw new Error("predictProbabilities: the split is empty");
  const parts: Float32Array[] = [];
  for (let i = 0; i < split.count; i += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, split.count - i) }, (_, j) => i + j);
    parts.push(tf.tidy(() => {
      const { x } = imageTensors(split, indices);
      return tf.softmax(model.logits(x)).dataSync() as Float32Array;
    }));
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) out.set(p, offset), offset += p.length;
  return out;
}

/** Expected calibration error of probabilities `[N × C]` against labels (equal-width bins). */
export function expectedCalibrationError(
  probs: Float32Array,
  labels: Int32Array,
  classes: number,
  bins = 15,
): number {
  const n = labels.length;
  if (probs.length !== n * classes) {
    throw new Error(
      `expectedCalibrationError: probs has ${probs.length} values, expected ${n * classes}`,
    );
  }
  const conf = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const size = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (probs[i * classes + c] > probs[i * classes + best]) best = c;
    }
    const p = probs[i * classes + best];
    const b = Math.min(bins - 1, Math.floor(p * bins));
    conf[b] += p;
    correct[b] += best === labels[i] ? 1 : 0;
    size[b] += 1;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (size[b] > 0) ece += Math.abs(correct[b] - conf[b]) / n;
  return ece;
}

const argmaxRow = (probs: Float32Array, i: number, classes: number) => {
  let best = 0;
  for (let c = 1; c < classes; c++) {
    if (probs[i * classes + c] > probs[i * classes + best]) best = c;
  }
  return best;
};

/** Accuracy, cross-entropy, ECE and (with a teacher) agreement on a split. */
export function evaluateClassifier(
  model: ImageClassifier,
  split: ImageSplit,
  options: { teacher?: ImageClassifier; batchSize?: number } = {},
): ClassifierEval {
  const classes = model.config.classes;
  const probs = predictProbabilities(model, split, options.batchSize);
  const teacherProbs = options.teacher
    ? predictProbabilities(options.teacher, split, options.batchSize)
    : undefined;
  let hits = 0;
  let ce = 0;
  let agree = 0;
  for (let i = 0; i < split.count; i++) {
    const predicted = argmaxRow(probs, i, classes);
    hits += predicted === split.labels[i] ? 1 : 0;
    ce -= Math.log(Math.max(probs[i * classes + split.labels[i]], 1e-30));
    if (teacherProbs) agree += predicted === argmaxRow(teacherProbs, i, classes) ? 1 : 0;
  }
  return {
    accuracy: hits / split.count,
    crossEntropy: ce / split.count,
    ece: expectedCalibrationError(probs, split.labels, classes),
    ...(teacherProbs ? { agreement: agree / split.count } : {}),
    count: split.count,
  };
}
