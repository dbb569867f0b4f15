/**
 * Batches that are pure functions of `(seed, step)`: resuming at step k needs no saved iterator
 * state, and two runs with one seed see the same examples in the same order.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type ImageSplit, selectImages } from "./images.ts";
import { hashSeed, permutation, Rng } from "./rng.ts";

/** A language-model batch: inputs and next-token targets, both `[batchSize, contextLength]`. */
export interface TokenBatch {
  /** Token ids, `[batchSize, contextLength]` int32. */
  inputs: tf.Tensor2D;
  /** The next token of each input position, `[batchSize, contextLength]` int32. */
  targets: tf.Tensor2D;
}

/** Options of {@link TokenBatcher}. */
export interface TokenBatcherOptions {
  /** Windows per batch. */
  batchSize: number;
  /** Tokens per window. */
  contextLength: number;
  /** Seed of the window positions. */
  seed: number;
  /**
   * Draw only windows starting at multiples of `contextLength` (consecutive, non-overlapping
   * windows, as packed pre-training data is cut), so that per-position targets can be computed
   * once and cached (`lib/train/teacher_targets.ts`). Default false: any start.
   */
  aligned?: boolean;
}

/** Random windows of a token stream: step k's windows depend only on (seed, k). */
export class TokenBatcher {
  /** The token stream windows are drawn from. */
  readonly tokens: Int32Array;
  /** Batch size, window length and seed. */
  readonly options: TokenBatcherOptions;

  /** Batches of `options.batchSize` windows of `contextLength` + 1 tokens of `tokens`. */
  constructor(tokens: Int32Array, options: TokenBatcherOptions) {
    const { batchSize, contextLength } = options;
    if (!(batchSize >= 1 && Number.isInteger(batchSize))) {
      throw new Error(`TokenBatcher: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!(contextLength >= 1 && Number.isInteger(contextLength))) {
      throw new Error(
        `TokenBatcher: contextLength must be a positive integer, got ${contextLength}`,
      );
    }
    if (tokens.length < contextLength + 1) {
      throw new Error(
        `TokenBatcher: the token stream (${tokens.length} tokens) is shorter than contextLength + 1 ` +
          `(${contextLength + 1}); the data set is empty or too small`,
      );
    }
    this.tokens = tokens;
    this.options = options;
  }

  /** Window starts of step k. */
  starts(step: number): Int32Array {
    const { batchSize, contextLength, seed, aligned } = this.options;
    const rng = new Rng(hashSeed(seed, "token-batch", step));
    const starts = new Int32Array(batchSize);
    if (aligned) {
      const windows = Math.floor((this.tokens.length - 1) / contextLength);
      for (let b = 0; b < batchSize; b++) starts[b] = rng.int(windows) * contextLength;
    } else {
      for (let b = 0; b < batchSize; b++) starts[b] = rng.int(this.tokens.length - contextLength);
    }
    return starts;
  }

  /** The batch of step k as int32 tensors. */
  batch(step: number): TokenBatch {
    return windowsAt(this.tokens, this.starts(step), this.options.contextLength);
  }
}

/**
 * Throws an error of `who` unless every id of a token stream is in [0, `vocabSize`): one pass
 * on the host, once per stream, so batches drawn from it need no check on the device.
 */
export function checkTokenIds(tokens: Int32Array, vocabSize: number, who: string): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < lo) lo = tokens[i];
    if (tokens[i] > hi) hi = tokens[i];
  }
  if (lo < 0 || hi >= vocabSize) {
    throw new Error(`${who}: token ids must be in [0, ${vocabSize}), the data has [${lo}, ${hi}]`);
  }
}

/** Input/target windows starting at the given offsets. */
export function windowsAt(
  tokens: Int32Array,
  starts: ArrayLike<number>,
  length: number,
): TokenBatch {
  const inputs = new Int32Array(starts.length * length);
  const targets = new Int32Array(starts.length * length);
  for (let b = 0; b < starts.length; b++) {
    inputs.set(tokens.subarray(starts[b], starts[b] + length), b * length);
    targets.set(tokens.subarray(starts[b] + 1, starts[b] + length + 1), b * length);
  }
  return {
    inputs: tf.tensor2d(inputs, [starts.length, length], "int32"),
    targets: tf.tensor2d(targets, [starts.length, length], "int32"),
  };
}

/**
 * Non-overlapping windows covering a held-out stream (at most `maxWindows`, evenly spaced), in
 * batches: the evaluation set of a language model.
 */
export function evaluationBatches(
  tokens: Int32Array,
  options: { contextLength: number; batchSize: number; maxWindows?: number },
): Int32Array[] {
  const { contextLength, batchSize, maxWindows = Infinity } = options;
  const available = Math.floor((tokens.length - 1) / contextLength);
  if (available < 1) {
    throw new Error(
      `evaluationBatches: ${tokens.length} tokens hold no window of contextLength ${contextLength}`,
    );
  }
  const n = Math.min(available, maxWindows);
  const stride = Math.floor(available / n);
  const starts = Array.from({ length: n }, (_, i) => i * stride * contextLength);
  const batches: Int32Array[] = [];
  for (let i = 0; i < n; i += batchSize) {
    batches.push(Int32Array.from(starts.slice(i, i + batchSize)));
  }
  return batches;
}

/** An image batch: `x` is `[B, 28, 28, 1]` float32, `y` class ids `[B]`. */
export interface ImageBatch {
  /** Images, `[B, 28, 28, 1]` float32 in [0, 1]. */
  x: tf.Tensor4D;
  /** Class ids, `[B]` int32. */
  y: tf.Tensor1D;
}

/**
 * Epoch-shuffled image batches: example `i = step·B + j` is position `i mod N` of epoch
 * `⌊i / N⌋`'s permutation (seeded by seed and epoch), so batch k depends only on (seed, k).
 */
export class ImageBatcher {
  /** The images batches are drawn from. */
  readonly split: ImageSplit;
  /** Examples per batch. */
  readonly batchSize: number;
  /** Seed of every epoch's permutation. */
  readonly seed: number;
  #orders = new Map<number, Int32Array>();

  /** Batches of `options.batchSize` examples of a non-empty `split`. */
  constructor(split: ImageSplit, options: { batchSize: number; seed: number }) {
    if (split.count === 0) throw new Error("ImageBatcher: the split is empty");
    if (!(options.batchSize >= 1 && Number.isInteger(options.batchSize))) {
      throw new Error(
        `ImageBatcher: batchSize must be a positive integer, got ${options.batchSize}`,
      );
    }
    this.split = split;
    this.batchSize = options.batchSize;
    this.seed = options.seed;
  }

  /** Example indices of step k. */
  indices(step: number): Int32Array {
    const out = new Int32Array(this.batchSize);
    for (let j = 0; j < this.batchSize; j++) {
      const i = step * this.batchSize + j;
      const epoch = Math.floor(i / this.split.count);
      let order = this.#orders.get(epoch);
      if (!order) {
        if (this.#orders.size > 4) this.#orders.clear();
        order = permutation(this.split.count, hashSeed(this.seed, "image-epoch", epoch));
        this.#orders.set(epoch, order);
      }
      out[j] = order[i % this.split.count];
    }
    return out;
  }

  /** The batch of step k. */
  batch(step: number): ImageBatch {
    return imageTensors(this.split, this.indices(step));
  }
}

/**
 * `f` applied to the images of a split in batches of `batchSize` (in order), each result read back
 * asynchronously (so it works on webgpu too) and its rows concatenated on the host.
 */
export async function mapImageBatches(
  split: ImageSplit,
  f: (x: tf.Tensor4D) => tf.Tensor,
  batchSize = 500,
): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (let i = 0; i < split.count; i += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, split.count - i) }, (_, j) => i + j);
    const out = tf.tidy(() => f(imageTensors(split, indices).x));
    parts.push(await out.data() as Float32Array);
    out.dispose();
  }
  const rows = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) rows.set(p, offset), offset += p.length;
  return rows;
}

/** Tensors of the given examples (all of them when no indices are given). */
export function imageTensors(split: ImageSplit, indices?: ArrayLike<number>): ImageBatch {
  const chosen = indices ? selectImages(split, indices) : split;
  if (chosen.count === 0) throw new Error("imageTensors: no examples selected");
  return {
    x: tf.tensor4d(chosen.images, [chosen.count, 28, 28, 1]),
    y: tf.tensor1d(chosen.labels, "int32"),
  };
}
