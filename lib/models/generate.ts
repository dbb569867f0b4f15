/**
 * Autoregressive generation from a GPT, on the device: each new token is drawn from
 * softmax(logits / temperature) of the last position by inverting the cumulative distribution at
 * a uniform number drawn on the host from the seed, so nothing is read back while generating and
 * the same model, prompts and seed give the same tokens (an on-policy training run resumes
 * exactly). Temperature 0 takes the most probable token (greedy decoding). {@linkcode generateMixed}
 * draws from a mixture of a student's and a teacher's distributions (MiniLLM's teacher-mixed
 * sampling), both models decoding the same sequence.
 *
 * The prompts run through the model once; each later step runs one position against the keys and
 * values of the positions before it (a key/value cache, {@linkcode KVCache}), with the output
 * projection on that position only. Past the context length the model's input is the last
 * `contextLength` tokens (a sliding window); the learned positions then shift at every step, so
 * those steps run the whole window again, without a cache.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../data/rng.ts";
import type { GPT, KVCache } from "./gpt.ts";

/** Options of {@linkcode generate}. */
export interface GenerateOptions {
  /** Tokens appended to each prompt (a non-negative integer). */
  newTokens: number;
  /** Softmax temperature of the draws (default 1); 0 takes the most probable token. */
  temperature?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
}

/**
 * Index i of each row such that cdf[i−1] ≤ u·cdf[V−1] < cdf[i], where cdf is the cumulative sum
 * of softmax(logits): a draw from the row's categorical distribution for a uniform u ∈ [0, 1).
 * Tokens of zero probability are never drawn (float32 sums: probabilities resolved to ~1e-7).
 *
 * @param logits `[B, V]` unnormalised log-probabilities.
 * @param uniforms `[B]` numbers in [0, 1), one per row.
 * @returns int32 `[B]` token ids.
 *
 * @example Two rows, the second with all its mass past its first token
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { sampleCategorical } from "./generate.ts";
 *
 * // Row 0: p = (1/4, 1/4, 1/2), so u = 0.6 falls in the third token's interval [1/2, 1).
 * // Row 1: p = (0, 1, 0) up to exp(-100): every u draws token 1.
 * const logits = tf.tensor2d([[0, 0, Math.log(2)], [-100, 0, -100]]);
 * const ids = sampleCategorical(logits, tf.tensor1d([0.6, 0.999]));
 * assert.deepEqual(await ids.array(), [2, 1]);
 * ```
 */
export function sampleCategorical(logits: tf.Tensor2D, uniforms: tf.Tensor): tf.Tensor1D {
  if (logits.rank !== 2) {
    throw new Error(`sampleCategorical: logits must be [batch, vocab], got [${logits.shape}]`);
  }
  const [B, V] = logits.shape;
  if (uniforms.size !== B) {
    throw new Error(
      `sampleCategorical: uniforms must hold one number per row (${B}), got [${uniforms.shape}]`,
    );
  }
  return tf.tidy(() => {
    const cdf = tf.cumsum(tf.softmax(logits), 1);
    const threshold = tf.mul(uniforms.reshape([B, 1]), tf.slice(cdf, [0, V - 1], [B, 1]));
    // The number of cdf entries ≤ threshold, by binary search (cdf never decreases: it sums
    // non-negative numbers). On wasm this is 0.05 ms for [16, 4096], against 6.7 ms for a
    // broadcast comparison and a sum.
    const below = tf.upperBound(cdf, threshold).reshape([B]);
    return tf.minimum(below, tf.scalar(V - 1, "int32")) as tf.Tensor1D;
  });
}

/**
 * The uniform numbers {@linkcode generate} draws its tokens at: `count` numbers in [0, 1 − 2⁻²⁴]
 * from `seed` (exact in float32, so u·total stays below total), B per step in step order.
 */
export function uniformDraws(seed: number, count: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rng.nextUint32() >>> 8) / 16777216;
  return out;
}

/** Checks what every generation takes; throws naming the function and the argument. */
function checkGeneration(fn: string, prompts: tf.Tensor, options: GenerateOptions): void {
  const { newTokens, temperature = 1, seed = 0 } = options;
  if (prompts.dtype !== "int32" || prompts.rank !== 2 || prompts.size === 0) {
    throw new Error(
      `${fn}: prompts must be non-empty int32 [batch, length], got ${prompts.dtype} ` +
        `[${prompts.shape}]`,
    );
  }
  if (!(Number.isInteger(newTokens) && newTokens >= 0)) {
    throw new Error(`${fn}: newTokens must be a non-negative integer, got ${newTokens}`);
  }
  if (!(Number.isFinite(temperature) && temperature >= 0)) {
    throw new Error(`${fn}: temperature must be a finite number ≥ 0, got ${temperature}`);
  }
  if (!Number.isFinite(seed)) throw new Error(`${fn}: seed must be a finite number`);
}

/**
 * One model's next-token logits for a sequence that grows by one token a step, with the model's
 * key/value cache between steps (see the module doc). {@linkcode Decoder.next} runs inside the
 * caller's `tf.tidy` and keeps only the new cache; {@linkcode Decoder.dispose} frees it.
 */
class Decoder {
  #cache?: KVCache;
  readonly #projection?: tf.Tensor2D;

  constructor(readonly model: GPT, newTokens: number) {
    // The weights do not change while generating: transpose the tied embedding once.
    this.#projection = model.config.tieWeights && newTokens > 1
      ? tf.transpose(model.params.wte) as tf.Tensor2D
      : undefined;
  }

  /** Logits `[B, V]` of the token after `sequence` (int32 `[B, length]`), step `k` of `steps`. */
  next(sequence: tf.Tensor2D, k: number, steps: number): tf.Tensor2D {
    const [B, length] = sequence.shape;
    const { contextLength, vocabSize } = this.model.config;
    // With a cache, only the token drawn last is new; past the context the window slides.
    const cached = this.#cache !== undefined && length <= contextLength;
    const start = cached ? length - 1 : Math.max(0, length - contextLength);
    const input = start > 0 ? tf.slice(sequence, [0, start], [B, length - start]) : sequence;
    // The prompts' ids are checked once (a deferred read); generated ids are in range.
    const out = this.model.forward(input, {
      checkIds: k === 0,
      lastPosition: true,
      cache: cached ? this.#cache : undefined,
      returnCache: length < contextLength && k < steps - 1,
      outputProjection: this.#projection,
    });
    this.#dropCache();
    if (out.cache) {
      this.#cache = { keys: out.cache.keys.map(tf.keep), values: out.cache.values.map(tf.keep) };
    }
    return out.logits.reshape([B, vocabSize]) as tf.Tensor2D;
  }

  #dropCache(): void {
    if (this.#cache) tf.dispose([...this.#cache.keys, ...this.#cache.values]);
    this.#cache = undefined;
  }

  /** Frees the cache and the transposed embedding. */
  dispose(): void {
    this.#dropCache();
    this.#projection?.dispose();
  }
}

/**
 * Appends `steps` tokens to `prompts`, each chosen by `choose` from the decoders' logits of the
 * step and the step's uniform numbers (`[B]`; undefined without `draws`).
 */
function decode(
  prompts: tf.Tensor,
  models: GPT[],
  steps: number,
  draws: { seed: number } | undefined,
  choose: (logits: tf.Tensor2D[], uniforms?: tf.Tensor1D) => tf.Tensor,
): tf.Tensor2D {
  const [B] = prompts.shape;
  const uniforms = draws ? uniformDraws(draws.seed, steps * B) : undefined;
  const decoders = models.map((model) => new Decoder(model, steps));
  let sequence = tf.clone(prompts) as tf.Tensor2D;
  try {
    for (let k = 0; k < steps; k++) {
      const next = tf.tidy(() => {
        const logits = decoders.map((d) => d.next(sequence, k, steps));
        const u = uniforms ? tf.tensor1d(uniforms.subarray(k * B, (k + 1) * B)) : undefined;
        const token = choose(logits, u);
        return tf.concat([sequence, token.reshape([B, 1])], 1) as tf.Tensor2D;
      });
      sequence.dispose();
      sequence = next;
    }
  } catch (error) {
    sequence.dispose();
    throw error;
  } finally {
    decoders.forEach((d) => d.dispose());
  }
  return sequence;
}

/**
 * Appends `newTokens` tokens to each prompt, drawn from the model (see the module doc).
 *
 * @param model The GPT sampled from (its variables are only read).
 * @param prompts int32 `[B, P]` token ids, P ≥ 1.
 * @returns int32 `[B, P + newTokens]`: the prompts followed by the generated tokens.
 *
 * @example Greedy decoding is the argmax of each step; sampling is reproducible by seed
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { createGPT, generate } from "./mod.ts";
 *
 * const gpt = createGPT({ vocabSize: 32, contextLength: 8, nLayer: 1, nHead: 2, dModel: 16, seed: 3 });
 * const prompt = tf.tensor2d([[1, 2]], undefined, "int32");
 * const greedy = await generate(gpt, prompt, { newTokens: 3, temperature: 0 }).array();
 * const first = await (gpt.logits(prompt).argMax(-1) as tf.Tensor2D).array();
 * assert.equal(greedy[0][2], first[0][1]);
 *
 * const a = await generate(gpt, prompt, { newTokens: 6, seed: 7 }).array();
 * const b = await generate(gpt, prompt, { newTokens: 6, seed: 7 }).array();
 * assert.deepEqual(a, b);
 * assert.deepEqual(a[0].slice(0, 2), [1, 2]);
 * ```
 */
export function generate(model: GPT, prompts: tf.Tensor, options: GenerateOptions): tf.Tensor2D {
  checkGeneration("generate", prompts, options);
  const { newTokens, temperature = 1, seed = 0 } = options;
  if (temperature === 0) {
    return decode(prompts, [model], newTokens, undefined, ([logits]) => tf.argMax(logits, 1));
  }
  return decode(
    prompts,
    [model],
    newTokens,
    { seed },
    ([logits], u) => sampleCategorical(tf.div(logits, temperature), u!),
  );
}

/** Options of {@linkcode generateMixed}. */
export interface MixedGenerateOptions extends GenerateOptions {
  /** α ∈ [0, 1]: the teacher's share of the mixture (MiniLLM's default is 0.2). */
  teacherMix: number;
}

/**
 * Appends `newTokens` tokens to each prompt, each drawn from the mixture
 * p̃ = (1 − α)·softmax(ℓ_S/τ) + α·softmax(ℓ_T/τ) of a student's and a teacher's next-token
 * distributions: MiniLLM's teacher-mixed sampling (Gu et al., "MiniLLM: Knowledge Distillation of
 * Large Language Models", ICLR 2024, §2.2 "Teacher-Mixed Sampling", α = 0.2), which keeps the
 * student from being rewarded for degenerate sequences early in training. Both models decode the
 * same sequence with their own key/value caches. α = 0 draws exactly what {@linkcode generate}
 * draws from the student with the same seed, and α = 1 what it draws from the teacher; only the
 * models that the mixture weighs run. The temperature must be > 0.
 *
 * @param student The policy being trained (only read).
 * @param teacher The frozen teacher (same vocabulary).
 * @param prompts int32 `[B, P]` token ids, P ≥ 1.
 * @returns int32 `[B, P + newTokens]`: the prompts followed by the drawn tokens.
 *
 * @example α = 0 is the student's own sampling
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { createGPT, generate, generateMixed } from "./mod.ts";
 *
 * const size = { vocabSize: 32, contextLength: 8, nLayer: 1, nHead: 2, dModel: 16 };
 * const student = createGPT({ ...size, seed: 1 });
 * const teacher = createGPT({ ...size, seed: 2 });
 * const prompt = tf.tensor2d([[1, 2]], undefined, "int32");
 * const options = { newTokens: 5, seed: 4 };
 * assert.deepEqual(
 *   await generateMixed(student, teacher, prompt, { ...options, teacherMix: 0 }).array(),
 *   await generate(student, prompt, options).array(),
 * );
 * ```
 */
export function generateMixed(
  student: GPT,
  teacher: GPT,
  prompts: tf.Tensor,
  options: MixedGenerateOptions,
): tf.Tensor2D {
  checkGeneration("generateMixed", prompts, options);
  const { newTokens, temperature = 1, seed = 0, teacherMix: alpha } = options;
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1)) {
    throw new Error(`generateMixed: teacherMix must be in [0, 1], got ${alpha}`);
  }
  if (!(temperature > 0)) {
    throw new Error(`generateMixed: temperature must be > 0 (a mixture is sampled), got 0`);
  }
  if (teacher.config.vocabSize !== student.config.vocabSize) {
    throw new Error(
      `generateMixed: vocabulary sizes differ (student ${student.config.vocabSize}, teacher ` +
        `${teacher.config.vocabSize})`,
    );
  }
  if (alpha === 0 || alpha === 1) {
    return generate(alpha === 0 ? student : teacher, prompts, options);
  }
  return decode(prompts, [student, teacher], newTokens, { seed }, ([s, t], u) => {
    const mixture = tf.add(
      tf.mul(1 - alpha, tf.softmax(tf.div(s, temperature))),
      tf.mul(alpha, tf.softmax(tf.div(t, temperature))),
    );
    // softmax(log p̃) = p̃: the draw inverts the mixture's cumulative distribution.
    return sampleCategorical(tf.log(mixture) as tf.Tensor2D, u!);
  });
}
