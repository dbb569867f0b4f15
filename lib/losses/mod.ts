/**
 * Distillation objectives. Every function takes `(teacherLogits, studentLogits, options?)` with
 * logits `[N, V]` or `[B, T, V]`, treats the teacher as a constant, divides both by
 * `options.temperature` (no T² unless the method's paper uses it), and reduces by the mean over
 * unmasked positions (`options.mask`, `options.reduction`). `getLoss(name, config)` chooses one by
 * name; `lossNames()` lists them. Two objectives compare more than logits: MiniLM's
 * (`miniLMAttention`, registry name `minilm`) takes the last layer's attention probabilities and
 * values of both models, and MiniLMv2's (`miniLMv2Relations`, `minilmv2`) their queries, keys and
 * values; a task supplies them when the objective says `needsAttention`, from the teacher's
 * `teacherLayer` when the config names one (MiniLMv2's upper-middle layer of a large teacher).
 * MiniLLM's (`miniLLMLoss`, `minillm`) is a policy gradient: it scores rollouts, the student's
 * teacher-mixed samples with what was fixed when they were drawn (`needsRollout`). f-distill's
 * (`fDistill`, `fdistill`) estimates a sequence-level divergence from the teacher's and the
 * student's samples, told apart by `studentRows` (`needsSamples`). Sparse KD's (`sparseKL`,
 * `sparse_kd`) learns from the teacher's cached Top-K or sampled tokens (`teacherTargets`, built
 * by `sparsifyLogits`) instead of its logits (`needsTargets`). The representation objectives
 * (`fitnet`, `rkd`, `sp`, `pkt`, `cc`, `vid`, `crd`, `crd_nce`; losses in `lib/representation/`)
 * add a loss on the two classifiers' penultimate features to CE and, optionally, KD
 * (`needsFeatures`); `at`, `nst`, `vid_maps`, `fitnet_maps` and `ft` one on a CNN's block outputs
 * (`needsMaps`). `ft`, `ab` and `fsp` have a first stage of their own (`prepare`): FT's
 * paraphraser, on the teacher's blocks; AB's and FSP's, the student's blocks trained alone on the
 * teacher's activation boundaries or flow between blocks, before CE (and optionally KD).
 *
 * @example Known answers: teacher p = (1/4, 3/4), student q = (1/2, 1/2)
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { forwardKL, getLoss } from "./mod.ts";
 *
 * const teacherLogits = tf.tensor2d([[0, Math.log(3)]]);
 * const studentLogits = tf.tensor2d([[0, 0]]);
 * const value = async (name: string) =>
 *   (await getLoss(name).loss({ teacherLogits, studentLogits }).data())[0];
 * const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
 * close(await value("fkl"), 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5)); // KL(p‖q) = 0.130812
 * close(await value("rkl"), 0.5 * Math.log(2) + 0.5 * Math.log(2 / 3)); // KL(q‖p) = 0.143841
 * close(await value("tvd"), 0.25); // ½ Σ |p − q|
 * close(await value("gjsd"), 0.033822); // ½ KL(p‖m) + ½ KL(q‖m), m = (p + q) / 2
 *
 * // [B, T, V] logits with a mask: the mean runs over unmasked positions only.
 * const masked = forwardKL(
 *   tf.tensor3d([[[0, Math.log(3)], [5, -5]]]),
 *   tf.tensor3d([[[0, 0], [0, 0]]]),
 *   { mask: tf.tensor2d([[1, 0]]) },
 * );
 * close((await masked.data())[0], 0.130812);
 *
 * // Bad input is an error that names the argument, never a silent NaN.
 * assert.throws(() => forwardKL(tf.zeros([2, 3]), tf.zeros([2, 4])), /vocab sizes differ/);
 * assert.throws(() => getLoss("fkl", { temp: 2 }), /takes temperature/);
 * ```
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
export * from "./fdistill.ts";
export * from "./labels.ts";
export * from "./log_sum_exp.ts";
export * from "./hinton_kd.ts";
export * from "./logit_standardization.ts";
export * from "./dist.ts";
export * from "./dkd.ts";
export * from "./nkd.ts";
export * from "./pld.ts";
export * from "./sinkhorn_kd.ts";
export * from "./dual_head_kd.ts";
export * from "./ps_kd.ts";
export * from "./ctkd.ts";
export * from "./delta_kd.ts";
export * from "./minilm_attention.ts";
export * from "./minilm_relations.ts";
export * from "./minillm.ts";
export * from "./sparse_kd.ts";
export * from "./sparse_targets.ts";
export * from "./registry.ts";
export {
  DEFAULT_CHUNK_ELEMENTS,
  type PointwiseKernel,
  type PointwiseOptions,
} from "./pointwise.ts";
