/**
 * Linear probe: multinomial logistic regression on frozen features, the standard measure of what a
 * representation linearly encodes (e.g. Radford et al., CLIP, 2021, §3.2; the PHI-S paper's
 * classification benchmarks). Features are standardised per dimension with the training set's
 * statistics, the weights carry an L2 penalty, and the convex objective is minimised in float64
 * by L-BFGS, so the result is deterministic and independent of the tfjs backend.
 *
 * @module
 */
import { minimizeLBFGS } from "../scaling/lbfgs.ts";
import { checkLabelledFeatures, type LabelledFeatures } from "./labelled_features.ts";

/** Options of {@link linearProbe}. */
export interface LinearProbeOptions {
  /** L2 penalty λ·‖W‖² / 2 on the weights (not the biases), per example (default 1e-4). */
  l2?: number;
  /** L-BFGS iterations (default 200). */
  maxIterations?: number;
}

/** What {@link linearProbe} returns. */
export interface LinearProbeResult {
  /** Test accuracy in [0, 1]. */
  accuracy: number;
  /** Training accuracy. */
  trainAccuracy: number;
  /** Final mean training loss (cross-entropy + penalty). */
  loss: number;
  /** L-BFGS iterations taken. */
  iterations: number;
}

/** Trains on `train`, reports accuracy on `test`; see the module doc. */
export function linearProbe(
  train: LabelledFeatures,
  test: LabelledFeatures,
  options: LinearProbeOptions = {},
): LinearProbeResult {
  const n = checkLabelledFeatures(train, "linearProbe(train)");
  checkLabelledFeatures(test, "linearProbe(test)");
  if (test.dim !== train.dim || test.classes !== train.classes) {
    throw new Error(
      `linearProbe: train is ${train.dim}-d with ${train.classes} classes, test ${test.dim}-d with ${test.classes}`,
    );
  }
  const { dim: d, classes: k } = train;
  const l2 = options.l2 ?? 1e-4;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += train.features[i * d + j] / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) std[j] += (train.features[i * d + j] - mean[j]) ** 2 / n;
  }
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
  const standardise = (set: LabelledFeatures) =>
    Float64Array.from(set.features, (v, i) => (v - mean[i % d]) / std[i % d]);
  const x = standardise(train);
  const objective = logisticLoss(x, train.labels, d, k, l2);
  const fit = minimizeLBFGS(objective, new Float64Array((d + 1) * k), {
    maxIterations: options.maxIterations ?? 200,
    gradTolerance: 1e-6,
    relTolerance: 1e-10,
  });
  const accuracy = (set: LabelledFeatures, xs: Float64Array) => {
    let correct = 0;
    const m = set.labels.length;
    for (let i = 0; i < m; i++) {
      let best = 0;
      let bestValue = -Infinity;
      for (let c = 0; c < k; c++) {
        let s = fit.x[d * k + c];
        for (let j = 0; j < d; j++) s += xs[i * d + j] * fit.x[j * k + c];
        if (s > bestValue) bestValue = s, best = c;
      }
      if (best === set.labels[i]) correct++;
    }
    return correct / m;
  };
  return {
    accuracy: accuracy(test, standardise(test)),
    trainAccuracy: accuracy(train, x),
    loss: fit.f,
    iterations: fit.iterations,
  };
}

/**
 * The mean multinomial logistic loss of standardised rows `x` ([n, d]) with labels, plus
 * λ‖W‖²/2, as an L-BFGS objective over [W (d×k, row-major), b (k)].
 */
export function logisticLoss(
  x: Float64Array,
  labels: Int32Array,
  d: number,
  k: number,
  l2: number,
): (w: Float64Array, grad: Float64Array) => number {
  const n = labels.length;
  const logits = new Float64Array(k);
  return (w: Float64Array, grad: Float64Array) => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * d;
      for (let c = 0; c < k; c++) logits[c] = w[d * k + c];
      for (let j = 0; j < d; j++) {
        const v = x[row + j];
        if (v === 0) continue;
        const wr = j * k;
        for (let c = 0; c < k; c++) logits[c] += v * w[wr + c];
      }
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, logits[c]);
      let z = 0;
      for (let c = 0; c < k; c++) z += logits[c] = Math.exp(logits[c] - max);
      const y = labels[i];
      loss -= Math.log(logits[y] / z);
      for (let c = 0; c < k; c++) logits[c] = logits[c] / z - (c === y ? 1 : 0);
      for (let j = 0; j < d; j++) {
        const v = x[row + j];
        if (v === 0) continue;
        const wr = j * k;
        for (let c = 0; c < k; c++) grad[wr + c] += v * logits[c];
      }
      for (let c = 0; c < k; c++) grad[d * k + c] += logits[c];
    }
    let penalty = 0;
    for (let i = 0; i < d * k; i++) penalty += w[i] * w[i];
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i] / n + (i < d * k ? l2 * w[i] : 0);
    return loss / n + 0.5 * l2 * penalty;
  };
}
