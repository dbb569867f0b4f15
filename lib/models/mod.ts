/**
 * Models over named variables: a GPT for language modelling, an MLP and a CNN for 28×28 images,
 * the layers they share (with gradients every backend runs), and safetensors weights on disk.
 *
 * @example A GPT: its size, causality, and a round trip through safetensors
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { createGPT, type GPT, loadModel, saveModel } from "./mod.ts";
 *
 * const [V, T, L, d] = [64, 16, 2, 32];
 * const gpt = createGPT({ vocabSize: V, contextLength: T, nLayer: L, nHead: 4, dModel: d, seed: 1 });
 * // Tied embeddings V·d, positions T·d, per block 12d² + 13d, final LayerNorm 2d.
 * assert.equal(gpt.parameterCount, V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d);
 *
 * // Causal: position 1's logits do not depend on the token at position 2.
 * const a = await gpt.logits(tf.tensor2d([[5, 9, 1]], undefined, "int32")).array();
 * const b = await gpt.logits(tf.tensor2d([[5, 9, 42]], undefined, "int32")).array();
 * assert.deepEqual(a[0][1], b[0][1]);
 * assert.notDeepEqual(a[0][2], b[0][2]);
 *
 * // A model folder holds config.json and weights.safetensors; loading rebuilds the same model.
 * const dir = await Deno.makeTempDir();
 * await saveModel(dir, gpt);
 * const copy = await loadModel(dir) as GPT;
 * assert.deepEqual(copy.config, gpt.config);
 * assert.deepEqual(await copy.params["h1.mlp.w2"].data(), await gpt.params["h1.mlp.w2"].data());
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./ops.ts";
export * from "./params.ts";
export * from "./gpt.ts";
export * from "./generate.ts";
export * from "./vision.ts";
export * from "./io.ts";
