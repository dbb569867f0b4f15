/**
 * PHI-S and multi-teacher feature normalisation (Ranzinger et al., "PHI-S: Distribution Balancing
 * for Label-Free Multi-Teacher Distillation", arXiv 2410.01680): Hadamard matrices, streaming
 * feature statistics, the seven normalisers the paper compares, feature losses, AdaLoss, and the
 * one-trunk / many-heads harness.
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
