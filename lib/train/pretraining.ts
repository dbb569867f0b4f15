/**
 * MiniLLM's pre-training loss L_PT (Gu, Dong, Wei & Huang, "MiniLLM: Knowledge Distillation of
 * Large Language Models", ICLR 2024, §2.3 and the official `pt_loss`): while a student is
 * distilled on a task, each micro-batch also takes a batch of pre-training text, on which the
 * student keeps learning the next token, to hold on to what it knew before. The official code mixes
 * the language-modelling loss with word-level distillation from the teacher on the same text:
 *
 *   L_PT = (1 − r)·CE(labels, q) + r·KL(p ‖ q),   added to the objective's loss with weight c
 *
 * (`kd-ratio` r = 0.5, `lm-coef` c = 1 in the official scripts). The official code takes the
 * teacher's term as the soft cross-entropy −Σ p·log q, which has the same gradient as KL(p ‖ q)
 * and exceeds it by the teacher's entropy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkTokenIds, type TokenBatcher } from "../data/batches.ts";
import { hashSeed } from "../data/rng.ts";
import { forwardKL } from "../losses/forward_kl.ts";
import { crossEntropyRows } from "../losses/labels.ts";
import type { GPT } from "../models/gpt.ts";

/** Options of the pre-training loss; see the module doc. */
export interface PretrainingOptions {
  /** Windows of pre-training text, drawn by micro-batch index. */
  batcher: TokenBatcher;
  /** Weight c of L_PT in the total loss (default 1, MiniLLM's `lm-coef`). */
  coef?: number;
  /** Share r of the teacher's term in L_PT, in [0, 1] (default 0.5, MiniLLM's `kd-ratio`). */
  kdRatio?: number;
}

/** Checks the pre-training options; throws naming the bad field. */
export function checkPretraining(options: PretrainingOptions, hasTeacher: boolean): void {
  const { coef = 1, kdRatio = 0.5 } = options;
  if (!(Number.isFinite(coef) && coef > 0)) {
    throw new Error(`pretraining.coef must be a finite number > 0, got ${coef}`);
  }
  if (!(kdRatio >= 0 && kdRatio <= 1)) {
    throw new Error(`pretraining.kdRatio must be in [0, 1], got ${kdRatio}`);
  }
  if (kdRatio > 0 && !hasTeacher) {
    throw new Error(`pretraining.kdRatio ${kdRatio} > 0 needs a teacher (or kdRatio 0)`);
  }
}

/**
 * L_PT of one batch of pre-training text: the student's logits on it (`studentLogits`,
 * `[B, T, V]`), its next tokens (`targets`, int32 `[B, T]`) and, when `kdRatio` > 0, the
 * teacher's logits (`teacherLogits`); a scalar on the gradient tape.
 *
 * @example A student that copies its teacher pays only the cross-entropy share
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { pretrainingLoss } from "./pretraining.ts";
 * const logits = tf.tensor3d([[[0, Math.log(3)]]]); // p = (1/4, 3/4)
 * const targets = tf.tensor2d([[1]], undefined, "int32");
 * const loss = pretrainingLoss(logits, targets, logits, 0.5);
 * // (1 − r)·(−log 3/4) + r·KL(p ‖ p) = 0.5 · 0.287682
 * assert.ok(Math.abs((await loss.data())[0] - 0.5 * Math.log(4 / 3)) < 1e-6);
 * ```
 */
export function pretrainingLoss(
  studentLogits: tf.Tensor,
  targets: tf.Tensor,
  teacherLogits: tf.Tensor | undefined,
  kdRatio = 0.5,
): tf.Scalar {
  return tf.tidy(() => {
    const V = studentLogits.shape.at(-1)!;
    const rows = studentLogits.reshape([-1, V]) as tf.Tensor2D;
    const ce = tf.mean(crossEntropyRows(rows, targets.reshape([-1]) as tf.Tensor1D));
    if (kdRatio === 0) return ce as tf.Scalar;
    if (!teacherLogits) throw new Error("pretrainingLoss: kdRatio > 0 needs teacherLogits");
    const kd = forwardKL(teacherLogits, studentLogits);
    return tf.add(tf.mul(1 - kdRatio, ce), tf.mul(kdRatio, kd)) as tf.Scalar;
  });
}

/** What a micro-batch carries for L_PT: pre-training windows and the teacher's logits on them. */
export interface PretrainingBatch {
  /** int32 `[B, T]` windows of pre-training text. */
  ptInputs: tf.Tensor;
  /** int32 `[B, T]`: their next tokens. */
  ptTargets: tf.Tensor;
  /** The frozen teacher's logits on `ptInputs` (when `kdRatio` > 0). */
  ptTeacherLogits?: tf.Tensor;
}

/**
 * L_PT as a part of a language-model task (`languageModelTask`'s `pretraining` option): the
 * pre-training windows of micro-batch k (drawn by k, so a resumed run draws the same), and
 * `coef`·L_PT of the student on them, with its own dropout draw.
 */
export class PretrainingTerm {
  readonly #options: PretrainingOptions;
  readonly #student: GPT;
  readonly #teacher?: GPT;
  readonly #seed: number;

  /** Checks the options against the student (vocabulary, context) and the teacher's presence. */
  constructor(options: PretrainingOptions, student: GPT, teacher: GPT | undefined, seed: number) {
    checkPretraining(options, teacher !== undefined);
    const { contextLength } = options.batcher.options;
    const readers = (options.kdRatio ?? 0.5) > 0 ? { student, teacher: teacher! } : { student };
    for (const [who, model] of Object.entries(readers)) {
      if (contextLength > model.config.contextLength) {
        throw new Error(
          `pretraining: batcher contextLength ${contextLength} exceeds the ${who}'s ` +
            `${model.config.contextLength}`,
        );
      }
    }
    checkTokenIds(options.batcher.tokens, student.config.vocabSize, "pretraining");
    this.#options = options;
    this.#student = student;
    this.#teacher = teacher;
    this.#seed = seed;
  }

  /** The pre-training part of micro-batch `index`. */
  batch(index: number): PretrainingBatch {
    const { inputs, targets } = this.#options.batcher.batch(index);
    if ((this.#options.kdRatio ?? 0.5) === 0) return { ptInputs: inputs, ptTargets: targets };
    const ptTeacherLogits = tf.tidy(() =>
      this.#teacher!.forward(inputs, { checkIds: false }).logits
    );
    return { ptInputs: inputs, ptTargets: targets, ptTeacherLogits };
  }

  /** `coef`·L_PT of micro-batch `index` (on the gradient tape). */
  loss(batch: PretrainingBatch, index: number): tf.Scalar {
    const logits = this.#student.forward(batch.ptInputs, {
      checkIds: false,
      dropoutSeed: hashSeed(this.#seed, "dropout-pretraining", index),
    }).logits;
    const { coef = 1, kdRatio = 0.5 } = this.#options;
    const pt = pretrainingLoss(logits, batch.ptTargets, batch.ptTeacherLogits, kdRatio);
    return coef === 1 ? pt : tf.mul(coef, pt) as tf.Scalar;
  }
}
