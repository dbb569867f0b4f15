/**
 * Autoregressive generation from a GPT, on the device: each new token is drawn from
 * softmax(logits / temperature) of the last position by inverting the cumulative distribution at
 * a uniform number drawn on the host from the seed, so nothing is read back while generating and
 * the same model, prompts and seed give the same tokens (an on-policy training run resumes
 * exactly). Temperature 0 takes the most probable token (greedy decoding).
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
  const { newTokens, temperature = 1, seed = 0 } = options;
  if (prompts.dtype !== "int32" || prompts.rank !== 2 || prompts.size === 0) {
    throw new Error(
      `generate: prompts must be non-empty int32 [batch, length], got ${prompts.dtype} ` +
        `[${prompts.shape}]`,
    );
  }
  if (!(Number.isInteger(newTokens) && newTokens >= 0)) {
    throw new Error(`generate: newTokens must be a non-negative integer, got ${newTokens}`);
  }
  if (!(Number.isFinite(temperature) && temperature >= 0)) {
    throw new Error(`generate: temperature must be a finite number ≥ 0, got ${temperature}`);
  }
  if (!Number.isFinite(seed)) throw new Error(`generate: seed must be a finite number`);
  const [B] = prompts.shape;
  const { contextLength, vocabSize } = model.config;
  const uniforms = temperature > 0 ? uniformDraws(seed, newTokens * B) : undefined;
  let sequence = tf.clone(prompts) as tf.Tensor2D;
  let cache: KVCache | undefined;
  // The weights do not change while generating: transpose the tied embedding once.
  const outputProjection = model.config.tieWeights && newTokens > 1
    ? tf.transpose(model.params.wte) as tf.Tensor2D
    : undefined;
  const dropCache = () => cache && tf.dispose([...cache.keys, ...cache.values]);
  try {
    for (let k = 0; k < newTokens; k++) {
      const step = tf.tidy(() => {
        const length = sequence.shape[1];
        // With a cache, only the token drawn last is new; past the context the window slides.
        const cached = cache !== undefined && length <= contextLength;
        const start = cached ? length - 1 : Math.max(0, length - contextLength);
        const input = start > 0 ? tf.slice(sequence, [0, start], [B, length - start]) : sequence;
        // The prompts' ids are checked once (a deferred read); generated ids are in range.
        const out = model.forward(input, {
          checkIds: k === 0,
          lastPosition: true,
          cache: cached ? cache : undefined,
          returnCache: length < contextLength && k < newTokens - 1,
          outputProjection,
        });
        const logits = out.logits.reshape([B, vocabSize]) as tf.Tensor2D;
        const next = temperature === 0 ? tf.argMax(logits, 1) : sampleCategorical(
          tf.div(logits, temperature),
          tf.tensor1d(uniforms!.subarray(k * B, (k + 1) * B)),
        );
        return {
          sequence: tf.concat([sequence, next.reshape([B, 1])], 1) as tf.Tensor2D,
          keys: out.cache?.keys ?? [],
          values: out.cache?.values ?? [],
        };
      });
      sequence.dispose();
      dropCache();
      sequence = step.sequence;
      cache = step.keys.length > 0 ? { keys: step.keys, values: step.values } : undefined;
    }
  } catch (error) {
    sequence.dispose();
    throw error;
  } finally {
    dropCache();
    outputProjection?.dispose();
  }
  return sequence;
}
