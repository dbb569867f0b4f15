/**
 * Scaling-law fitting (float64, no tensors): L-BFGS, and the Chinchilla law fitted as Epoch AI's
 * replication does, with compute-optimal allocation.
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
 * @module
 */
export * from "./lbfgs.ts";
export * from "./chinchilla.ts";
export * from "./bootstrap.ts";
export * from "./supervised.ts";
export * from "./distillation.ts";
export * from "./compute.ts";
export * from "./allocation.ts";
