/**
 * Benchmark of sampling from a GPT (`lib/models/generate.ts`) at the sizes GKD's on-policy batches
 * use in `train_step` (a batch of 16 quarter-window prompts of 32 tokens, continued by 97 tokens
 * to fill the 128-token window plus one target): milliseconds per call and per generated token,
 * at temperature 1 and greedy, for the student and teacher configs. The student's rows are paired
 * with the same draws done without a key/value cache (every token a forward pass over the whole
 * prefix, the output projection through matMul's transpose flag: what `generate` did before its
 * cache; timed once after one warm-up call, as it is slow), to show what the cache buys; both give
 * the same tokens up to float32 rounding.
 * Writes `bench/results/generate.json`.
 *
 * Usage: `deno task bench generate [--backends wasm,webgpu] [--repeats 3] [--out f.json]`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  createGPT,
  generate,
  type GPT,
  sampleCategorical,
  uniformDraws,
} from "../lib/models/mod.ts";
import { parseArgs } from "../tools/args.ts";
import { benchBackends, writeBenchResult } from "./harness.ts";
import { timeCalls } from "./timing.ts";
import { CONFIGS } from "./train_step.ts";

const [BATCH, PROMPT, NEW_TOKENS] = [16, 32, 97];

/** The same draws as `generate`, without a cache: each token reruns the whole prefix. */
function generateUncached(model: GPT, prompts: tf.Tensor2D, temperature: number, seed: number) {
  const [B] = prompts.shape;
  const draws = uniformDraws(seed, NEW_TOKENS * B);
  let sequence = tf.clone(prompts);
  for (let k = 0; k < NEW_TOKENS; k++) {
    const uniforms = draws.subarray(k * B, (k + 1) * B);
    const grown = tf.tidy(() => {
      const logits = model.forward(sequence, { checkIds: false, lastPosition: true }).logits
        .reshape([B, model.config.vocabSize]) as tf.Tensor2D;
      const next = temperature === 0
        ? tf.argMax(logits, 1)
        : sampleCategorical(tf.div(logits, temperature), tf.tensor1d(uniforms));
      return tf.concat([sequence, next.reshape([B, 1])], 1) as tf.Tensor2D;
    });
    sequence.dispose();
    sequence = grown;
  }
  return sequence;
}

interface Row {
  backend: string;
  config: string;
  params: number;
  temperature: number;
  /** Whether the row uses `generate` (key/value cache) or the uncached baseline. */
  cache: boolean;
  batch: number;
  prompt: number;
  new_tokens: number;
  /** Median over repeats, including the readback of the result. */
  ms_per_call: number;
  ms_per_token: number;
  tokens_per_s: number;
}

if (import.meta.main) {
  const { options } = parseArgs(Deno.args, ["backends", "repeats", "out"]);
  const repeats = Number(options.repeats ?? 3);
  const rows: Row[] = [];
  const notes: string[] = [];
  for await (const { backend } of benchBackends(options.backends, (n) => notes.push(n))) {
    for (const config of ["student", "teacher"]) {
      const model = createGPT({ ...CONFIGS[config], seed: 1 });
      const V = model.config.vocabSize;
      const prompts = tf.tensor2d(
        Int32Array.from({ length: BATCH * PROMPT }, (_, i) => (i * 2654435761) % V),
        [BATCH, PROMPT],
        "int32",
      );
      for (const temperature of [1, 0]) {
        for (const cache of config === "student" ? [true, false] : [true]) {
          const call = async () => {
            const out = cache
              ? generate(model, prompts, { newTokens: NEW_TOKENS, temperature, seed: 5 })
              : generateUncached(model, prompts, temperature, 5);
            await out.data();
            out.dispose();
          };
          const { median } = await timeCalls(call, cache ? repeats : 1, 1);
          const tokens = BATCH * NEW_TOKENS;
          rows.push({
            backend,
            config,
            params: model.parameterCount,
            temperature,
            cache,
            batch: BATCH,
            prompt: PROMPT,
            new_tokens: NEW_TOKENS,
            ms_per_call: median,
            ms_per_token: median / NEW_TOKENS,
            tokens_per_s: tokens / (median / 1000),
          });
          console.log(
            `${backend} ${config} T=${temperature} ${cache ? "cache   " : "no cache"}: ` +
              `${median.toFixed(0)} ms per call, ${(median / NEW_TOKENS).toFixed(2)} ms per token`,
          );
        }
      }
      prompts.dispose();
      Object.values(model.params).forEach((v) => v.dispose());
    }
  }
  notes.forEach((n) => console.log(n));
  await writeBenchResult(
    "generate",
    { configs: CONFIGS, repeats, rows, notes },
    typeof options.out === "string" ? options.out : undefined,
  );
}
