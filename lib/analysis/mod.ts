/**
 * Analysis helpers for notebooks: grouped statistics of run summaries (mean ± std and a 95%
 * t-interval), paired differences of two methods over shared seeds, the PHI-S paper's average
 * ranks across benchmarks, and linear CKA between two representations of the same examples.
 *
 * @example Seeds to mean ± CI, then methods to average ranks
 * ```ts
 * import assert from "node:assert/strict";
 * import { averageRanks, groupStats } from "./mod.ts";
 *
 * const runs = [
 *   { method: "taid", val_ce: 1, seed: 1 },
 *   { method: "taid", val_ce: 2, seed: 2 },
 *   { method: "taid", val_ce: 3, seed: 3 },
 *   { method: "fkl", val_ce: 5, seed: 1 },
 * ];
 * const [taid, fkl] = groupStats(runs, "method", ["val_ce"]);
 * assert.equal(taid.val_ce_mean, 2);
 * assert.equal(taid.val_ce_std, 1); // sample std (n − 1)
 * assert.ok(Math.abs((taid.val_ce_ci95 as number) - 4.303 / Math.sqrt(3)) < 1e-12); // t(0.975, 2)
 * assert.ok(Number.isNaN(fkl.val_ce_std)); // one seed: no spread, never a made-up 0
 *
 * // Ranks per criterion (ties share the mean rank), averaged within a group, then over groups.
 * const score = (method: string, criterion: string, group: string, value: number, lower: boolean) =>
 *   ({ method, criterion, group, value, lowerIsBetter: lower });
 * const ranks = averageRanks([
 *   score("phi-s", "mnist", "probe", 0.97, false),
 *   score("mse", "mnist", "probe", 0.95, false),
 *   score("phi-s", "fashion", "probe", 0.88, false),
 *   score("mse", "fashion", "probe", 0.88, false),
 *   score("phi-s", "sam", "teacher MSE", 0.3, true),
 *   score("mse", "sam", "teacher MSE", 0.1, true),
 * ]);
 * assert.deepEqual(ranks, [
 *   { method: "mse", probe: 1.75, "teacher MSE": 1, average: 1.375 },
 *   { method: "phi-s", probe: 1.25, "teacher MSE": 2, average: 1.625 },
 * ]);
 * ```
 *
 * @module
 */
export * from "./stats.ts";
export * from "./cka.ts";
export * from "./ranks.ts";
export * from "./attention_distance.ts";
