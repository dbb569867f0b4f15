/**
 * PHI-S and multi-teacher feature normalisation (Ranzinger et al., "PHI-S: Distribution Balancing
 * for Label-Free Multi-Teacher Distillation", arXiv 2410.01680): Hadamard matrices, streaming
 * feature statistics, the seven normalisers the paper compares, feature losses, AdaLoss, and the
 * one-trunk / many-heads harness.
 *
 * @example Stream a teacher's features, fit PHI-S, and check Theorem 2.1
 * ```ts
 * import assert from "node:assert/strict";
 * import { FeatureMoments, fitNormalizer } from "./mod.ts";
 *
 * // Four channels with very different scales (std ≈ 0.7, 7, 2.3, 1.4).
 * const rows = Array.from({ length: 200 }, (_, i) => [
 *   Math.sin(i),
 *   10 * Math.cos(0.7 * i),
 *   3 * Math.sin(1.3 * i) + Math.cos(i),
 *   (i % 5) - 2,
 * ]);
 * // Statistics stream in batches (or shards, merged) in float64.
 * const moments = new FeatureMoments(4).update(rows.slice(0, 77));
 * moments.merge(new FeatureMoments(4).update(rows.slice(77)));
 *
 * const phis = fitNormalizer("phi-s", moments);
 * const normalized = new FeatureMoments(4).update(phis.forward(rows)).covariance();
 * for (let i = 0; i < 4; i++) assert.ok(Math.abs(normalized.data[5 * i] - 1) < 1e-12);
 *
 * // PHI-S is a rotation times α = 1/√(mean eigenvalue) = 1/√(trace Σ / C): a uniform scale, so
 * // it amplifies no direction more than α, where per-channel standardisation amplifies the
 * // quietest channel by 1/σ_min.
 * const covariance = moments.covariance().data;
 * const trace = covariance[0] + covariance[5] + covariance[10] + covariance[15];
 * assert.ok(Math.abs(phis.alpha! - 1 / Math.sqrt(trace / 4)) < 1e-12);
 * assert.ok(Math.abs(phis.gain() - phis.alpha!) < 1e-12);
 * const standardize = fitNormalizer("per-dim-std", moments);
 * assert.ok(Math.abs(standardize.gain() - 1 / Math.sqrt(covariance[0])) < 1e-12);
 * ```
 *
 * @module
 */
export * from "./finite_field.ts";
export * from "./hadamard.ts";
export * from "./feature_moments.ts";
export * from "./normalizer.ts";
export * from "./feature_losses.ts";
export * from "./step_means.ts";
export * from "./ada_loss.ts";
export * from "./multi_teacher.ts";
