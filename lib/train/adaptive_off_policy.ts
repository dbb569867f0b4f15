/**
 * DistiLLM's adaptive off-policy student-generated outputs (Ko, Kim, Chen & Yun, "DistiLLM:
 * Towards Streamlined Distillation for Large Language Models", ICML 2024, §3.2 and Algorithm 1).
 *
 * On-policy distillation (GKD) samples from the student at a fixed rate λ. DistiLLM samples only
 * as much as the student needs and reuses what it sampled:
 *
 * - A threshold φ ∈ [0, 1] starts at 0. At every validation, if the validation loss is at least
 *   ε above a reference loss, φ rises by 0.1 (capped at 1) and that loss becomes the reference. The
 *   first validation, before training, sets the reference. So φ grows only while the student gets
 *   worse on held-out text (it over-fits the data), never while it improves.
 * - Each micro-batch draws r ~ U(0, 1). With a sampling threshold φ_s = φ·(1 − k/K) (the
 *   "decreasing" replay ratio; k of K micro-batches done), the batch is
 *   - **generated** if r < φ_s, or if r < φ and the replay buffer is not yet full: the student
 *     continues the data's prompts with its current weights, and the sequences enter the buffer;
 *   - **replayed** if otherwise r < φ: B sequences drawn without replacement from the buffer,
 *     sampled earlier by older students (off-policy);
 *   - the **data**'s own outputs otherwise.
 * - The buffer is FIFO with a capacity of 1000 sequences: new ones push the oldest out.
 *
 * As in GKD, a window's first `promptLength` tokens are the prompt and the loss counts the output
 * positions only, whatever produced them. Defaults follow the official training scripts
 * (`--init-threshold 0 --loss-eps 0.1 --capacity 1000`, replay ratio "decreasing"); the TAID
 * paper's re-implementation keeps the threshold, capacity and ratio but sets ε = 0.
 *
 * The draw, the sampling and the replayed rows of micro-batch k are functions of (seed, k), and
 * φ, the reference and the buffer are in {@link AdaptiveOffPolicy.state}, so a run resumed from a
 * checkpoint continues exactly. The buffer stays on the device (no readback while training).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hashSeed, permutation, Rng } from "../data/rng.ts";
import type { GPT } from "../models/gpt.ts";
import { checkSampling, outputMask, promptContinuation, sequenceWindows } from "./on_policy.ts";

/** How the sampling threshold φ_s follows training progress (DistiLLM's `--replay-ratio`). */
export type ReplayRatio = "decreasing" | "constant" | "increasing";

/** DistiLLM's data options; see the module doc. */
export interface AdaptiveOffPolicyOptions {
  /** Tokens of each window kept as the prompt, in [1, contextLength]. */
  promptLength: number;
  /** Sampling temperature of the student's outputs (default 1; 0 is greedy). */
  temperature?: number;
  /** ε: how far above the reference the validation loss must be to raise φ (default 0.1). */
  lossEpsilon?: number;
  /** Sequences the replay buffer holds (default 1000). */
  capacity?: number;
  /** φ_s as a function of progress (default "decreasing": φ·(1 − k/K)). */
  replayRatio?: ReplayRatio;
  /** φ before any validation (default 0). */
  initialThreshold?: number;
}

/** Where a micro-batch's outputs come from. */
export type OffPolicySource = "data" | "generated" | "replayed";

/** Checks the options against the window length and batch size; throws naming the bad field. */
export function checkAdaptiveOffPolicy(
  options: AdaptiveOffPolicyOptions,
  contextLength: number,
  batchSize: number,
): void {
  const { lossEpsilon = 0.1, capacity = 1000 } = options;
  const { replayRatio = "decreasing", initialThreshold = 0 } = options;
  const where = "adaptiveOffPolicy";
  checkSampling(options, contextLength, where);
  if (!(Number.isFinite(lossEpsilon) && lossEpsilon >= 0)) {
    throw new Error(`${where}.lossEpsilon must be a finite number ≥ 0, got ${lossEpsilon}`);
  }
  if (!(Number.isInteger(capacity) && capacity >= batchSize)) {
    throw new Error(
      `${where}.capacity must be an integer ≥ the batch size (${batchSize}), got ${capacity}`,
    );
  }
  if (!["decreasing", "constant", "increasing"].includes(replayRatio)) {
    throw new Error(
      `${where}.replayRatio must be "decreasing", "constant" or "increasing", got ${replayRatio}`,
    );
  }
  if (!(initialThreshold >= 0 && initialThreshold <= 1)) {
    throw new Error(`${where}.initialThreshold must be in [0, 1], got ${initialThreshold}`);
  }
}

/**
 * φ_s, the probability of generating fresh outputs once the buffer is full, at `progress` = k/K
 * ∈ [0, 1] of training: φ·(1 − k/K) ("decreasing"), φ/2 ("constant") or φ·k/K ("increasing").
 */
export function samplingThreshold(
  threshold: number,
  progress: number,
  replayRatio: ReplayRatio,
): number {
  if (replayRatio === "constant") return threshold * 0.5;
  if (replayRatio === "increasing") return threshold * progress;
  return threshold * (1 - progress);
}

/** The source of a micro-batch for a uniform draw `r` (DistiLLM's rule; see the module doc). */
export function offPolicySource(
  r: number,
  state: { threshold: number; progress: number; buffered: number; capacity: number },
  replayRatio: ReplayRatio = "decreasing",
): OffPolicySource {
  const { threshold, progress, buffered, capacity } = state;
  const sampling = samplingThreshold(threshold, progress, replayRatio);
  if (r < sampling || (r < threshold && buffered < capacity)) return "generated";
  if (r < threshold) return "replayed";
  return "data";
}

/**
 * DistiLLM's threshold update after a validation loss: the new φ and reference. The first loss
 * (reference undefined) only sets the reference; a later one at least ε above it raises φ by 0.1
 * (at most 1) and becomes the reference; any other leaves both unchanged.
 */
export function updateThreshold(
  state: { threshold: number; reference?: number },
  loss: number,
  lossEpsilon: number,
): { threshold: number; reference: number } {
  const { threshold, reference } = state;
  if (reference === undefined) return { threshold, reference: loss };
  if (loss >= reference + lossEpsilon) {
    return { threshold: Math.min(1, threshold + 0.1), reference: loss };
  }
  return { threshold, reference };
}

/** What {@link AdaptiveOffPolicy.state} returns: everything a resumed run needs, as JSON. */
export interface AdaptiveOffPolicyState {
  /** φ. */
  threshold: number;
  /** The reference validation loss (null before the first validation). */
  reference: number | null;
  /** Micro-batches that generated, and that replayed, so far. */
  generated: number;
  /** See {@link generated}. */
  replayed: number;
  /** The buffer's sequences, oldest first, row-major [rows, contextLength + 1]. */
  buffer: number[];
}

/**
 * The state of DistiLLM's adaptive off-policy sampling for one run: φ, the reference loss and the
 * replay buffer. {@link windows} gives the outputs of a micro-batch, {@link observeValidation}
 * takes each validation loss. See the module doc.
 */
export class AdaptiveOffPolicy {
  /** The options, with their defaults filled in. */
  readonly options: Required<AdaptiveOffPolicyOptions>;
  /** φ: the probability that a micro-batch uses student-generated outputs. */
  threshold: number;
  /** The validation loss φ's rule compares with (undefined before the first validation). */
  reference?: number;
  /** Micro-batches that generated fresh outputs so far. */
  generated = 0;
  /** Micro-batches that replayed buffered outputs so far. */
  replayed = 0;
  #buffer?: tf.Tensor2D;
  readonly #seed: number;
  readonly #totalBatches: number;
  readonly #shape: { batchSize: number; contextLength: number };

  /**
   * Sampling for a run of `totalBatches` micro-batches of `batchSize` windows of `contextLength`
   * tokens, seeded by `seed`.
   */
  constructor(
    options: AdaptiveOffPolicyOptions,
    run: { seed: number; totalBatches: number; batchSize: number; contextLength: number },
  ) {
    checkAdaptiveOffPolicy(options, run.contextLength, run.batchSize);
    if (!(Number.isInteger(run.totalBatches) && run.totalBatches >= 1)) {
      throw new Error(
        `AdaptiveOffPolicy: totalBatches must be a positive integer, got ${run.totalBatches}`,
      );
    }
    this.options = {
      temperature: 1,
      lossEpsilon: 0.1,
      capacity: 1000,
      replayRatio: "decreasing",
      initialThreshold: 0,
      ...options,
    };
    this.threshold = this.options.initialThreshold;
    this.#seed = run.seed;
    this.#totalBatches = run.totalBatches;
    this.#shape = { batchSize: run.batchSize, contextLength: run.contextLength };
  }

  /** Sequences in the replay buffer. */
  get buffered(): number {
    return this.#buffer?.shape[0] ?? 0;
  }

  /** Takes a validation loss; returns φ after DistiLLM's update. Throws on a non-finite loss. */
  observeValidation(loss: number): number {
    if (!Number.isFinite(loss)) {
      throw new Error(`AdaptiveOffPolicy.observeValidation: loss must be finite, got ${loss}`);
    }
    const next = updateThreshold(this, loss, this.options.lossEpsilon);
    this.threshold = next.threshold;
    this.reference = next.reference;
    return this.threshold;
  }

  /** Where micro-batch `index`'s outputs come from, given the current φ and buffer. */
  source(index: number): OffPolicySource {
    const r = new Rng(hashSeed(this.#seed, "distillm", index)).next();
    return offPolicySource(r, {
      threshold: this.threshold,
      progress: Math.min(1, index / this.#totalBatches),
      buffered: this.buffered,
      capacity: this.options.capacity,
    }, this.options.replayRatio);
  }

  /**
   * Micro-batch `index` from data windows (`inputs`, `targets`, int32 `[B, T]`, which it takes
   * ownership of): the data's outputs, fresh student outputs (which enter the buffer) or
   * buffered ones, with the output mask.
   */
  windows(
    student: GPT,
    window: { inputs: tf.Tensor; targets: tf.Tensor },
    index: number,
  ): { inputs: tf.Tensor2D; targets: tf.Tensor2D; mask: tf.Tensor2D; source: OffPolicySource } {
    const [B, T] = window.inputs.shape;
    if (B !== this.#shape.batchSize || T !== this.#shape.contextLength) {
      throw new Error(
        `AdaptiveOffPolicy.windows: expected windows [${this.#shape.batchSize}, ` +
          `${this.#shape.contextLength}], got [${window.inputs.shape}]`,
      );
    }
    const mask = outputMask(B, T, this.options.promptLength);
    const source = this.source(index);
    if (source === "data") {
      return {
        inputs: window.inputs as tf.Tensor2D,
        targets: window.targets as tf.Tensor2D,
        mask,
        source,
      };
    }
    let sequence: tf.Tensor2D;
    if (source === "generated") {
      sequence = promptContinuation(student, window.inputs, {
        promptLength: this.options.promptLength,
        temperature: this.options.temperature,
        seed: hashSeed(this.#seed, "distillm-sample", index),
      });
      this.#push(sequence);
      this.generated++;
    } else {
      sequence = this.#draw(B, index);
      this.replayed++;
    }
    tf.dispose([window.inputs, window.targets]);
    return { ...sequenceWindows(sequence), mask, source };
  }

  /** Appends sequences [B, T + 1] to the buffer, dropping the oldest beyond its capacity. */
  #push(sequence: tf.Tensor2D): void {
    const old = this.#buffer;
    this.#buffer = tf.tidy(() => {
      const all = old ? tf.concat([old, sequence]) : sequence.clone();
      const extra = all.shape[0] - this.options.capacity;
      return (extra > 0 ? tf.slice(all, [extra, 0], [-1, -1]) : all) as tf.Tensor2D;
    });
    old?.dispose();
  }

  /** B distinct buffered sequences, drawn by (seed, index). */
  #draw(count: number, index: number): tf.Tensor2D {
    const order = permutation(this.buffered, hashSeed(this.#seed, "distillm-replay", index));
    return tf.tidy(() => tf.gather(this.#buffer!, tf.tensor1d(order.subarray(0, count), "int32")));
  }

  /** φ, the reference, the counters and the buffer (read back asynchronously), for checkpoints. */
  async state(): Promise<AdaptiveOffPolicyState> {
    return {
      threshold: this.threshold,
      reference: this.reference ?? null,
      generated: this.generated,
      replayed: this.replayed,
      buffer: this.#buffer ? Array.from(await this.#buffer.data()) : [],
    };
  }

  /** Restores {@link state}. */
  load(state: AdaptiveOffPolicyState): void {
    const width = this.#shape.contextLength + 1;
    if (state.buffer.length % width !== 0) {
      throw new Error(
        `AdaptiveOffPolicy.load: the buffer holds ${state.buffer.length} tokens, not a multiple ` +
          `of contextLength + 1 = ${width}`,
      );
    }
    this.threshold = state.threshold;
    this.reference = state.reference ?? undefined;
    this.generated = state.generated;
    this.replayed = state.replayed;
    this.#buffer?.dispose();
    const rows = state.buffer.length / width;
    this.#buffer = rows > 0 ? tf.tensor2d(state.buffer, [rows, width], "int32") : undefined;
  }

  /** Frees the buffer. */
  dispose(): void {
    this.#buffer?.dispose();
    this.#buffer = undefined;
  }
}
