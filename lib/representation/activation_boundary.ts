/**
 * Activation boundaries (Heo, Lee, Yun & Choi, AAAI 2019, "Knowledge Transfer via Distillation
 * of Activation Boundaries Formed by Hidden Neurons"), as the CRD benchmark runs it (RepDistiller's
 * `AB`): a first stage that trains the student's conv blocks alone so that each block's neurons
 * are active (> 0) where the teacher's are, then ordinary training on the labels.
 *
 * A block's hidden neurons are its outputs before the ReLU, `[B, H, W, C]` (here the max-pooled
 * pre-activations: pooling and ReLU commute, so their sign is the block output's activation). The
 * student's, through a 1×1-conv connector r_j to the teacher's C_T channels, s = r_j(pre_S), is
 * pushed to the teacher's side of the boundary, with a margin m (default 1), by the paper's
 * alternative squared hinge (Eq. 7, its differentiable stand-in for the activation transfer loss
 * of Eq. 4):
 *
 *   ℓ(s, t) = (s − m)² · 1[s ≤ m]   where the teacher's neuron is active (t > 0),
 *   ℓ(s, t) = (s + m)² · 1[s > −m]  where it is not (t ≤ 0);
 *
 * i.e. relu(m − s)² or relu(s + m)². L_j = Σ over the block's H·W·C_T neurons of ℓ, averaged over
 * the batch; the stage minimises L = (3/1000) Σ_j 2^(j−n+1) L_j over n blocks, the benchmark's
 * scale and its weights, which halve from the last block down.
 *
 * Departures from the benchmark: the connector has a bias and no batch normalisation (our models
 * have none); the stage trains with AdamW for a given number of steps instead of SGD for 30
 * epochs; it trains the conv blocks only (the benchmark's `get_feat_modules` also includes layers
 * the blocks' outputs do not depend on, which its loss leaves untouched but for weight decay).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { linear } from "../models/ops.ts";
import { ParamBuilder, type Params } from "../models/params.ts";
import { checkBlockPairs, checkChannels } from "./block_maps.ts";
import { checkStudentVariables, type FirstStageOptions, trainFirstStage } from "./first_stage.ts";

/** The channels, margin and seed of an {@linkcode ActivationBoundary}. */
export interface ActivationBoundaryOptions {
  /** Channels of each of the student's blocks. */
  studentChannels: number[];
  /** Channels of each of the teacher's blocks (as many blocks). */
  teacherChannels: number[];
  /** The margin m > 0 of the hinge (default 1, the benchmark's). */
  margin?: number;
  /** Seed of the connectors' initial weights. */
  seed: number;
}

/** Options of {@linkcode ActivationBoundary.trainStudentBlocks}: its steps, learning rate, decay. */
export type BoundaryTraining = FirstStageOptions;

/** The first stage's loss and boundary agreement at its first and its last step. */
export interface BoundaryFit {
  /** The AB loss of the first batch, before any update. */
  initialLoss: number;
  /** The AB loss of the last batch, before its update. */
  finalLoss: number;
  /** {@linkcode ActivationBoundary.agreement} on the first batch, before any update. */
  initialAgreement: number;
  /** {@linkcode ActivationBoundary.agreement} on the last batch, before its update. */
  finalAgreement: number;
}

/**
 * The benchmark's weight of each of `blocks` blocks, 2^(j − n + 1): 1 for the last block, halving
 * towards the first.
 */
export function activationBoundaryWeights(blocks: number): number[] {
  return Array.from({ length: blocks }, (_, j) => 2 ** (j - blocks + 1));
}

function checkMargin(fn: string, margin: number): number {
  if (!(typeof margin === "number" && margin > 0 && Number.isFinite(margin))) {
    throw new Error(`${fn}: margin must be a finite number > 0, got ${margin}`);
  }
  return margin;
}

/**
 * One block's L_j of the module doc: Σ over the neurons of relu(m − s)² where the teacher's are
 * active (t > 0) and relu(s + m)² where not, averaged over the batch; `teacherPre` and
 * `studentPre` (the student's through its connector) of the same shape `[B, H, W, C]`.
 */
export function activationBoundaryLoss(
  teacherPre: tf.Tensor,
  studentPre: tf.Tensor,
  margin = 1,
): tf.Scalar {
  checkBlockPairs("activationBoundaryLoss", [teacherPre], [studentPre]);
  checkMargin("activationBoundaryLoss", margin);
  if (teacherPre.shape[3] !== studentPre.shape[3]) {
    throw new Error(
      `activationBoundaryLoss: studentPre must have the teacher's channels (it is the student's ` +
        `block through its connector), got [${studentPre.shape}] and [${teacherPre.shape}]`,
    );
  }
  return tf.tidy(() => {
    const active = tf.greater(teacherPre, 0);
    const belowOn = tf.square(tf.relu(tf.sub(margin, studentPre)));
    const aboveOff = tf.square(tf.relu(tf.add(studentPre, margin)));
    return tf.div(tf.sum(tf.where(active, belowOn, aboveOff)), teacherPre.shape[0]) as tf.Scalar;
  });
}

/**
 * AB's connectors (1×1 convolutions, the same linear map at every position: `ab.connector<j>.w`
 * `[C_S, C_T]`, `.b` `[C_T]`), its loss over the blocks,
 * and its first stage, which trains the student's blocks with them; see the module doc.
 */
export class ActivationBoundary {
  /** The connectors' variables, trained in the first stage only. */
  readonly connectors: Params;
  /** The hinge's margin m. */
  readonly margin: number;
  readonly #studentChannels: number[];
  readonly #teacherChannels: number[];

  /** Kernels with the variance of PyTorch's default conv init, N(0, 1/(3·C_S)); biases 0. */
  constructor(options: ActivationBoundaryOptions) {
    const cs = checkChannels("ActivationBoundary", "studentChannels", options.studentChannels);
    const ct = checkChannels("ActivationBoundary", "teacherChannels", options.teacherChannels);
    if (cs.length !== ct.length) {
      throw new Error(
        `ActivationBoundary: studentChannels and teacherChannels must list as many blocks, got ` +
          `[${cs}] and [${ct}]`,
      );
    }
    this.margin = checkMargin("ActivationBoundary", options.margin ?? 1);
    const init = new ParamBuilder(options.seed, "ab.");
    cs.forEach((c, j) => {
      init.normal(`connector${j}.w`, [c, ct[j]], 1 / Math.sqrt(3 * c));
      init.fill(`connector${j}.b`, [ct[j]], 0);
    });
    this.connectors = init.params;
    this.#studentChannels = [...cs];
    this.#teacherChannels = [...ct];
  }

  #checkBlocks(teacherPre: tf.Tensor[], studentPre: tf.Tensor[]): void {
    checkBlockPairs("ActivationBoundary", teacherPre, studentPre);
    const n = this.#studentChannels.length;
    const channels = (maps: tf.Tensor[]) => maps.map((m) => m.shape[3]).join(", ");
    if (
      studentPre.length !== n ||
      studentPre.some((m, j) => m.shape[3] !== this.#studentChannels[j]) ||
      teacherPre.some((m, j) => m.shape[3] !== this.#teacherChannels[j])
    ) {
      throw new Error(
        `ActivationBoundary: the blocks must have the channels of options.studentChannels ` +
          `[${this.#studentChannels}] and options.teacherChannels [${this.#teacherChannels}], ` +
          `got [${channels(studentPre)}] and [${channels(teacherPre)}]`,
      );
    }
  }

  /** The student's block j before its ReLU through connector j: `[B, H, W, C_T]`. */
  connect(j: number, studentPre: tf.Tensor): tf.Tensor4D {
    return linear(
      studentPre,
      this.connectors[`ab.connector${j}.w`] as tf.Tensor2D,
      this.connectors[`ab.connector${j}.b`] as tf.Tensor1D,
    ) as tf.Tensor4D;
  }

  /** L of the module doc, over the blocks' pre-activations (the student's before its connectors). */
  loss(teacherPre: tf.Tensor[], studentPre: tf.Tensor[]): tf.Scalar {
    this.#checkBlocks(teacherPre, studentPre);
    const weights = activationBoundaryWeights(studentPre.length);
    return tf.tidy(() =>
      tf.mul(
        3 / 1000,
        tf.addN(studentPre.map((s, j) =>
          tf.mul(weights[j], activationBoundaryLoss(teacherPre[j], this.connect(j, s), this.margin))
        )),
      ) as tf.Scalar
    );
  }

  /**
   * The fraction of the teacher's neurons, over all blocks, on whose side of the activation
   * boundary the student's (through its connectors) lies: both > 0 or both ≤ 0 (the paper's
   * measure of transfer, what Eq. 4 counts).
   */
  agreement(teacherPre: tf.Tensor[], studentPre: tf.Tensor[]): tf.Scalar {
    this.#checkBlocks(teacherPre, studentPre);
    return tf.tidy(() => {
      const same = studentPre.map((s, j) =>
        tf.sum(
          tf.cast(
            tf.equal(tf.greater(this.connect(j, s), 0), tf.greater(teacherPre[j], 0)),
            "float32",
          ),
        )
      );
      const neurons = teacherPre.reduce((a, t) => a + t.size, 0);
      return tf.div(tf.addN(same), neurons) as tf.Scalar;
    });
  }

  /**
   * The first stage: trains `studentVariables` (the student's conv blocks) and the connectors on
   * {@link loss}, batch `step` being `teacherPre(step)` and `studentPre(step)` (the student's,
   * computed with its current variables inside the step's tidy, so freed with it), with AdamW at
   * a constant learning rate. Returns the loss and agreement of the first and the last batch,
   * read asynchronously (so it works on webgpu too).
   */
  async trainStudentBlocks(
    teacherPre: (step: number) => tf.Tensor4D[],
    studentPre: (step: number) => tf.Tensor4D[],
    studentVariables: Params,
    options: BoundaryTraining = {},
  ): Promise<BoundaryFit> {
    const fn = "ActivationBoundary.trainStudentBlocks";
    checkStudentVariables(fn, studentVariables);
    const fit = await trainFirstStage({
      fn,
      lossName: "the AB loss",
      params: { ...studentVariables, ...this.connectors },
      loss: (step) => this.loss(teacherPre(step), studentPre(step)),
      probe: (step) => this.agreement(teacherPre(step), studentPre(step)),
    }, options);
    return {
      initialLoss: fit.initialLoss,
      finalLoss: fit.finalLoss,
      initialAgreement: fit.initialProbe,
      finalAgreement: fit.finalProbe,
    };
  }

  /** Frees the connectors. */
  dispose(): void {
    Object.values(this.connectors).forEach((v) => v.dispose());
  }
}
