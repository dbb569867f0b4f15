/**
 * Variational information distillation (Ahn, Hu, Damianou, Lawrence & Dai, CVPR 2019, "Variational
 * Information Distillation for Knowledge Transfer", VID): maximise a variational lower bound on
 * the mutual information between the teacher's and the student's representations, which amounts to
 * minimising the negative log-likelihood of the teacher's features t under a Gaussian whose mean
 * μ(s) a regressor predicts from the student's features s and whose variance σ²_n is learned per
 * teacher dimension n, independent of the input (Eq. 2–4):
 *
 *   −log q(t | s) = Σ_n [ log σ_n + (t_n − μ_n(s))² / (2σ²_n) ] + const,  σ²_n = softplus(α_n) + ε.
 *
 * Where the teacher's features are hard to predict the variance grows and their weight falls, so
 * the student is not forced to copy what it cannot. As in the paper's code (and the CRD
 * benchmark's `VIDLoss`, weight 1): μ is three bias-free layers d_S → d_T → d_T → d_T with ReLU
 * between them (the benchmark's 1×1 convolutions, here on feature vectors), σ² starts at 5
 * (ε = 1e-5), and the loss is the mean over the batch's B·d_T entries of ½((t − μ)²/σ² + log σ²).
 * The regressor and α train with the student; the loss can be negative once σ² < 1.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ParamBuilder, type Params } from "../models/params.ts";
import { checkFeaturePair } from "./checks.ts";
import { checkWidth } from "./fitnet_hint.ts";
import { checkBlockPairs } from "./block_maps.ts";

/** The widths, seed and initial variance of a {@linkcode VariationalInformation}. */
export interface VariationalInformationOptions {
  /** Width of the student's features. */
  studentDim: number;
  /** Width of the teacher's features (and of the regressor's hidden layers). */
  teacherDim: number;
  /** Seed of the regressor's initial weights. */
  seed: number;
  /** σ² of every teacher dimension at the start, > ε; default 5 (the paper's code). */
  initialVariance?: number;
  /** The prefix of the variables' names; default `vid.`. */
  prefix?: string;
}

/** The variance floor ε added to softplus(α). */
export const VID_EPSILON = 1e-5;

/**
 * VID's Gaussian likelihood of the teacher's features given the student's, with its regressor
 * `vid.w1` `[d_S, d_T]`, `vid.w2`, `vid.w3` `[d_T, d_T]` and log-variance parameters `vid.alpha`
 * `[d_T]`; see the module doc.
 */
export class VariationalInformation {
  /** The regressor's and the variances' variables (trained with the student). */
  readonly params: Params;
  readonly #dims: [number, number];
  readonly #prefix: string;

  /**
   * Weights with the variance of PyTorch's default convolution init, U(±1/√fan_in), drawn
   * normal: N(0, 1/(3·fan_in)); α with softplus(α) + ε = `initialVariance`.
   */
  constructor(options: VariationalInformationOptions) {
    const fn = "VariationalInformation";
    const ds = checkWidth(fn, "studentDim", options.studentDim);
    const dt = checkWidth(fn, "teacherDim", options.teacherDim);
    const variance = options.initialVariance ?? 5;
    if (!(typeof variance === "number" && Number.isFinite(variance) && variance > VID_EPSILON)) {
      throw new Error(
        `${fn}: initialVariance must be a finite number > ${VID_EPSILON}, got ${variance}`,
      );
    }
    const prefix = options.prefix ?? "vid.";
    const init = new ParamBuilder(options.seed, prefix);
    init.normal("w1", [ds, dt], 1 / Math.sqrt(3 * ds));
    init.normal("w2", [dt, dt], 1 / Math.sqrt(3 * dt));
    init.normal("w3", [dt, dt], 1 / Math.sqrt(3 * dt));
    // softplus⁻¹(v − ε) = log(e^{v−ε} − 1), written so that large v does not overflow.
    const target = variance - VID_EPSILON;
    init.fill("alpha", [dt], target + Math.log(-Math.expm1(-target)));
    this.params = init.params;
    this.#dims = [ds, dt];
    this.#prefix = prefix;
  }

  /** The regressor's predicted mean μ(s) `[B, d_T]` of the teacher's features. */
  mean(studentFeatures: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const w = (name: string) => this.params[this.#prefix + name] as tf.Tensor2D;
      const h1 = tf.relu(tf.matMul(studentFeatures, w("w1")));
      const h2 = tf.relu(tf.matMul(h1, w("w2")));
      return tf.matMul(h2, w("w3"));
    });
  }

  /** The learned variances σ² `[d_T]` = softplus(α) + ε. */
  variance(): tf.Tensor1D {
    return tf.tidy(() => tf.add(tf.softplus(this.params[this.#prefix + "alpha"]), VID_EPSILON));
  }

  /**
   * The mean over the batch's B·d_T entries of ½((t − μ(s))²/σ² + log σ²), the negative
   * log-likelihood per entry without its constant ½·log 2π.
   */
  loss(teacherFeatures: tf.Tensor, studentFeatures: tf.Tensor): tf.Scalar {
    checkFeaturePair("VariationalInformation", teacherFeatures, studentFeatures, 1);
    const [ds, dt] = this.#dims;
    if (studentFeatures.shape[1] !== ds || teacherFeatures.shape[1] !== dt) {
      throw new Error(
        `VariationalInformation: the regressor maps ${ds} student features to ${dt} teacher ` +
          `features, got [${studentFeatures.shape}] and [${teacherFeatures.shape}]`,
      );
    }
    return tf.tidy(() => {
      const variance = this.variance();
      const error = tf.square(tf.sub(teacherFeatures, this.mean(studentFeatures as tf.Tensor2D)));
      return tf.mul(0.5, tf.mean(tf.add(tf.div(error, variance), tf.log(variance)))) as tf.Scalar;
    });
  }

  /** Frees the regressor and the variances. */
  dispose(): void {
    Object.values(this.params).forEach((v) => v.dispose());
  }
}

/** The channels, seed and initial variance of a {@linkcode BlockVariationalInformation}. */
export interface BlockVariationalInformationOptions {
  /** The student's channels at each paired block. */
  studentChannels: number[];
  /** The teacher's channels at each paired block (and its regressor's hidden widths). */
  teacherChannels: number[];
  /** Seed of the regressors' initial weights. */
  seed: number;
  /** σ² of every teacher channel at the start, > ε; default 5. */
  initialVariance?: number;
}

/**
 * VID on a CNN's intermediate blocks, as the paper's VID-I and the CRD benchmark run it (every
 * middle block, weight 1): at block j, a {@linkcode VariationalInformation} whose regressor is
 * three 1×1 convolutions C_S → C_T → C_T → C_T (the same linear maps at every position) and whose
 * variances are per teacher channel; the loss is Σ_j of block j's mean over B·H·W·C_T entries.
 * Variables are named `vid<j>.w1`, …, `vid<j>.alpha`.
 */
export class BlockVariationalInformation {
  /** Every block's regressor and variances (trained with the student). */
  readonly params: Params;
  readonly #blocks: VariationalInformation[];

  /** One regressor per block pair, seeded by `seed` and its variables' names. */
  constructor(options: BlockVariationalInformationOptions) {
    const { studentChannels, teacherChannels } = options;
    if (
      !Array.isArray(studentChannels) || !Array.isArray(teacherChannels) ||
      studentChannels.length === 0 || studentChannels.length !== teacherChannels.length
    ) {
      throw new Error(
        `BlockVariationalInformation: studentChannels and teacherChannels must list the ` +
          `channels of the same non-empty number of blocks, got ${
            JSON.stringify(studentChannels)
          } and ${JSON.stringify(teacherChannels)}`,
      );
    }
    this.#blocks = studentChannels.map((cs, j) =>
      new VariationalInformation({
        studentDim: cs,
        teacherDim: teacherChannels[j],
        seed: options.seed,
        initialVariance: options.initialVariance,
        prefix: `vid${j}.`,
      })
    );
    this.params = Object.assign({}, ...this.#blocks.map((b) => b.params));
  }

  /**
   * Σ_j VID at block j between the teacher's output `[B, H, W, C_T]` (frozen) and the student's
   * `[B, H, W, C_S]`, their positions as rows.
   */
  loss(teacherMaps: tf.Tensor[], studentMaps: tf.Tensor[]): tf.Scalar {
    checkBlockPairs("BlockVariationalInformation", teacherMaps, studentMaps);
    if (studentMaps.length !== this.#blocks.length) {
      throw new Error(
        `BlockVariationalInformation: built for ${this.#blocks.length} blocks, got ` +
          `${studentMaps.length}`,
      );
    }
    return tf.tidy(() =>
      tf.addN(this.#blocks.map((block, j) => {
        const positions = (m: tf.Tensor) => m.reshape([-1, m.shape[3]!]) as tf.Tensor2D;
        return block.loss(positions(teacherMaps[j]), positions(studentMaps[j]));
      })) as tf.Scalar
    );
  }

  /** Frees every block's regressor and variances. */
  dispose(): void {
    this.#blocks.forEach((b) => b.dispose());
  }
}
