/**
 * MiniLLM's rollouts (Gu, Dong, Wei & Huang, "MiniLLM: Knowledge Distillation of Large Language
 * Models", ICLR 2024, Algorithm 1): the student continues each window's prompt (its first
 * `promptLength` tokens) by teacher-mixed sampling, from p̃ = α·p + (1 − α)·q_θ
 * (`generateMixed`), and the rollout fixes, for each output position t, what the policy-gradient
 * loss (`lib/losses/minillm.ts`) needs:
 *
 * - log q_θold(y_t), the sampled token's log-probability under the student that sampled it;
 * - w_t = q_θold(y_t) / p̃(y_t) = 1 / ((1 − α) + α·p(y_t)/q_θold(y_t)), the importance weight;
 * - the advantage A_t: with rewards r_t = log p(y_t) − log q_θold(y_t), the discounted sum of the
 *   rewards ahead, Σ_{t' ≥ t} γ^{t'−t}·r_t', divided by the number of output positions ahead
 *   (§2.2's length normalisation), then whitened over the micro-batch's output positions, as the
 *   official code does (microsoft/LMOps `minillm/losses.py`: γ = 0.95, `--length-norm`, trlx's
 *   whitening). Its reward scaling (0.5) cancels in the whitening, and its reward clipping (±100)
 *   binds only where log p and log q differ by 50 nats, so both are left out.
 *
 * One rollout serves `ppoEpochs` consecutive micro-batches (the official `--ppo-epochs 4`): PPO's
 * clipped ratio keeps the later passes close to the policy that sampled it. Rollout g, for
 * micro-batches g·K … g·K + K − 1, is drawn at the first of them, from that micro-batch's prompts
 * and seeded by (seed, g); a checkpoint keeps the current rollout ({@linkcode MiniLLMRollouts.state}),
 * so a resumed run trains on what an uninterrupted one would. Drawing a rollout costs the new
 * tokens' sequential forward passes of both models (each against its key/value cache) and one full
 * pass of each to score the sequence.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hashSeed } from "../data/rng.ts";
import { tokenLogProbs } from "../losses/labels.ts";
import type { GPT } from "../models/gpt.ts";
import { checkSampling, outputMask, promptContinuation, sequenceWindows } from "./on_policy.ts";

/** MiniLLM's rollout options (defaults: the official scripts'). */
export interface MiniLLMOptions {
  /** Tokens of each window kept as the prompt, in [1, contextLength]. */
  promptLength: number;
  /** α ∈ [0, 1]: the teacher's share of the sampling mixture (default 0.2). */
  teacherMix?: number;
  /** γ ∈ [0, 1]: the discount of rewards ahead (default 0.95). */
  discount?: number;
  /** Divide each long-term reward by the output positions ahead (default true). */
  lengthNorm?: boolean;
  /** Whiten the advantages over the micro-batch's output positions (default true). */
  whiten?: boolean;
  /** Micro-batches trained on each rollout, K ≥ 1 (default 4). */
  ppoEpochs?: number;
}

/** Checks MiniLLM's options against the window length; throws naming the bad field. */
export function checkMiniLLM(options: MiniLLMOptions, contextLength: number): void {
  checkSampling(options, contextLength, "miniLLM");
  const { teacherMix = 0.2, discount = 0.95, ppoEpochs = 4 } = options;
  if (!(Number.isFinite(teacherMix) && teacherMix >= 0 && teacherMix <= 1)) {
    throw new Error(`miniLLM.teacherMix must be in [0, 1], got ${teacherMix}`);
  }
  if (!(Number.isFinite(discount) && discount >= 0 && discount <= 1)) {
    throw new Error(`miniLLM.discount must be in [0, 1], got ${discount}`);
  }
  if (!(Number.isInteger(ppoEpochs) && ppoEpochs >= 1)) {
    throw new Error(`miniLLM.ppoEpochs must be a positive integer, got ${ppoEpochs}`);
  }
  for (const key of ["lengthNorm", "whiten"] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== "boolean") {
      throw new Error(`miniLLM.${key} must be true or false, got ${value}`);
    }
  }
}

/**
 * MiniLLM's advantages from per-position rewards (see the module doc), on the device.
 *
 * @param rewards float32 `[B, T]`: r_t (values at masked positions are ignored).
 * @param mask float32 `[B, T]`: 1 at the output positions.
 * @returns float32 `[B, T]`, 0 at masked positions.
 *
 * @example Two output positions, γ = 1, no whitening: the mean reward of the positions ahead
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { miniLLMAdvantages } from "./mod.ts";
 *
 * const a = miniLLMAdvantages(tf.tensor2d([[9, 1, 3]]), tf.tensor2d([[0, 1, 1]]), {
 *   discount: 1,
 *   whiten: false,
 * });
 * assert.deepEqual(await a.array(), [[0, 2, 3]]); // (1 + 3) / 2, 3 / 1
 * ```
 */
export function miniLLMAdvantages(
  rewards: tf.Tensor2D,
  mask: tf.Tensor2D,
  options: Pick<MiniLLMOptions, "discount" | "lengthNorm" | "whiten"> = {},
): tf.Tensor2D {
  const { discount = 0.95, lengthNorm = true, whiten = true } = options;
  if (rewards.rank !== 2 || mask.shape.join() !== rewards.shape.join()) {
    throw new Error(
      `miniLLMAdvantages: rewards and mask must both be [batch, length], got [${rewards.shape}] ` +
        `and [${mask.shape}]`,
    );
  }
  const T = rewards.shape[1];
  return tf.tidy(() => {
    // ahead[t', t] = γ^(t' − t) for t' ≥ t: R = r·ahead sums the discounted rewards ahead.
    const weights = new Float32Array(T * T);
    const counts = new Float32Array(T * T);
    for (let from = 0; from < T; from++) {
      for (let to = 0; to <= from; to++) {
        weights[from * T + to] = discount ** (from - to);
        counts[from * T + to] = 1;
      }
    }
    const m = mask.toFloat();
    let a = tf.matMul(tf.mul(rewards, m), tf.tensor2d(weights, [T, T]));
    if (lengthNorm) {
      const ahead = tf.matMul(m, tf.tensor2d(counts, [T, T]));
      a = tf.div(a, tf.maximum(ahead, 1));
    }
    if (whiten) {
      const n = tf.sum(m);
      const mean = tf.div(tf.sum(tf.mul(a, m)), tf.maximum(n, 1));
      const centred = tf.mul(tf.sub(a, mean), m);
      const variance = tf.div(tf.sum(tf.square(centred)), tf.maximum(tf.sub(n, 1), 1));
      a = tf.mul(centred, tf.rsqrt(tf.add(variance, 1e-8)));
    }
    return tf.mul(a, m) as tf.Tensor2D;
  });
}

/** One micro-batch of MiniLLM: a rollout's windows, mask and what it fixed (all `[B, T]`). */
export interface MiniLLMBatch {
  /** int32: the rollout's first T tokens. */
  inputs: tf.Tensor2D;
  /** int32: their next tokens (the sampled y_t at output positions). */
  targets: tf.Tensor2D;
  /** float32: 1 at the output positions. */
  mask: tf.Tensor2D;
  /** float32: log q_θold(y_t). */
  oldLogProbs: tf.Tensor2D;
  /** float32: importance weights w_t. */
  weights: tf.Tensor2D;
  /** float32: advantages A_t. */
  advantages: tf.Tensor2D;
}

/** {@linkcode MiniLLMRollouts}' checkpoint state: the current rollout, if any. */
export interface MiniLLMState {
  /** The rollout's index g (it serves micro-batches g·K … g·K + K − 1); −1: none. */
  group: number;
  /** Rollouts drawn so far. */
  drawn: number;
  /** The rollout's tokens, `[B, T + 1]` row-major. */
  sequence: number[];
  /** log q_θold(y_t), `[B, T]` row-major. */
  oldLogProbs: number[];
  /** w_t, `[B, T]`. */
  weights: number[];
  /** A_t, `[B, T]`. */
  advantages: number[];
}

/**
 * MiniLLM's rollouts for one run: draws each rollout from the student and the teacher, keeps it
 * for its `ppoEpochs` micro-batches, and checkpoints it (see the module doc).
 */
export class MiniLLMRollouts {
  /** The options, with their defaults filled in. */
  readonly options: Required<MiniLLMOptions>;
  /** Rollouts drawn so far (over the whole run, resumes included). */
  drawn = 0;
  #group = -1;
  #rollout?: { sequence: tf.Tensor2D } & Omit<MiniLLMBatch, "inputs" | "targets" | "mask">;
  readonly #seed: number;
  readonly #shape: { batchSize: number; contextLength: number };

  /** Rollouts for a run seeded `seed` on micro-batches of `batchSize` windows of `contextLength`. */
  constructor(
    options: MiniLLMOptions,
    run: { seed: number; batchSize: number; contextLength: number },
  ) {
    checkMiniLLM(options, run.contextLength);
    this.options = {
      teacherMix: 0.2,
      discount: 0.95,
      lengthNorm: true,
      whiten: true,
      ppoEpochs: 4,
      ...options,
    };
    this.#seed = run.seed;
    this.#shape = { batchSize: run.batchSize, contextLength: run.contextLength };
  }

  /** The rollout that micro-batch `index` trains on. */
  groupOf(index: number): number {
    return Math.floor(index / this.options.ppoEpochs);
  }

  /**
   * Micro-batch `index`: its rollout (drawn now, from the prompts of `window`, if it is the first
   * micro-batch of a new one) with the output mask. Takes ownership of `window`'s tensors; the
   * caller owns what it returns.
   */
  batch(
    student: GPT,
    teacher: GPT,
    window: { inputs: tf.Tensor; targets: tf.Tensor },
    index: number,
  ): MiniLLMBatch {
    const [B, T] = window.inputs.shape;
    if (B !== this.#shape.batchSize || T !== this.#shape.contextLength) {
      throw new Error(
        `MiniLLMRollouts.batch: expected windows [${this.#shape.batchSize}, ` +
          `${this.#shape.contextLength}], got [${window.inputs.shape}]`,
      );
    }
    const group = this.groupOf(index);
    if (group !== this.#group || !this.#rollout) this.#draw(student, teacher, window.inputs, group);
    tf.dispose([window.inputs, window.targets]);
    const r = this.#rollout!;
    const { inputs, targets } = sequenceWindows(r.sequence.clone());
    return {
      inputs,
      targets,
      mask: outputMask(B, T, this.options.promptLength),
      oldLogProbs: r.oldLogProbs.clone(),
      weights: r.weights.clone(),
      advantages: r.advantages.clone(),
    };
  }

  #draw(student: GPT, teacher: GPT, inputs: tf.Tensor, group: number): void {
    const [B, T] = inputs.shape;
    const { promptLength: P, teacherMix: alpha } = this.options;
    const sequence = promptContinuation(student, inputs, {
      promptLength: P,
      temperature: 1,
      seed: hashSeed(this.#seed, "minillm-sample", group),
      mixture: { teacher, teacherMix: alpha },
    });
    const scored = tf.tidy(() => {
      const { inputs: x, targets: y } = sequenceWindows(sequence.clone());
      const logQ = tokenLogProbs(student.forward(x, { checkIds: false }).logits, y) as tf.Tensor2D;
      const logP = tokenLogProbs(teacher.forward(x, { checkIds: false }).logits, y) as tf.Tensor2D;
      const mask = outputMask(B, T, P);
      // w = q / ((1 − α)·q + α·p) = 1 / ((1 − α) + α·exp(log p − log q)), stable for any gap.
      const weights = tf.reciprocal(tf.add(1 - alpha, tf.mul(alpha, tf.exp(tf.sub(logP, logQ)))));
      const advantages = miniLLMAdvantages(tf.sub(logP, logQ), mask, this.options);
      return { oldLogProbs: logQ, weights: tf.mul(weights, mask), advantages };
    });
    this.#drop();
    this.#rollout = {
      sequence,
      oldLogProbs: scored.oldLogProbs,
      weights: scored.weights as tf.Tensor2D,
      advantages: scored.advantages,
    };
    this.#group = group;
    this.drawn++;
  }

  #drop(): void {
    if (this.#rollout) tf.dispose(Object.values(this.#rollout));
    this.#rollout = undefined;
  }

  /** The current rollout and the count (read back asynchronously), for checkpoints. */
  async state(): Promise<MiniLLMState> {
    const r = this.#rollout;
    const read = async (x?: tf.Tensor) => x ? Array.from(await x.data()) : [];
    return {
      group: r ? this.#group : -1,
      drawn: this.drawn,
      sequence: await read(r?.sequence),
      oldLogProbs: await read(r?.oldLogProbs),
      weights: await read(r?.weights),
      advantages: await read(r?.advantages),
    };
  }

  /** Restores {@link state}. */
  load(state: MiniLLMState): void {
    const { batchSize: B, contextLength: T } = this.#shape;
    this.#drop();
    this.drawn = state.drawn;
    this.#group = -1;
    if (state.group < 0) return;
    const sizes = [state.sequence.length, state.oldLogProbs.length, state.weights.length];
    if (
      sizes.join() !== [B * (T + 1), B * T, B * T].join() || state.advantages.length !== B * T
    ) {
      throw new Error(
        `MiniLLMRollouts.load: a rollout of ${B} windows of ${T} tokens needs ${B * (T + 1)} ` +
          `tokens and ${B * T} values of each kind, got ${sizes.join(", ")} and ` +
          `${state.advantages.length}`,
      );
    }
    this.#rollout = {
      sequence: tf.tensor2d(state.sequence, [B, T + 1], "int32"),
      oldLogProbs: tf.tensor2d(state.oldLogProbs, [B, T]),
      weights: tf.tensor2d(state.weights, [B, T]),
      advantages: tf.tensor2d(state.advantages, [B, T]),
    };
    this.#group = state.group;
  }

  /** Frees the current rollout. */
  dispose(): void {
    this.#drop();
  }
}
