import assert from "node:assert/strict";
import { assertGradient } from "./gradcheck_test_helper.ts";
import { Rng } from "../data/rng.ts";
import { fitSupervised, supervisedLoss, supervisedObjective } from "./supervised.ts";

const truth = { E: 1.22, A: 3355, B: 18186, alpha: 0.408, beta: 0.431, gamma: 0.452 };
const synthetic = (noise: number, seed = 3) => {
  const rng = new Rng(seed);
  const points = [];
  for (const N of [1e8, 3e8, 1e9, 3e9, 1e10]) {
    for (const tpp of [5, 10, 20, 50, 100, 200]) {
      const D = N * tpp;
      points.push({ N, D, L: supervisedLoss(truth, N, D) * Math.exp(noise * (rng.next() - 0.5)) });
    }
  }
  return points;
};

Deno.test("γ-form objective: analytic gradient equals finite differences", () => {
  const f = supervisedObjective(synthetic(0.01), 1e-2);
  assertGradient(f, [8, 9.5, 0.1, 0.4, 0.42, 0.5], 1e-8, 1e-5);
});

Deno.test("fitSupervised recovers Apple's Table 6 coefficients from their own law (small noise)", () => {
  const starts = [];
  for (const a of [5, 10]) {
    for (const b of [5, 10]) for (const g of [0.5, 1]) starts.push([a, b, 0, 0.5, 0.5, g]);
  }
  const fit = fitSupervised(synthetic(0.002), { starts });
  assert.ok(Math.abs(fit.E - truth.E) < 0.05, `E ${fit.E}`);
  assert.ok(Math.abs(fit.alpha - truth.alpha) < 0.03, `α ${fit.alpha}`);
  assert.ok(Math.abs(fit.beta - truth.beta) < 0.03, `β ${fit.beta}`);
  assert.ok(Math.abs(fit.gamma - truth.gamma) < 0.05, `γ ${fit.gamma}`);
  assert.throws(
    () => fitSupervised(synthetic(0).slice(0, 5)),
    /5 points cannot determine 6 parameters/,
  );
});
