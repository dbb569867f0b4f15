/**
 * Image classifiers for 28×28 single-channel images: an MLP and a small CNN (LeCun et al., 1998
 * in spirit: conv-ReLU-maxpool blocks, then a dense feature layer). Both can return the features
 * before the classifier (feature-level KD, PHI-S) and carry a second head on the same features
 * (dual-head KD, Yang et al., 2024).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { conv2dSame, linear } from "./ops.ts";
import { ParamBuilder, parameterCount, type Params } from "./params.ts";

/** An MLP over flattened pixels. */
export interface MLPConfig {
  /** Widths of the ReLU hidden layers; the last one is the feature layer (default [256, 128]). */
  hidden?: number[];
  /** Output classes (default 10). */
  classes?: number;
  /** Add a second linear head on the features (default false). */
  auxHead?: boolean;
  /** Seed of the initial weights. */
  seed: number;
}

/** A CNN of conv3×3-ReLU-maxpool2 blocks and a dense feature layer. */
export interface CNNConfig {
  /** Channels of each conv block (default [32, 64]). */
  channels?: number[];
  /** Width of the dense feature layer (default 128). */
  featureDim?: number;
  /** Output classes (default 10). */
  classes?: number;
  /** Add a second linear head on the features (default false). */
  auxHead?: boolean;
  /** Seed of the initial weights. */
  seed: number;
}

/** What a classifier returns. */
export interface ClassifierOutput {
  /** `[B, classes]`. */
  logits: tf.Tensor2D;
  /** `[B, featureDim]`, when asked for. */
  features?: tf.Tensor2D;
  /** The second head's logits, when the model has one. */
  auxLogits?: tf.Tensor2D;
  /**
   * A CNN's block outputs (after ReLU and max-pooling: `[B, 14, 14, C₀]`, `[B, 7, 7, C₁]`, …),
   * when asked for: the intermediate activations that attention transfer compares.
   */
  maps?: tf.Tensor4D[];
  /**
   * A CNN's block outputs before their ReLU (max-pooled pre-activations, the same shapes as
   * {@link maps}; `maps[j] = relu(preMaps[j])`), when asked for: the hidden neurons whose
   * activation boundaries AB transfers (Heo et al., AAAI 2019).
   */
  preMaps?: tf.Tensor4D[];
}

/** What {@link ImageClassifier.forward} returns besides the logits. */
export interface ForwardOptions {
  /** Return the features before the classifier. */
  features?: boolean;
  /** Return each conv block's output (CNNs only; an MLP has no spatial maps). */
  maps?: boolean;
  /** Return each conv block's output before its ReLU (CNNs only). */
  preactivations?: boolean;
}

/** An image classifier and its variables. */
export interface ImageClassifier {
  /** Model family tag (saved with the weights). */
  readonly kind: "mlp" | "cnn";
  /** The configuration with its defaults filled in. */
  readonly config: Required<MLPConfig> | Required<CNNConfig>;
  /** The variables by name. */
  readonly params: Params;
  /** Number of parameters. */
  readonly parameterCount: number;
  /** Width of the feature layer. */
  readonly featureDim: number;
  /** Logits of images `[B, 28, 28, 1]` (or `[B, 784]`). */
  logits(x: tf.Tensor): tf.Tensor2D;
  /**
   * Logits, the second head's logits, and when asked the features and (CNNs) the block outputs,
   * of images `[B, 28, 28, 1]` (or `[B, 784]`).
   */
  forward(x: tf.Tensor, options?: ForwardOptions): ClassifierOutput;
}

/**
 * The spatial side of each block output of a classifier (`[14, 7]` for a two-block CNN; empty for
 * an MLP): what attention transfer needs to pair a student's blocks with a teacher's.
 */
export function mapSides(model: ImageClassifier): number[] {
  if (model.kind !== "cnn") return [];
  return blockSides((model.config as Required<CNNConfig>).channels.length);
}

/**
 * The channels of each block output of a classifier (a CNN's `config.channels`; empty for an MLP):
 * what the objectives on the teacher's raw block outputs need to read them back.
 */
export function mapChannels(model: ImageClassifier): number[] {
  if (model.kind !== "cnn") return [];
  return [...(model.config as Required<CNNConfig>).channels];
}

/**
 * The variables a classifier's block outputs depend on, by name (a CNN's conv layers; none for an
 * MLP): what a first stage that trains the student's blocks alone (AB's) updates.
 */
export function blockVariables(model: ImageClassifier): Params {
  if (model.kind !== "cnn") return {};
  return Object.fromEntries(Object.entries(model.params).filter(([n]) => n.startsWith("conv")));
}

/** The side of each of `blocks` conv-pool blocks' outputs on a 28×28 image: 14, 7, 3, 1. */
function blockSides(blocks: number): number[] {
  const sides: number[] = [];
  for (let side = 28, i = 0; i < blocks; i++) sides.push(side = Math.floor(side / 2));
  return sides;
}

function checkImages(x: tf.Tensor, who: string): void {
  const ok = (x.rank === 4 && x.shape[1] === 28 && x.shape[2] === 28 && x.shape[3] === 1) ||
    (x.rank === 2 && x.shape[1] === 784);
  if (!ok) throw new Error(`${who}: x must be [B, 28, 28, 1] or [B, 784], got [${x.shape}]`);
  if (x.shape[0] === 0) throw new Error(`${who}: empty batch`);
}

function checkWidths(widths: number[], name: string, who: string): void {
  if (widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w >= 1)) {
    throw new Error(
      `${who}: ${name} must be a non-empty list of positive integers, got [${widths}]`,
    );
  }
}

function heads(
  init: ParamBuilder,
  featureDim: number,
  classes: number,
  aux: boolean,
): (features: tf.Tensor2D, p: Params) => Pick<ClassifierOutput, "logits" | "auxLogits"> {
  init.normal("head.w", [featureDim, classes], 1 / Math.sqrt(featureDim));
  init.fill("head.b", [classes], 0);
  if (aux) {
    init.normal("aux.w", [featureDim, classes], 1 / Math.sqrt(featureDim));
    init.fill("aux.b", [classes], 0);
  }
  return (f, p) => ({
    logits: linear(f, p["head.w"] as tf.Tensor2D, p["head.b"] as tf.Tensor1D) as tf.Tensor2D,
    ...(aux
      ? {
        auxLogits: linear(f, p["aux.w"] as tf.Tensor2D, p["aux.b"] as tf.Tensor1D) as tf.Tensor2D,
      }
      : {}),
  });
}

/** An MLP classifier with He-initialised ReLU layers. */
export function createMLP(config: MLPConfig): ImageClassifier {
  const cfg = { hidden: [256, 128], classes: 10, auxHead: false, ...config };
  checkWidths(cfg.hidden, "hidden", "createMLP");
  const init = new ParamBuilder(cfg.seed);
  let width = 784;
  cfg.hidden.forEach((h, i) => {
    init.he(`fc${i}.w`, [width, h], width);
    init.fill(`fc${i}.b`, [h], 0);
    width = h;
  });
  const head = heads(init, width, cfg.classes, cfg.auxHead);
  const p = init.params;
  const forward = (x: tf.Tensor, options: ForwardOptions = {}): ClassifierOutput => {
    checkImages(x, "MLP");
    if (options.maps || options.preactivations) {
      throw new Error(
        `MLP: forward(x, { ${
          options.maps ? "maps" : "preactivations"
        }: true }) needs spatial maps, which an MLP does not have (use a CNN)`,
      );
    }
    let h = x.reshape([x.shape[0], 784]) as tf.Tensor2D;
    cfg.hidden.forEach((_, i) => {
      h = tf.relu(
        linear(h, p[`fc${i}.w`] as tf.Tensor2D, p[`fc${i}.b`] as tf.Tensor1D),
      ) as tf.Tensor2D;
    });
    return { ...head(h, p), ...(options.features ? { features: h } : {}) };
  };
  return {
    kind: "mlp",
    config: cfg,
    params: p,
    parameterCount: parameterCount(p),
    featureDim: width,
    logits: (x) => forward(x).logits,
    forward,
  };
}

/** A CNN classifier: conv3×3(same)-ReLU-maxpool2 blocks, a dense ReLU feature layer, a head. */
export function createCNN(config: CNNConfig): ImageClassifier {
  const cfg = { channels: [32, 64], featureDim: 128, classes: 10, auxHead: false, ...config };
  checkWidths(cfg.channels, "channels", "createCNN");
  checkWidths([cfg.featureDim], "featureDim", "createCNN");
  if (cfg.channels.length > 4) throw new Error("createCNN: at most 4 blocks fit 28×28 images");
  const init = new ParamBuilder(cfg.seed);
  let inChannels = 1;
  cfg.channels.forEach((c, i) => {
    init.he(`conv${i}.w`, [3, 3, inChannels, c], 9 * inChannels);
    init.fill(`conv${i}.b`, [c], 0);
    inChannels = c;
  });
  const side = blockSides(cfg.channels.length).at(-1)!;
  const flat = side * side * inChannels;
  init.he("fc.w", [flat, cfg.featureDim], flat);
  init.fill("fc.b", [cfg.featureDim], 0);
  const head = heads(init, cfg.featureDim, cfg.classes, cfg.auxHead);
  const p = init.params;
  const forward = (x: tf.Tensor, options: ForwardOptions = {}): ClassifierOutput => {
    checkImages(x, "CNN");
    let h = x.reshape([x.shape[0], 28, 28, 1]) as tf.Tensor4D;
    const maps: tf.Tensor4D[] = [];
    const preMaps: tf.Tensor4D[] = [];
    cfg.channels.forEach((_, i) => {
      const conv = conv2dSame(h, p[`conv${i}.w`] as tf.Tensor4D).add(p[`conv${i}.b`]);
      // Pool, then ReLU: the same values and gradients as ReLU then pool (both are monotone), on a
      // quarter of the positions, and the pooled pre-activations are the block's before its ReLU.
      const pre = tf.maxPool(conv as tf.Tensor4D, 2, 2, "valid");
      h = tf.relu(pre) as tf.Tensor4D;
      maps.push(h);
      preMaps.push(pre);
    });
    const features = tf.relu(
      linear(h.reshape([h.shape[0], flat]), p["fc.w"] as tf.Tensor2D, p["fc.b"] as tf.Tensor1D),
    ) as tf.Tensor2D;
    return {
      ...head(features, p),
      ...(options.features ? { features } : {}),
      ...(options.maps ? { maps } : {}),
      ...(options.preactivations ? { preMaps } : {}),
    };
  };
  return {
    kind: "cnn",
    config: cfg,
    params: p,
    parameterCount: parameterCount(p),
    featureDim: cfg.featureDim,
    logits: (x) => forward(x).logits,
    forward,
  };
}
