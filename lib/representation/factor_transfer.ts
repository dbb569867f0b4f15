/**
 * Factor transfer (Kim, Park & Kwak, NeurIPS 2018, "Paraphrasing Complex Network: Network
 * Compression via Factor Transfer"), as the CRD benchmark runs it (RepDistiller's `FT`, weight
 * 200), on a conv block of a CNN teacher and student (`[B, H, W, C]`, the same H and W):
 *
 * 1. **Paraphraser**, the first stage (the teacher's alone, before the student trains): a
 *    convolutional autoencoder trained to reconstruct the teacher's block (mean squared error).
 *    Its encoder, three 3×3 convolutions C_T → C_T → k·C_T → k·C_T, each followed by a leaky ReLU
 *    of slope 0.1 (rate k = 0.5), gives the teacher factor F_T; the decoder mirrors it back to C_T
 *    channels. Frozen afterwards.
 * 2. **Translator**, trained with the student: three 3×3 convolutions C_S → C_S → k·C_T → k·C_T
 *    with the same leaky ReLUs, from the student's block to the student factor F_S.
 * 3. **Loss**, as the benchmark computes it: each factor reduced to the map m(F) = the mean over
 *    channels of F², `[B, H·W]`, scaled to unit L2 norm per example; L = the mean over B·H·W of
 *    |m(F_S) − m(F_T)|. The paper's Eq. (3) takes the L1 norm of the difference of the whole
 *    normalised factors, ‖F_T/‖F_T‖₂ − F_S/‖F_S‖₂‖₁ (p = 1); the benchmark's weight, 200, is
 *    tuned for its map form, which is kept here.
 *
 * Departures from the benchmark: the translator has no batch normalisation (our models have
 * none; the benchmark's translator does, its paraphraser does not); the decoder's transposed
 * convolutions (3×3, stride 1, padding 1) are 3×3 "same" convolutions, the same maps with the
 * kernel flipped and its channels swapped, so the same model when trained from scratch; and the
 * paraphraser trains with AdamW for a given number of steps instead of SGD for 30 epochs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { conv2dSame } from "../models/ops.ts";
import { ParamBuilder, type Params } from "../models/params.ts";
import { checkBlockPairs, checkMaps } from "./block_maps.ts";
import { checkWidth } from "./fitnet_hint.ts";
import { type FirstStageOptions, trainFirstStage } from "./first_stage.ts";

/** The slope of the leaky ReLUs of the paraphraser and the translator (the benchmark's 0.1). */
export const FT_LEAK = 0.1;

/** The channels, rate and seed of a {@linkcode FactorTransfer}. */
export interface FactorTransferOptions {
  /** Channels of the student's block. */
  studentChannels: number;
  /** Channels of the teacher's block. */
  teacherChannels: number;
  /** The factors' channels as a fraction k of the teacher's, in (0, 1] (default 0.5). */
  rate?: number;
  /** Seed of the paraphraser's and the translator's initial weights. */
  seed: number;
}

/** Options of {@linkcode FactorTransfer.trainParaphraser}: its steps, learning rate, decay. */
export type ParaphraserTraining = FirstStageOptions;

/** The paraphraser's reconstruction error at its first and its last step of training. */
export interface ParaphraserFit {
  /** Mean squared error of the first batch, before any update. */
  initialLoss: number;
  /** Mean squared error of the last batch, before its update. */
  finalLoss: number;
}

/**
 * The factor map m(F) of the module doc: the mean over channels of F², one row per example
 * `[B, H·W]`, scaled to unit L2 norm (a zero map stays zero).
 */
export function factorMap(factor: tf.Tensor): tf.Tensor2D {
  checkMaps("factorMap", "factor", [factor]);
  return tf.tidy(() => {
    const [B, H, W] = factor.shape;
    const m = tf.mean(tf.square(factor), 3).reshape([B, H * W]);
    // √(Σm² + ε²) rather than max(‖m‖, ε): the same for any live map, and smooth at a dead one.
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(m), 1, true), 1e-24));
    return tf.div(m, norm) as tf.Tensor2D;
  });
}

/**
 * The factor transfer loss of the module doc, the mean over B·H·W of |m(F_S) − m(F_T)|, for
 * factors `[B, H, W, C]` of the same shape.
 */
export function factorTransferLoss(teacherFactor: tf.Tensor, studentFactor: tf.Tensor): tf.Scalar {
  checkBlockPairs("factorTransferLoss", [teacherFactor], [studentFactor]);
  if (teacherFactor.shape[3] !== studentFactor.shape[3]) {
    throw new Error(
      `factorTransferLoss: the two factors must have the same channels (the translator's output ` +
        `is the paraphraser's), got [${teacherFactor.shape}] and [${studentFactor.shape}]`,
    );
  }
  return tf.tidy(() =>
    tf.mean(tf.abs(tf.sub(factorMap(studentFactor), factorMap(teacherFactor)))) as tf.Scalar
  );
}

/** 3×3 conv layers `prefix<i>.w`, `.b` from each of `channels` to the next, weights as PyTorch's. */
function convStack(init: ParamBuilder, prefix: string, channels: number[]): void {
  for (let i = 0; i + 1 < channels.length; i++) {
    init.normal(
      `${prefix}${i}.w`,
      [3, 3, channels[i], channels[i + 1]],
      1 / Math.sqrt(27 * channels[i]),
    );
    init.fill(`${prefix}${i}.b`, [channels[i + 1]], 0);
  }
}

/** x through the layers `prefix<i>` of `params`: leakyRelu(conv₃ₓ₃(x) + b) each. */
function applyStack(params: Params, prefix: string, layers: number, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    let h = x;
    for (let i = 0; i < layers; i++) {
      const z = tf.add(
        conv2dSame(h, params[`${prefix}${i}.w`] as tf.Tensor4D),
        params[`${prefix}${i}.b`],
      );
      h = tf.leakyRelu(z, FT_LEAK) as tf.Tensor4D;
    }
    return h;
  });
}

/**
 * Factor transfer's paraphraser (`ft.paraphraser.enc<i>`, `ft.paraphraser.dec<i>`) and translator
 * (`ft.translator.<i>`); see the module doc. Train the paraphraser first
 * ({@link trainParaphraser}), then the student and the translator on {@link loss}.
 */
export class FactorTransfer {
  /** The paraphraser's variables: trained in the first stage, frozen in the student's. */
  readonly paraphraser: Params;
  /** The translator's variables, trained with the student. */
  readonly translator: Params;
  /** Channels of the two factors, ⌊k·C_T⌋ (at least 1). */
  readonly factorChannels: number;
  readonly #channels: [number, number];

  /** Weights with the variance of PyTorch's default conv init, N(0, 1/(3·9·C_in)); biases 0. */
  constructor(options: FactorTransferOptions) {
    const cs = checkWidth("FactorTransfer", "studentChannels", options.studentChannels);
    const ct = checkWidth("FactorTransfer", "teacherChannels", options.teacherChannels);
    const rate = options.rate ?? 0.5;
    if (!(rate > 0 && rate <= 1)) {
      throw new Error(
        `FactorTransfer: rate must be in (0, 1] (the factors' share of the teacher's channels), got ${rate}`,
      );
    }
    const k = Math.max(1, Math.floor(rate * ct));
    const paraphraser = new ParamBuilder(options.seed, "ft.paraphraser.");
    convStack(paraphraser, "enc", [ct, ct, k, k]);
    convStack(paraphraser, "dec", [k, k, ct, ct]);
    const translator = new ParamBuilder(options.seed, "ft.translator.");
    convStack(translator, "", [cs, cs, k, k]);
    this.paraphraser = paraphraser.params;
    this.translator = translator.params;
    this.factorChannels = k;
    this.#channels = [cs, ct];
  }

  #check(name: string, map: tf.Tensor, channels: number): void {
    checkMaps("FactorTransfer", name, [map]);
    if (map.shape[3] !== channels) {
      throw new Error(
        `FactorTransfer: ${name} must have ${channels} channels (options.${
          name === "studentMap" ? "studentChannels" : "teacherChannels"
        }), got [${map.shape}]`,
      );
    }
  }

  /** The teacher factor F_T `[B, H, W, k·C_T]`: the paraphraser's encoder on the teacher's block. */
  teacherFactor(teacherMap: tf.Tensor): tf.Tensor4D {
    this.#check("teacherMap", teacherMap, this.#channels[1]);
    return applyStack(this.paraphraser, "ft.paraphraser.enc", 3, teacherMap as tf.Tensor4D);
  }

  /** The paraphraser's reconstruction of the teacher's block (its decoder on F_T). */
  reconstruct(teacherMap: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() =>
      applyStack(this.paraphraser, "ft.paraphraser.dec", 3, this.teacherFactor(teacherMap))
    );
  }

  /** The paraphraser's loss: the mean squared error of its reconstruction of the teacher's block. */
  reconstructionLoss(teacherMap: tf.Tensor): tf.Scalar {
    return tf.tidy(() =>
      tf.mean(tf.square(tf.sub(this.reconstruct(teacherMap), teacherMap))) as tf.Scalar
    );
  }

  /** The student factor F_S `[B, H, W, k·C_T]`: the translator on the student's block. */
  studentFactor(studentMap: tf.Tensor): tf.Tensor4D {
    this.#check("studentMap", studentMap, this.#channels[0]);
    return applyStack(this.translator, "ft.translator.", 3, studentMap as tf.Tensor4D);
  }

  /**
   * The factor transfer loss between the teacher's and the student's block (the module doc's L).
   * The paraphraser stays as it is: trainers take gradients of the student's and the translator's
   * variables only (its variables are not trainable here: see `Objective.buffers`).
   */
  loss(teacherMap: tf.Tensor, studentMap: tf.Tensor): tf.Scalar {
    checkBlockPairs("FactorTransfer", [teacherMap], [studentMap]);
    return tf.tidy(() =>
      factorTransferLoss(
        this.teacherFactor(teacherMap),
        this.studentFactor(studentMap),
      )
    );
  }

  /**
   * The first stage: trains the paraphraser alone to reconstruct the teacher's blocks, batch
   * `step` being `teacherMaps(step)` (created inside the step's tidy, so freed with it), with
   * AdamW at a constant learning rate. Returns the reconstruction error of the first and the last
   * batch, read asynchronously (so it works on webgpu too).
   */
  async trainParaphraser(
    teacherMaps: (step: number) => tf.Tensor4D,
    options: ParaphraserTraining = {},
  ): Promise<ParaphraserFit> {
    const fit = await trainFirstStage({
      fn: "FactorTransfer.trainParaphraser",
      lossName: "the reconstruction error",
      params: this.paraphraser,
      loss: (step) => this.reconstructionLoss(teacherMaps(step)),
    }, options);
    return { initialLoss: fit.initialLoss, finalLoss: fit.finalLoss };
  }

  /** Frees the paraphraser and the translator. */
  dispose(): void {
    [...Object.values(this.paraphraser), ...Object.values(this.translator)].forEach((v) =>
      v.dispose()
    );
  }
}
