/**
 * Calibration of a classifier's or a language model's top-1 predictions: the expected
 * calibration error (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017, §2):
 * predictions are put into M equal-width bins of confidence (the top probability) and
 * ECE = Σ_b (n_b / n)·|accuracy_b − confidence_b|. An over-confident model has confidence above
 * accuracy. The sparse-KD paper (Anshumann et al., ACL 2025) finds Top-K distillation
 * miscalibrates students; `notebooks/sparse_kd.ipynb` measures it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { evaluationBatches, windowsAt } from "../data/batches.ts";
import type { GPT } from "../models/gpt.ts";

/** One confidence bin of a reliability diagram. */
export interface CalibrationBin {
  /** Lower edge (inclusive, except the first bin also holds 0). */
  lo: number;
  /** Upper edge (inclusive). */
  hi: number;
  /** Predictions in the bin. */
  count: number;
  /** Their mean confidence (NaN when empty). */
  confidence: number;
  /** The fraction of them that were right (NaN when empty). */
  accuracy: number;
}

/** Calibration of a set of predictions. */
export interface Calibration {
  /** Expected calibration error. */
  ece: number;
  /** Mean confidence. */
  confidence: number;
  /** Accuracy. */
  accuracy: number;
  /** Predictions. */
  count: number;
  /** The bins (a reliability diagram). */
  bins: CalibrationBin[];
}

/**
 * The calibration of predictions with top-1 `confidences` in [0, 1] and `correct` (1 or 0 each),
 * over `bins` equal-width bins (default 15, as Guo et al.); bin b holds (b/M, (b+1)/M].
 *
 * @example Two bins: confident and right, unsure and wrong half the time
 * ```ts
 * import assert from "node:assert/strict";
 * import { calibration } from "./calibration.ts";
 *
 * const c = calibration([0.9, 0.9, 0.3, 0.3], [1, 1, 1, 0], 2);
 * // Bin (0.5, 1]: confidence 0.9, accuracy 1; bin [0, 0.5]: confidence 0.3, accuracy 0.5.
 * assert.ok(Math.abs(c.ece - (0.5 * 0.1 + 0.5 * 0.2)) < 1e-12);
 * ```
 */
export function calibration(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number>,
  bins = 15,
): Calibration {
  const n = confidences.length;
  if (n === 0) throw new Error("calibration: no predictions (empty confidences)");
  if (correct.length !== n) {
    throw new Error(`calibration: ${n} confidences but ${correct.length} correct flags`);
  }
  if (!(Number.isInteger(bins) && bins >= 1)) {
    throw new Error(`calibration: bins must be a positive integer, got ${bins}`);
  }
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const right = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const c = confidences[i];
    if (!(c >= 0 && c <= 1)) {
      throw new Error(`calibration: confidences must be in [0, 1], got ${c} at ${i}`);
    }
    if (correct[i] !== 0 && correct[i] !== 1) {
      throw new Error(`calibration: correct must hold 0 or 1, got ${correct[i]} at ${i}`);
    }
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    count[b]++;
    conf[b] += c;
    right[b] += correct[i];
  }
  let ece = 0, totalConf = 0, totalRight = 0;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    totalConf += conf[b];
    totalRight += right[b];
    const [mc, acc] = [conf[b] / count[b], right[b] / count[b]];
    if (count[b] > 0) ece += (count[b] / n) * Math.abs(acc - mc);
    out.push({ lo: b / bins, hi: (b + 1) / bins, count: count[b], confidence: mc, accuracy: acc });
  }
  return { ece, confidence: totalConf / n, accuracy: totalRight / n, count: n, bins: out };
}

/**
 * The calibration of a language model's next-token predictions (top-1 probability against
 * whether the argmax is the next token) over non-overlapping windows of a held-out stream, as
 * `evaluateLanguageModel` picks them.
 */
export async function languageModelCalibration(
  model: GPT,
  tokens: Int32Array,
  options: { contextLength: number; maxWindows?: number; batchSize?: number; bins?: number },
): Promise<Calibration> {
  const { contextLength, maxWindows, batchSize = 16, bins } = options;
  const confidences: number[] = [];
  const correct: number[] = [];
  for (const starts of evaluationBatches(tokens, { contextLength, batchSize, maxWindows })) {
    const { inputs, targets } = windowsAt(tokens, starts, contextLength);
    const [top, right] = tf.tidy(() => {
      const logits = model.forward(inputs).logits;
      const p = tf.softmax(logits);
      return [tf.max(p, -1), tf.equal(tf.argMax(logits, -1), targets).toFloat()];
    });
    confidences.push(...await top.data());
    correct.push(...await right.data());
    tf.dispose([inputs, targets, top, right]);
  }
  return calibration(confidences, correct, bins);
}
