import assert from "node:assert/strict";
import { assertGradient } from "./gradcheck_test_helper.ts";
import {
  BUSBRIDGE_DISTILLATION as P,
  BUSBRIDGE_SUPERVISED as S,
  distillationLoss,
  distillationObjective,
  fitDistillation,
} from "./distillation.ts";
import { supervisedLoss } from "./supervised.ts";

Deno.test("Eq. 8 at Table 6: its designed limits hold", () => {
  // (1) N_S, D_S → ∞: L_S → L_T. (2) L_T → ∞: L_S → L_T.
  assert.ok(Math.abs(distillationLoss(P, S, 1e15, 1e18, 2.0) - 2.0) < 1e-3);
  const big = 50;
  assert.ok(Math.abs(distillationLoss(P, S, 1e9, 1e10, big) - big) / big < 1e-6);
  // Infinite data, the best teacher: close to the supervised floor E + (A·N^−α)^γ (App. E.6, < 0.8%).
  for (const N of [1e8, 1e9, 1e10]) {
    const floor = S.E + (S.A / N ** S.alpha) ** S.gamma;
    let best = Infinity;
    for (let lt = 1.0; lt < 4; lt += 0.0005) {
      best = Math.min(best, distillationLoss(P, S, N, 1e30, lt));
    }
    assert.ok(Math.abs(best - floor) / floor < 0.01, `N=${N}: ${best} vs ${floor}`);
  }
});

Deno.test("Eq. 8 objective: analytic gradient equals finite differences", () => {
  const points = [];
  for (const NS of [1e8, 1e9]) {
    for (const DS of [1e9, 1e10]) {
      for (const LT of [2.2, 2.6, 3.0]) {
        points.push({ NS, DS, LT, LS: distillationLoss(P, S, NS, DS, LT) * 1.003 });
      }
    }
  }
  const f = distillationObjective(points, S, 1e-2);
  assertGradient(f, [7.5, 10, 0.3, 0.6, 0.7, 2.4, 5, 0.3, 0.25], 1e-8, 1e-4);
});

Deno.test("fitDistillation fits data made by Eq. 8 and refuses bad teacher losses", () => {
  const truth = { ...P, c1: 5, f1: 0.3 };
  const points = [];
  for (const NS of [1e8, 3e8, 1e9, 3e9]) {
    for (const DS of [2e9, 1e10, 5e10]) {
      for (const LT of [2.0, 2.3, 2.6, 3.0]) {
        points.push({ NS, DS, LT, LS: distillationLoss(truth, S, NS, DS, LT) });
      }
    }
  }
  const start = [
    Math.log(truth.A) + 0.3,
    Math.log(truth.B) - 0.3,
    0.3,
    0.6,
    0.7,
    2.4,
    4,
    0.35,
    Math.log(truth.d1) + 0.05,
  ];
  const fit = fitDistillation(points, S, { starts: [start] });
  const rel = points.map((p) => Math.abs(distillationLoss(fit, S, p.NS, p.DS, p.LT) / p.LS - 1));
  assert.ok(Math.max(...rel) < 2e-3, `max relative error ${Math.max(...rel)}`);
  assert.ok(supervisedLoss(S, 1e9, 1e10) > 0);
  const bad = points.slice(0, 10).map((p, i) => (i === 4 ? { ...p, LT: -1 } : p));
  assert.throws(() => fitDistillation(bad, S), /points\[4\]\.LT must be finite and > 0/);
});
