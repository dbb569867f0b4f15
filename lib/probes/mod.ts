/**
 * Probes of frozen representations: a linear probe (logistic regression) and weighted kNN.
 *
 * @example What a linear probe sees and kNN also sees
 * ```ts
 * import assert from "node:assert/strict";
 * import { knnAccuracy, type LabelledFeatures, linearProbe } from "./mod.ts";
 *
 * // Four clusters at (±1, ±1); the label is the sign of x (linear) or XOR of the signs (not).
 * function features(n: number, seed: number, xor: boolean): LabelledFeatures {
 *   const out = new Float64Array(2 * n);
 *   const labels = new Int32Array(n);
 *   for (let i = 0; i < n; i++) {
 *     const [sx, sy] = [i % 2 ? 1 : -1, (i >> 1) % 2 ? 1 : -1];
 *     const jitter = 0.2 * Math.sin(12.9898 * i + seed);
 *     out.set([sx + jitter, sy - jitter], 2 * i);
 *     labels[i] = xor ? Number(sx * sy > 0) : Number(sx > 0);
 *   }
 *   return { features: out, labels, dim: 2, classes: 2 };
 * }
 * assert.equal(linearProbe(features(200, 1, false), features(100, 2, false)).accuracy, 1);
 * // XOR is not linearly separable: the probe is at chance; kNN's neighbourhoods still get it.
 * assert.ok(linearProbe(features(200, 1, true), features(100, 2, true)).accuracy < 0.6);
 * assert.equal(knnAccuracy(features(200, 1, true), features(100, 2, true), { k: 5 }), 1);
 * ```
 *
 * @module
 */
export * from "./labelled_features.ts";
export * from "./linear_probe.ts";
export * from "./knn.ts";
