/**
 * A GPT: a decoder-only, pre-LayerNorm causal transformer with learned positions (Radford et al.,
 * "Language Models are Unsupervised Multitask Learners", 2019), written in the manner of nanoGPT:
 * one function for the forward pass over named variables.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hashSeed } from "../data/rng.ts";
import { checkValues } from "../deferred_checks.ts";
import { embedding, gelu, layerNorm, linear, matMul } from "./ops.ts";
import { ParamBuilder, parameterCount, type Params } from "./params.ts";

/** The size and shape of a GPT. */
export interface GPTConfig {
  /** Tokens in the vocabulary. */
  vocabSize: number;
  /** Positions (the longest input). */
  contextLength: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads per block (dModel must be a multiple). */
  nHead: number;
  /** Residual width. */
  dModel: number;
  /** Seed of the initial weights. */
  seed: number;
  /** Dropout on attention weights and residual branches during training (default 0). */
  dropout?: number;
  /** Share the token embedding with the output projection (default true, as GPT-2). */
  tieWeights?: boolean;
}

/** Options of one forward pass. */
export interface GPTForwardOptions {
  /** Also return the residual stream after the embedding and after each block. */
  hiddenStates?: boolean;
  /** Also return each layer's attention probabilities `[B, H, T, T]`. */
  attentions?: boolean;
  /**
   * Also return one block's attention probabilities, and its queries, keys and values per head
   * (what MiniLM, Wang et al. 2020, distils from the last layer and MiniLMv2, Wang et al. 2021,
   * from the last or an upper-middle one): {@link GPTOutput.layerAttention}. The block's index
   * from 0; a negative index counts from the end (−1: the last block).
   */
  attentionOfLayer?: number;
  /** Apply dropout with masks drawn from this seed (training only; none when absent). */
  dropoutSeed?: number;
  /** Check token ids on the host (default true; one small readback). */
  checkIds?: boolean;
  /**
   * Logits of the last position only, `[B, 1, V]` (generation: the output projection, the largest
   * product of a small model, runs on one position instead of T).
   */
  lastPosition?: boolean;
  /**
   * Keys and values of the positions before `tokens` (from an earlier call's
   * {@link GPTOutput.cache}): `tokens` are then positions `L … L + T − 1`, where L is the cache's
   * length, and attend to the cached positions too. L + T must not exceed the context length.
   */
  cache?: KVCache;
  /**
   * Also return the keys and values of every position seen (the cache's and these tokens'), to
   * continue from (incremental decoding: each new token then costs one position's forward pass).
   */
  returnCache?: boolean;
  /**
   * The output projection `[dModel, vocabSize]` in place of the model's own (`wteᵀ` when tied,
   * else `lm_head`), for callers that run many passes over unchanged weights: generation
   * transposes the tied embedding once per call, not once per token (on wasm, XNNPACK also packs
   * a matrix it has seen once: [16, 128]·[128, 4096] took 0.9 ms, against 7.2 ms through the
   * transpose flag). The caller keeps it equal to the model's weights.
   */
  outputProjection?: tf.Tensor2D;
}

/**
 * Each layer's attention keys and values of the positions a GPT has seen, for incremental
 * decoding: `keys[l]` and `values[l]` are `[B·nHead, L, dModel / nHead]` for L positions.
 * Returned by {@link GPT.forward} with {@link GPTForwardOptions.returnCache}; the caller owns
 * (and disposes) its tensors.
 */
export interface KVCache {
  /** Per layer, `[B·nHead, L, headDim]`. */
  keys: tf.Tensor3D[];
  /** Per layer, `[B·nHead, L, headDim]`. */
  values: tf.Tensor3D[];
}

/** What a forward pass returns. */
export interface GPTOutput {
  /** `[B, T, vocabSize]` (`[B, 1, vocabSize]` with {@link GPTForwardOptions.lastPosition}). */
  logits: tf.Tensor3D;
  /**
   * The residual stream after the embedding and after each block, `[B, T, dModel]`, when asked for.
   */
  hiddenStates?: tf.Tensor3D[];
  /**
   * Each block's attention probabilities `[B, H, T, T]` (`[B, H, T, L + T]` after a cache of L
   * positions), when asked for.
   */
  attentions?: tf.Tensor4D[];
  /**
   * The self-attention of the block chosen by `attentionOfLayer` (L: the cache's length, 0
   * without one).
   */
  layerAttention?: {
    /** Attention probabilities `[B, H, T, L + T]`. */
    probabilities: tf.Tensor4D;
    /** Values per head `[B, H, L + T, head size]`. */
    values: tf.Tensor4D;
    /** Queries per head `[B, H, T, head size]` (before the 1/√(head size) scaling). */
    queries: tf.Tensor4D;
    /** Keys per head `[B, H, L + T, head size]`. */
    keys: tf.Tensor4D;
  };
  /** Keys and values of every position seen, with {@link GPTForwardOptions.returnCache}. */
  cache?: KVCache;
}

/** A GPT and its variables. */
export interface GPT {
  /** Model family tag (saved with the weights). */
  readonly kind: "gpt";
  /** The configuration with its defaults filled in. */
  readonly config: Required<GPTConfig>;
  /** The variables by name. */
  readonly params: Params;
  /** Number of parameters (tied embeddings counted once). */
  readonly parameterCount: number;
  /** Next-token logits `[B, T, V]` of int32 tokens `[B, T]`. */
  logits(tokens: tf.Tensor): tf.Tensor3D;
  /** Logits and, when asked, hidden states and attention probabilities of int32 tokens `[B, T]`. */
  forward(tokens: tf.Tensor, options?: GPTForwardOptions): GPTOutput;
}

function checkConfig(config: GPTConfig): Required<GPTConfig> {
  const full = { dropout: 0, tieWeights: true, ...config };
  for (const key of ["vocabSize", "contextLength", "nLayer", "nHead", "dModel"] as const) {
    if (!(Number.isInteger(full[key]) && full[key] >= 1)) {
      throw new Error(`createGPT: ${key} must be a positive integer, got ${full[key]}`);
    }
  }
  if (full.dModel % full.nHead !== 0) {
    throw new Error(
      `createGPT: dModel (${full.dModel}) must be divisible by nHead (${full.nHead})`,
    );
  }
  if (!(full.dropout >= 0 && full.dropout < 1)) {
    throw new Error(`createGPT: dropout must be in [0, 1), got ${full.dropout}`);
  }
  if (!Number.isFinite(full.seed)) throw new Error(`createGPT: seed must be a number`);
  return full;
}

/**
 * Additive causal masks `[T, past + T]` for T queries after `past` cached positions (query i sees
 * keys j ≤ past + i: 0 there, -1e9 elsewhere), one per shape.
 */
const causalMasks = new Map<string, tf.Tensor2D>();
function causalMask(T: number, past: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${T}:${past}`;
  let mask = causalMasks.get(key);
  if (!mask || mask.isDisposed) {
    const S = past + T;
    const values = new Float32Array(T * S);
    for (let i = 0; i < T; i++) for (let j = past + i + 1; j < S; j++) values[i * S + j] = -1e9;
    mask = tf.keep(tf.tensor2d(values, [T, S]));
    causalMasks.set(key, mask);
  }
  return mask;
}

/**
 * A GPT with GPT-2's initialisation: N(0, 0.02²) weights, residual output projections scaled by
 * 1/√(2·nLayer), zero biases, unit LayerNorm gains.
 */
export function createGPT(config: GPTConfig): GPT {
  const cfg = checkConfig(config);
  const { vocabSize: V, contextLength, nLayer, nHead, dModel: D, dropout } = cfg;
  const init = new ParamBuilder(cfg.seed);
  const residualStd = 0.02 / Math.sqrt(2 * nLayer);
  init.normal("wte", [V, D], 0.02);
  init.normal("wpe", [contextLength, D], 0.01);
  for (let l = 0; l < nLayer; l++) {
    init.fill(`h${l}.ln1.g`, [D], 1);
    init.fill(`h${l}.ln1.b`, [D], 0);
    init.normal(`h${l}.attn.wqkv`, [D, 3 * D], 0.02);
    init.fill(`h${l}.attn.bqkv`, [3 * D], 0);
    init.normal(`h${l}.attn.wo`, [D, D], residualStd);
    init.fill(`h${l}.attn.bo`, [D], 0);
    init.fill(`h${l}.ln2.g`, [D], 1);
    init.fill(`h${l}.ln2.b`, [D], 0);
    init.normal(`h${l}.mlp.w1`, [D, 4 * D], 0.02);
    init.fill(`h${l}.mlp.b1`, [4 * D], 0);
    init.normal(`h${l}.mlp.w2`, [4 * D, D], residualStd);
    init.fill(`h${l}.mlp.b2`, [D], 0);
  }
  init.fill("lnf.g", [D], 1);
  init.fill("lnf.b", [D], 0);
  if (!cfg.tieWeights) init.normal("lm_head", [D, V], 0.02);
  const p = init.params;
  const w2 = (name: string) => p[name] as tf.Variable<tf.Rank.R2>;
  const w1 = (name: string) => p[name] as tf.Variable<tf.Rank.R1>;
  const hd = D / nHead;

  const drop = (x: tf.Tensor, seed: number | undefined, site: string) =>
    seed === undefined || dropout === 0
      ? x
      : tf.dropout(x, dropout, undefined, hashSeed(seed, site));

  function forward(tokens: tf.Tensor, options: GPTForwardOptions = {}): GPTOutput {
    if (tokens.dtype !== "int32" || tokens.rank !== 2) {
      throw new Error(
        `GPT: tokens must be int32 [batch, time], got ${tokens.dtype} [${tokens.shape}]`,
      );
    }
    const [B, T] = tokens.shape;
    if (B === 0 || T === 0) throw new Error(`GPT: tokens must not be empty, got [${tokens.shape}]`);
    const past = options.cache ? checkCache(options.cache, B) : 0;
    if (past + T > contextLength) {
      throw new Error(
        past > 0
          ? `GPT: cache length ${past} + sequence length ${T} exceeds contextLength ${contextLength}`
          : `GPT: sequence length ${T} exceeds contextLength ${contextLength}`,
      );
    }
    const projection = options.outputProjection;
    if (
      projection &&
      !(projection.rank === 2 && projection.shape[0] === D && projection.shape[1] === V)
    ) {
      throw new Error(`GPT: outputProjection must be [${D}, ${V}], got [${projection.shape}]`);
    }
    if (options.checkIds !== false) {
      checkValues(tf.tidy(() => tf.stack([tokens.min(), tokens.max()])), ([lo, hi]) => {
        if (lo < 0 || hi >= V) {
          return `GPT: token ids must be in [0, ${V}), got values in [${lo}, ${hi}]`;
        }
      });
    }
    const attentionLayer = options.attentionOfLayer === undefined
      ? undefined
      : blockIndex(options.attentionOfLayer);
    const seed = options.dropoutSeed;
    const hidden: tf.Tensor3D[] = [];
    const attentions: tf.Tensor4D[] = [];
    let layerAttention: GPTOutput["layerAttention"];
    const cache: KVCache | undefined = options.returnCache ? { keys: [], values: [] } : undefined;
    const positions = tf.slice(p.wpe, [past, 0], [T, D]);
    let x = embedding(p.wte as tf.Tensor2D, tokens).add(positions) as tf.Tensor3D;
    x = drop(x, seed, "embed") as tf.Tensor3D;
    if (options.hiddenStates) hidden.push(x);
    // One query after the cache sees every key: no mask.
    const mask = T === 1 ? undefined : causalMask(T, past);
    for (let l = 0; l < nLayer; l++) {
      const h = layerNorm(x, w1(`h${l}.ln1.g`), w1(`h${l}.ln1.b`));
      const qkv = linear(h, w2(`h${l}.attn.wqkv`), w1(`h${l}.attn.bqkv`));
      const heads = (i: number) =>
        tf.slice(qkv, [0, 0, i * D], [B, T, D]).reshape([B, T, nHead, hd]).transpose([0, 2, 1, 3])
          .reshape([B * nHead, T, hd]) as tf.Tensor3D;
      let [q, k, v] = [heads(0), heads(1), heads(2)];
      if (options.cache) {
        k = tf.concat([options.cache.keys[l], k], 1);
        v = tf.concat([options.cache.values[l], v], 1);
      }
      cache?.keys.push(k);
      cache?.values.push(v);
      const scaled = matMul(q, k, false, true).mul(1 / Math.sqrt(hd));
      const att = tf.softmax(mask ? scaled.add(mask) : scaled);
      if (options.attentions) attentions.push(att.reshape([B, nHead, T, past + T]));
      if (l === attentionLayer) {
        layerAttention = {
          probabilities: att.reshape([B, nHead, T, past + T]),
          values: v.reshape([B, nHead, past + T, hd]),
          queries: q.reshape([B, nHead, T, hd]),
          keys: k.reshape([B, nHead, past + T, hd]),
        };
      }
      const y = matMul(drop(att, seed, `att${l}`) as tf.Tensor3D, v)
        .reshape([B, nHead, T, hd]).transpose([0, 2, 1, 3]).reshape([B, T, D]);
      const attnOut = linear(y, w2(`h${l}.attn.wo`), w1(`h${l}.attn.bo`));
      x = x.add(drop(attnOut, seed, `attn_out${l}`));
      const m = layerNorm(x, w1(`h${l}.ln2.g`), w1(`h${l}.ln2.b`));
      const mlp = linear(
        gelu(linear(m, w2(`h${l}.mlp.w1`), w1(`h${l}.mlp.b1`))),
        w2(`h${l}.mlp.w2`),
        w1(`h${l}.mlp.b2`),
      );
      x = x.add(drop(mlp, seed, `mlp_out${l}`));
      if (options.hiddenStates) hidden.push(x);
    }
    const last = options.lastPosition ? tf.slice(x, [0, T - 1, 0], [B, 1, D]) : x;
    const rows = options.lastPosition ? 1 : T;
    const final = layerNorm(last, w1("lnf.g"), w1("lnf.b"));
    const logits = projection
      ? matMul(final.reshape([B * rows, D]) as tf.Tensor2D, projection).reshape([B, rows, V])
      : cfg.tieWeights
      ? matMul(final.reshape([B * rows, D]) as tf.Tensor2D, p.wte as tf.Tensor2D, false, true)
        .reshape([B, rows, V])
      : linear(final, w2("lm_head"));
    return {
      logits: logits as tf.Tensor3D,
      ...(options.hiddenStates ? { hiddenStates: hidden } : {}),
      ...(options.attentions ? { attentions } : {}),
      ...(layerAttention ? { layerAttention } : {}),
      ...(cache ? { cache } : {}),
    };
  }

  /** The index from 0 of block `layer` (negative: from the end), after checking it exists. */
  function blockIndex(layer: number): number {
    if (!(Number.isInteger(layer) && layer >= -nLayer && layer < nLayer)) {
      throw new Error(
        `GPT: attentionOfLayer must be an integer block index in [${-nLayer}, ${nLayer - 1}] ` +
          `(${nLayer} blocks; negative counts from the end), got ${layer}`,
      );
    }
    return layer < 0 ? nLayer + layer : layer;
  }

  /** The cache's length, after checking it belongs to this model and a batch of B. */
  function checkCache(c: KVCache, B: number): number {
    const L = c.keys[0]?.shape[1];
    const ok = (t: tf.Tensor | undefined) =>
      t !== undefined && !t.isDisposed && t.rank === 3 && t.shape[0] === B * nHead &&
      t.shape[1] === L && t.shape[2] === hd;
    if (
      c.keys.length !== nLayer || c.values.length !== nLayer || !c.keys.every(ok) ||
      !c.values.every(ok)
    ) {
      throw new Error(
        `GPT: cache must hold ${nLayer} keys and values [${B * nHead}, L, ${hd}] ` +
          `(batch ${B} × ${nHead} heads) from this model's forward, got keys ` +
          `[${c.keys.map((t) => t.isDisposed ? "disposed" : `[${t.shape}]`)}]`,
      );
    }
    return L!;
  }

  return {
    kind: "gpt",
    config: cfg,
    params: p,
    parameterCount: parameterCount(p),
    logits: (tokens) => forward(tokens).logits,
    forward,
  };
}
