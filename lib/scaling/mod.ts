/**
 * Scaling-law fitting (float64, no tensors): L-BFGS; the Chinchilla law fitted as Epoch AI's
 * replication does, with bootstrap intervals; Busbridge et al.'s supervised (γ-form) and
 * distillation laws; and compute-optimal allocation, with and without distillation.
 *
 * @example Fit a law to runs, then allocate a compute budget
 * ```ts
 * import assert from "node:assert/strict";
 * import { chinchillaLoss, chinchillaOptimal, fitChinchilla, type ScalingPoint } from "./mod.ts";
 *
 * // Fifteen noiseless runs from a known law: the fit recovers it.
 * const truth = { E: 1.7, A: 400, B: 2000, alpha: 0.34, beta: 0.37 };
 * const points: ScalingPoint[] = [];
 * for (const N of [1e7, 3e7, 1e8, 3e8, 1e9]) {
 *   for (const D of [1e9, 1e10, 1e11]) points.push({ N, D, L: chinchillaLoss(truth, N, D) });
 * }
 * // Starts as [log A, log B, log E, α, β]; the default is Hoffmann et al.'s 4500-start grid.
 * const fit = fitChinchilla(points, { starts: [[5, 7, 0.5, 0.3, 0.3], [6, 8, 0, 0.5, 0.5]] });
 * assert.ok(Math.abs(fit.alpha - 0.34) < 1e-6 && Math.abs(fit.beta - 0.37) < 1e-6);
 * assert.ok(Math.abs(fit.E - 1.7) < 1e-6);
 *
 * // Compute-optimal N and D for C = 6·N·D. With A = B and α = β the optimum is N = D = √(C/6).
 * const best = chinchillaOptimal({ E: 1, A: 100, B: 100, alpha: 0.3, beta: 0.3 }, 6e20);
 * assert.ok(Math.abs(best.N / 1e10 - 1) < 1e-9 && Math.abs(best.D / 1e10 - 1) < 1e-9);
 * assert.ok(Math.abs(best.L - 1.2) < 1e-12); // 1 + 2 · 100 / (1e10)^0.3
 * ```
 *
 * @example The distillation law's designed limits and its capacity gap (Busbridge et al., §4.3)
 * ```ts
 * import assert from "node:assert/strict";
 * import { BUSBRIDGE_DISTILLATION, BUSBRIDGE_SUPERVISED, distillationLoss } from "./mod.ts";
 *
 * // L_S(N_S, D_S, L_T) with the published coefficients (Table 6).
 * const student = (NS: number, DS: number, LT: number) =>
 *   distillationLoss(BUSBRIDGE_DISTILLATION, BUSBRIDGE_SUPERVISED, NS, DS, LT);
 * assert.ok(Math.abs(student(1e15, 1e18, 2) - 2) < 1e-3); // a huge student reaches its teacher
 * assert.equal(student(1e9, 2e10, 10), 10); // a random teacher gives a random student
 * // The strongest teacher is not the best one for a small student (N_S = 1e8, D_S = 2e9).
 * const teachers = Array.from({ length: 251 }, (_, i) => 1.5 + i / 100); // L_T from 1.5 to 4
 * const best = teachers.reduce((a, b) => (student(1e8, 2e9, b) < student(1e8, 2e9, a) ? b : a));
 * assert.ok(best > 1.8 && best < 2.1); // ≈ 1.95: L_S 2.66, against 2.91 with L_T = 1.5
 * ```
 *
 * @module
 */
export * from "./lbfgs.ts";
export * from "./chinchilla.ts";
export * from "./bootstrap.ts";
export * from "./supervised.ts";
export * from "./distillation.ts";
export * from "./compute.ts";
export * from "./allocation.ts";
