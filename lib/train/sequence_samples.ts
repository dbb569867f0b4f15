/**
 * Training sequences sampled from the models, for sequence-level distillation. Each data window
 * keeps its first `promptLength` tokens as the prompt; the teacher, the student, or each of them
 * continues it, and the micro-batch holds one row per window for each side, in the order of
 * `sides` (so with both sides, 2·B rows: f-distill draws a teacher and a student sequence for
 * every prompt). The loss counts output positions only, and `studentRows` tells the objective
 * which rows the student wrote.
 *
 * - SeqKD (Kim & Rush, "Sequence-Level Knowledge Distillation", EMNLP 2016): the student is
 *   fine-tuned with cross-entropy on the teacher's outputs (objective `sft`, sides `teacher`).
 * - f-distill (Wen, Li, Du & Mou, ACL 2023): KL on teacher samples, reverse KL on student
 *   samples, JS and TVD on both (objective `fdistill`, whose `needsSamples` names the sides).
 *
 * Both papers generate the teacher's outputs once, offline, for a fixed set of prompts. Here the
 * windows are drawn at random offsets of the text, so prompts seldom repeat, and the teacher's
 * continuation is drawn as the micro-batch is made, seeded by (seed, micro-batch index): the same
 * distribution as an offline set of one sample per prompt, with its generation counted in the
 * run's cost. A run resumed from a checkpoint draws what an uninterrupted run draws.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hashSeed } from "../data/rng.ts";
import type { SampleSide } from "../losses/mod.ts";
import type { GPT } from "../models/gpt.ts";
import { checkSampling, outputMask, promptContinuation, sequenceWindows } from "./on_policy.ts";

/** Options of sampled training sequences; see the module doc. */
export interface SequenceSampleOptions {
  /** Tokens of each window kept as the prompt, in [1, contextLength]. */
  promptLength: number;
  /** Whose continuations of each prompt a micro-batch holds, in row order (non-empty, distinct). */
  sides: SampleSide[];
  /** Sampling temperature of both models (default 1; 0 is greedy, SeqKD's beam search of width 1). */
  temperature?: number;
}

/** Checks sampled-sequence options against the window length; throws naming the bad field. */
export function checkSequenceSamples(options: SequenceSampleOptions, contextLength: number): void {
  const { sides } = options;
  if (
    !Array.isArray(sides) || sides.length === 0 || new Set(sides).size !== sides.length ||
    !sides.every((s) => s === "teacher" || s === "student")
  ) {
    throw new Error(
      `sequenceSamples.sides must list "teacher" and/or "student" once each, got ` +
        `${JSON.stringify(sides)}`,
    );
  }
  checkSampling(options, contextLength, "sequenceSamples");
}

/** One micro-batch of sampled sequences. */
export interface SampledWindows {
  /** int32 `[R, T]`, R = B per side. */
  inputs: tf.Tensor2D;
  /** int32 `[R, T]`: `inputs` shifted by one. */
  targets: tf.Tensor2D;
  /** float32 `[R, T]`: 1 at the positions whose next token is part of the output. */
  mask: tf.Tensor2D;
  /** float32 `[R]`: 1 on the rows the student continued, 0 on the teacher's. */
  studentRows: tf.Tensor1D;
}

/**
 * Micro-batch `index` of sampled sequences from data windows (`window.inputs`, int32 `[B, T]`;
 * the window is disposed): each side's continuation of the windows' prompts, stacked in the
 * order of `options.sides`.
 */
export function sampledWindows(
  models: { student: GPT; teacher: GPT },
  window: { inputs: tf.Tensor; targets: tf.Tensor },
  options: SequenceSampleOptions,
  seed: number,
  index: number,
): SampledWindows {
  const [B, T] = window.inputs.shape;
  checkSequenceSamples(options, T);
  try {
    const sequences = options.sides.map((side) =>
      promptContinuation(models[side], window.inputs, {
        promptLength: options.promptLength,
        temperature: options.temperature ?? 1,
        seed: hashSeed(seed, `${side}-sample`, index),
      })
    );
    const sequence = sequences.length === 1 ? sequences[0] : tf.concat(sequences);
    if (sequences.length > 1) tf.dispose(sequences);
    return {
      ...sequenceWindows(sequence as tf.Tensor2D),
      mask: outputMask(B * options.sides.length, T, options.promptLength),
      studentRows: tf.tidy(() =>
        tf.concat(options.sides.map((side) => tf.fill([B], side === "student" ? 1 : 0)))
      ) as tf.Tensor1D,
    };
  } finally {
    tf.dispose([window.inputs, window.targets]);
  }
}
