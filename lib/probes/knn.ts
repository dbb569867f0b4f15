/**
 * k-nearest-neighbour classification on frozen features by cosine similarity, the label-free
 * representation measure of DINO (Caron et al., 2021, §4.1; also the PHI-S paper's kNN column):
 * each test vector takes the labels of its k most similar training vectors, weighted by
 * exp(similarity / τ). Float64, brute force.
 *
 * @module
 */
import { checkLabelledFeatures, type LabelledFeatures } from "./labelled_features.ts";

/** Options of {@link knnAccuracy}. */
export interface KnnOptions {
  /** Neighbours (default 20, as DINO). */
  k?: number;
  /** Temperature of the similarity weights (default 0.07, as DINO). */
  temperature?: number;
}

function unitRows(set: LabelledFeatures): Float64Array {
  const d = set.dim;
  const out = Float64Array.from(set.features);
  for (let i = 0; i < set.labels.length; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += out[i * d + j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) out[i * d + j] /= norm;
  }
  return out;
}

/** Accuracy in [0, 1] of weighted kNN; see the module doc. */
export function knnAccuracy(
  train: LabelledFeatures,
  test: LabelledFeatures,
  options: KnnOptions = {},
): number {
  const n = checkLabelledFeatures(train, "knnAccuracy(train)");
  const m = checkLabelledFeatures(test, "knnAccuracy(test)");
  if (test.dim !== train.dim) {
    throw new Error(`knnAccuracy: train is ${train.dim}-d, test ${test.dim}-d`);
  }
  const k = Math.min(options.k ?? 20, n);
  const tau = options.temperature ?? 0.07;
  if (!(k >= 1) || !(tau > 0)) {
    throw new Error(`knnAccuracy: need k ≥ 1 and temperature > 0, got ${k}, ${tau}`);
  }
  const d = train.dim;
  const a = unitRows(train);
  const b = unitRows(test);
  const sims = new Float64Array(n);
  const topIndex = new Int32Array(k);
  const topSim = new Float64Array(k);
  const votes = new Float64Array(Math.max(train.classes, test.classes));
  let correct = 0;
  for (let t = 0; t < m; t++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += a[i * d + j] * b[t * d + j];
      sims[i] = s;
    }
    // Keep the k largest by insertion (k is small).
    let filled = 0;
    for (let i = 0; i < n; i++) {
      const s = sims[i];
      if (filled === k && s <= topSim[k - 1]) continue;
      let pos = filled < k ? filled++ : k - 1;
      while (pos > 0 && topSim[pos - 1] < s) {
        topSim[pos] = topSim[pos - 1];
        topIndex[pos] = topIndex[pos - 1];
        pos--;
      }
      topSim[pos] = s;
      topIndex[pos] = i;
    }
    votes.fill(0);
    for (let r = 0; r < filled; r++) votes[train.labels[topIndex[r]]] += Math.exp(topSim[r] / tau);
    let best = 0;
    for (let c = 1; c < votes.length; c++) if (votes[c] > votes[best]) best = c;
    if (best === test.labels[t]) correct++;
  }
  return correct / m;
}
