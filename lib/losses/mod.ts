/**
 * Distillation objectives. Every function takes `(teacherLogits, studentLogits, options?)` with
 * logits `[N, V]` or `[B, T, V]`, treats the teacher as a constant, divides both by
 * `options.temperature` (no T² unless the method's paper uses it), and reduces by the mean over
 * unmasked positions (`options.mask`, `options.reduction`).
 *
 * @module
 */
export * from "./validate.ts";
export * from "./forward_kl.ts";
export * from "./reverse_kl.ts";
export * from "./total_variation.ts";
export * from "./generalized_jsd.ts";
export * from "./skew_kl.ts";
export { type PointwiseKernel, type PointwiseOptions } from "./pointwise.ts";
