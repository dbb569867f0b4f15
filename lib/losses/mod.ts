/**
 * Distillation objectives. Every function takes `(teacherLogits, studentLogits, options?)` with
 * logits `[N, V]` or `[B, T, V]`, treats the teacher as a constant, divides both by
 * `options.temperature` (no T² unless the method's paper uses it), and reduces by the mean over
 * unmasked positions (`options.mask`, `options.reduction`). `getLoss(name, config)` chooses one by
 * name; `lossNames()` lists them.
 *
 * @module
 */
export * from "./validate.ts";
export * from "./forward_kl.ts";
export * from "./reverse_kl.ts";
export * from "./total_variation.ts";
export * from "./generalized_jsd.ts";
export * from "./skew_kl.ts";
export * from "./adaptive_kl.ts";
export * from "./f_divergence.ts";
export * from "./labels.ts";
export * from "./log_sum_exp.ts";
export * from "./hinton_kd.ts";
export * from "./dkd.ts";
export * from "./nkd.ts";
export * from "./pld.ts";
export * from "./sinkhorn_kd.ts";
export * from "./dual_head_kd.ts";
export * from "./ps_kd.ts";
export * from "./ctkd.ts";
export * from "./delta_kd.ts";
export * from "./minilm_attention.ts";
export * from "./registry.ts";
export {
  DEFAULT_CHUNK_ELEMENTS,
  type PointwiseKernel,
  type PointwiseOptions,
} from "./pointwise.ts";
