/**
 * Calibration of top-1 predictions, a classifier's or a language model's next token: the expected
 * calibration error (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017, §2):
 * predictions are put into M equal-width bins of confidence (the top probability; bin b holds
 * [b/M, (b+1)/M), the last also 1) and ECE = Σ_b (n_b / n)·|accuracy_b − confidence_b|. An
 * over-confident model has confidence above accuracy. The bins are summed first
 * ({@linkcode calibrationSums}), so a caller can add the sums of many batches in float64 before
 * {@linkcode calibrationFromSums}; `./evaluate.ts` does so for classifiers (`reliabilityBins`,
 * `expectedCalibrationError`) and language models (`languageModelCalibration`). The sparse-KD
 * paper (Anshumann et al., ACL 2025) finds Top-K distillation miscalibrates students;
 * `notebooks/sparse_kd.ipynb` measures it.
 *
 * @module
 */

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  /** Lower edge of the confidence bin. */
  lower: number;
  /** Examples in the bin. */
  count: number;
  /** Mean top-class probability in the bin (NaN when empty). */
  confidence: number;
  /** Fraction correct in the bin (NaN when empty). */
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
  bins: ReliabilityBin[];
}

/**
 * Per-bin sums of predictions with top-1 `confidences` in [0, 1] and `correct` (1 or 0 each),
 * over `bins` equal-width bins: `[3·bins]`, the counts, then the confidences' sums, then the
 * correct ones' counts. Sums of several batches add up to the sums of all of them.
 */
export function calibrationSums(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number>,
  bins = 15,
): Float64Array {
  const n = confidences.length;
  if (correct.length !== n) {
    throw new Error(`calibration: ${n} confidences but ${correct.length} correct flags`);
  }
  if (!(Number.isInteger(bins) && bins >= 1)) {
    throw new Error(`calibration: bins must be a positive integer, got ${bins}`);
  }
  const sums = new Float64Array(3 * bins);
  for (let i = 0; i < n; i++) {
    const c = confidences[i];
    if (!(c >= 0 && c <= 1)) {
      throw new Error(`calibration: confidences must be in [0, 1], got ${c} at ${i}`);
    }
    if (correct[i] !== 0 && correct[i] !== 1) {
      throw new Error(`calibration: correct must hold 0 or 1, got ${correct[i]} at ${i}`);
    }
    const b = Math.min(bins - 1, Math.floor(c * bins));
    sums[b]++;
    sums[bins + b] += c;
    sums[2 * bins + b] += correct[i];
  }
  return sums;
}

/** The calibration that per-bin sums (of {@linkcode calibrationSums}, added up) describe. */
export function calibrationFromSums(sums: ArrayLike<number>): Calibration {
  const bins = sums.length / 3;
  if (!(Number.isInteger(bins) && bins >= 1)) {
    throw new Error(`calibration: sums must hold 3 numbers per bin, got ${sums.length}`);
  }
  let n = 0, totalConf = 0, totalRight = 0;
  for (let b = 0; b < bins; b++) {
    n += sums[b];
    totalConf += sums[bins + b];
    totalRight += sums[2 * bins + b];
  }
  if (n === 0) throw new Error("calibration: no predictions (empty confidences)");
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = sums[b];
    const [confidence, accuracy] = count
      ? [sums[bins + b] / count, sums[2 * bins + b] / count]
      : [NaN, NaN];
    if (count) ece += count / n * Math.abs(accuracy - confidence);
    out.push({ lower: b / bins, count, confidence, accuracy });
  }
  return { ece, confidence: totalConf / n, accuracy: totalRight / n, count: n, bins: out };
}

/**
 * The calibration of predictions with top-1 `confidences` in [0, 1] and `correct` (1 or 0 each),
 * over `bins` equal-width bins (default 15, as Guo et al.).
 *
 * @example Two bins: confident and right, unsure and wrong half the time
 * ```ts
 * import assert from "node:assert/strict";
 * import { calibration } from "./calibration.ts";
 *
 * const c = calibration([0.9, 0.9, 0.3, 0.3], [1, 1, 1, 0], 2);
 * // Bin [0.5, 1]: confidence 0.9, accuracy 1; bin [0, 0.5): confidence 0.3, accuracy 0.5.
 * assert.ok(Math.abs(c.ece - (0.5 * 0.1 + 0.5 * 0.2)) < 1e-12);
 * ```
 */
export function calibration(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number>,
  bins = 15,
): Calibration {
  return calibrationFromSums(calibrationSums(confidences, correct, bins));
}
