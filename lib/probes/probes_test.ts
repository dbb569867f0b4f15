import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import { knnAccuracy } from "./knn.ts";
import type { LabelledFeatures } from "./labelled_features.ts";
import { linearProbe, logisticLoss } from "./linear_probe.ts";

/** Gaussian blobs: class c centred at `separation`·e_c in `dim` dimensions. */
function blobs(
  n: number,
  dim: number,
  classes: number,
  separation: number,
  seed: number,
): LabelledFeatures {
  const rng = new Rng(seed);
  const features = new Float64Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    for (let j = 0; j < dim; j++) {
      features[i * dim + j] = rng.gaussian() + (j === labels[i] ? separation : 0) + 5;
    }
  }
  return { features, labels, dim, classes };
}

Deno.test("linearProbe: separable blobs are learned, chance-level noise is not; the gradient is exact", () => {
  const good = linearProbe(blobs(600, 6, 3, 6, 1), blobs(300, 6, 3, 6, 2));
  assert.ok(good.accuracy > 0.98, `accuracy ${good.accuracy}`);
  const noise = linearProbe(blobs(600, 6, 3, 0, 3), blobs(3000, 6, 3, 0, 4));
  assert.ok(Math.abs(noise.accuracy - 1 / 3) < 0.05, `noise accuracy ${noise.accuracy}`);
  // The loss's gradient against central finite differences.
  const x = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.7));
  const labels = Int32Array.from([0, 2, 1, 2]);
  const f = logisticLoss(x, labels, 3, 3, 0.3);
  const w = Float64Array.from({ length: 12 }, (_, i) => Math.cos(i));
  const grad = new Float64Array(12);
  f(w, grad);
  for (let i = 0; i < 12; i++) {
    const plus = Float64Array.from(w);
    const minus = Float64Array.from(w);
    plus[i] += 1e-6;
    minus[i] -= 1e-6;
    const numeric = (f(plus, new Float64Array(12)) - f(minus, new Float64Array(12))) / 2e-6;
    assert.ok(Math.abs(grad[i] - numeric) < 1e-8, `∂/∂w${i}: ${grad[i]} vs ${numeric}`);
  }
  const tiny: LabelledFeatures = {
    features: Float64Array.from([-1, 1]),
    labels: Int32Array.from([0, 1]),
    dim: 1,
    classes: 2,
  };
  const r = linearProbe(tiny, tiny, { l2: 0.1 });
  assert.equal(r.accuracy, 1);
  assert.throws(
    () => linearProbe(tiny, { ...tiny, labels: Int32Array.from([0, 2]) }),
    /label 2 outside \[0, 2\)/,
  );
  assert.throws(
    () => linearProbe({ ...tiny, features: Float64Array.from([NaN, 1]) }, tiny),
    /non-finite/,
  );
  assert.throws(
    () => linearProbe(tiny, { ...tiny, dim: 2, features: new Float64Array(4) }),
    /1-d.*2-d/,
  );
});

Deno.test("knnAccuracy: brute-force reference on random data; blobs are separable", () => {
  const train = blobs(200, 5, 4, 0.8, 5);
  const test = blobs(50, 5, 4, 0.8, 6);
  // Reference: sort all similarities, weighted vote over the top k.
  const unit = (s: LabelledFeatures, i: number) => {
    const v = Array.from(s.features.subarray(i * 5, i * 5 + 5));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  let correct = 0;
  for (let t = 0; t < 50; t++) {
    const q = unit(test, t);
    const ranked = Array.from(
      { length: 200 },
      (_, i) => ({ i, s: unit(train, i).reduce((a, x, j) => a + x * q[j], 0) }),
    )
      .sort((a, b) => b.s - a.s).slice(0, 7);
    const votes = new Array(4).fill(0);
    for (const r of ranked) votes[train.labels[r.i]] += Math.exp(r.s / 0.1);
    if (votes.indexOf(Math.max(...votes)) === test.labels[t]) correct++;
  }
  assert.equal(knnAccuracy(train, test, { k: 7, temperature: 0.1 }), correct / 50);
  assert.ok(knnAccuracy(blobs(400, 6, 3, 8, 7), blobs(100, 6, 3, 8, 8)) > 0.97);
  assert.throws(
    () => knnAccuracy(train, { ...test, labels: new Int32Array(0), features: new Float64Array(0) }),
    /empty set/,
  );
});
