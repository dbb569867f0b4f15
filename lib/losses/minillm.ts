/**
 * MiniLLM's objective (Gu, Dong, Wei & Huang, "MiniLLM: Knowledge Distillation of Large Language
 * Models", ICLR 2024): the sequence-level reverse KL, KL(q_θ ‖ p) over whole outputs, minimised by
 * policy gradient on the student's own outputs (§2.1), with the paper's three stabilisers
 * (§2.2):
 *
 * - **single-step decomposition**: the next token's part of the gradient is taken exactly
 *   over the vocabulary, a token-level reverse KL KL(q_θ(·|y<t) ‖ p(·|y<t)) on the sampled prefixes;
 * - **teacher-mixed sampling**: outputs are drawn from p̃ = α·p + (1 − α)·q_θ and each
 *   token is weighted by w_t = q_θ(y_t) / p̃(y_t);
 * - **length normalisation**: the long-term reward of a position is the mean reward
 *   r_t = log p(y_t) − log q_θ(y_t) of the positions ahead.
 *
 * As in the official code (microsoft/LMOps, `minillm/losses.py`), the long-term part is PPO's
 * clipped surrogate (Schulman et al. 2017) over the importance-weighted ratio
 * ρ_t = w_t · q_θ(y_t) / q_θold(y_t), with advantages precomputed from the rollout
 * (`lib/train/minillm_rollout.ts`), and the single-step term is added unweighted:
 *
 *   L = mean_t max(−A_t·ρ_t, −A_t·clip(ρ_t, 1 − ε, 1 + ε)) + mean_t KL(q_θ(·|y<t) ‖ p(·|y<t)),
 *
 * means over the output positions (the mask). The rollout's numbers are constants; the gradient
 * reaches the student's logits through log q_θ(y_t) and the token-level reverse KL. `longTerm:
 * false` keeps the single-step term alone, an ablation of what the policy gradient adds.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues } from "../deferred_checks.ts";
import { checkLabels, tokenLogProbs } from "./labels.ts";
import { reverseKL } from "./reverse_kl.ts";
import { reduceRows, toRows } from "./validate.ts";

/** What a rollout fixes for each position (float32, the logits' leading shape `[B, T]`). */
export interface PolicyRollout {
  /** log q_θold(y_t): the sampled token's log-probability under the student that sampled it. */
  oldLogProbs: tf.Tensor;
  /** w_t = q_θold(y_t) / p̃(y_t): teacher-mixed sampling's importance weights (1 without mixing). */
  weights: tf.Tensor;
  /** A_t: the advantages (normalised long-term rewards; see `lib/train/minillm_rollout.ts`). */
  advantages: tf.Tensor;
}

/** Options of {@linkcode miniLLMLoss}. */
export interface MiniLLMLossOptions {
  /** The sampled next tokens y_t (int32, the logits' leading shape). */
  labels: tf.Tensor;
  /** What the rollout fixed for each position. */
  rollout: PolicyRollout;
  /** 0/1 over positions: the output positions (a rollout's prompt is not scored). */
  mask?: tf.Tensor;
  /** PPO's ε ∈ (0, 1) (default 0.2, the official `cliprange`). */
  clipRange?: number;
  /** Add the single-step reverse KL (default true, the official `--single-step-reg`). */
  singleStep?: boolean;
  /**
   * Add the long-term policy-gradient term (default true). False leaves the single-step reverse
   * KL on the rollouts alone: an ablation that isolates what the policy gradient adds.
   */
  longTerm?: boolean;
}

/**
 * MiniLLM's loss for one batch of rollouts (see the module doc): PPO's clipped policy-gradient
 * surrogate over the importance-weighted ratio plus the single-step reverse KL, means over the
 * unmasked positions.
 *
 * @param teacherLogits `[B, T, V]` (or `[N, V]`) the frozen teacher's logits on the rollout.
 * @param studentLogits Same shape: the student's, on the gradient tape.
 *
 * @example A fresh rollout (ρ = 1) with zero advantages leaves the single-step reverse KL
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { miniLLMLoss, reverseKL } from "./mod.ts";
 *
 * const teacher = tf.tensor2d([[2, 0, -1], [0, 1, 0]]);
 * const student = tf.tensor2d([[0, 1, 0], [1, 0, 0]]);
 * const labels = tf.tensor1d([1, 0], "int32");
 * const oldLogProbs = tf.sum(tf.mul(tf.logSoftmax(student), tf.oneHot(labels, 3)), 1);
 * const rollout = { oldLogProbs, weights: tf.ones([2]), advantages: tf.zeros([2]) };
 * const loss = miniLLMLoss(teacher, student, { labels, rollout });
 * const rkl = reverseKL(teacher, student);
 * assert.ok(Math.abs((await loss.data())[0] - (await rkl.data())[0]) < 1e-6);
 * ```
 */
export function miniLLMLoss(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: MiniLLMLossOptions,
): tf.Scalar {
  const fn = "miniLLMLoss";
  const { rollout, clipRange = 0.2, singleStep = true, longTerm = true } = options;
  if (!singleStep && !longTerm) {
    throw new Error(`${fn}: singleStep and longTerm are both off; nothing would be trained`);
  }
  if (!(typeof clipRange === "number" && clipRange > 0 && clipRange < 1)) {
    throw new Error(`${fn}: clipRange must be a number in (0, 1), got ${clipRange}`);
  }
  if (!rollout) {
    throw new Error(`${fn}: options.rollout is required (oldLogProbs, weights, advantages)`);
  }
  return tf.tidy(() => {
    const rows = toRows(fn, teacherLogits, studentLogits, { mask: options.mask });
    const n = rows.student.shape[0];
    for (const key of ["oldLogProbs", "weights", "advantages"] as const) {
      const x = rollout[key];
      if (!(x instanceof tf.Tensor) || x.shape.join() !== rows.leading.join()) {
        throw new Error(
          `${fn}: rollout.${key} must have the leading shape [${rows.leading}] of the logits, ` +
            `got [${x instanceof tf.Tensor ? x.shape : typeof x}]`,
        );
      }
    }
    const parts = [rollout.oldLogProbs, rollout.weights, rollout.advantages];
    checkValues(tf.stack(parts.map((x) => tf.sum(tf.abs(x)))), (sums) => {
      const bad = sums.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        return `${fn}: rollout.${
          ["oldLogProbs", "weights", "advantages"][bad]
        } contains NaN or Inf`;
      }
    });
    const labels = checkLabels(fn, options.labels, n, rows.vocab);
    const flat = (x: tf.Tensor) => x.reshape([n]).toFloat();
    const chosen = tokenLogProbs(rows.student, labels);
    const ratio = tf.mul(tf.exp(tf.sub(chosen, flat(rollout.oldLogProbs))), flat(rollout.weights));
    const a = flat(rollout.advantages);
    const surrogate = tf.maximum(
      tf.neg(tf.mul(a, ratio)),
      tf.neg(tf.mul(a, tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange))),
    ) as tf.Tensor1D;
    const policy = reduceRows(surrogate, rows) as tf.Scalar;
    if (!singleStep) return policy;
    const rkl = reverseKL(teacherLogits, studentLogits, { mask: options.mask, validate: false });
    return longTerm ? tf.add(policy, rkl) as tf.Scalar : rkl;
  });
}
