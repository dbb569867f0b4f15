/**
 * FitNets' hint (Romero, Ballas, Kahou, Chassang, Gatta & Bengio, ICLR 2015, "FitNets: Hints for
 * Thin Deep Nets", Eq. 3): a learned regressor r maps the student's guided layer onto the
 * teacher's hint layer, and the student (with r) minimises ½‖u_T(x) − r(v_S(x))‖². Here both
 * layers are feature vectors and r is affine, r(v) = v·W + b, trained with the student; the loss
 * is the mean squared error over the batch's B·d_T entries, as the CRD benchmark's `HintLoss`
 * (an `nn.MSELoss`), whose weight (100) assumes that scale. FitNets' first stage (the hint alone,
 * before the KD stage) is not done, as the benchmark does not: the hint is one term of the
 * student's single objective.
 *
 * {@linkcode BlockFitNetHint} is the hint as the paper and the benchmark place it, on a middle
 * block of a CNN: the guided block's output `[B, H, W, C_S]` regressed onto the hint block's
 * `[B, H, W, C_T]` by a 3×3 convolution and a ReLU (the paper's convolutional regressor; the
 * benchmark's `ConvReg` for blocks of the same size, whose batch normalisation is left out here).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { conv2dSame } from "../models/ops.ts";
import { ParamBuilder, type Params } from "../models/params.ts";
import { checkBlockPairs } from "./block_maps.ts";
import { checkFeaturePair } from "./checks.ts";

/** The widths and seed of a {@linkcode FitNetHint}. */
export interface FitNetHintOptions {
  /** Width of the student's features. */
  studentDim: number;
  /** Width of the teacher's features. */
  teacherDim: number;
  /** Seed of the regressor's initial weights. */
  seed: number;
}

/** Throws unless `value` is a positive integer (a feature width). */
export function checkWidth(fn: string, name: string, value: unknown): number {
  if (!(Number.isInteger(value) && (value as number) >= 1)) {
    throw new Error(`${fn}: ${name} must be a positive integer (a feature width), got ${value}`);
  }
  return value as number;
}

/** FitNets' hint with its regressor `hint.w` `[d_S, d_T]` and `hint.b` `[d_T]`; see the module doc. */
export class FitNetHint {
  /** The regressor's variables (trained with the student). */
  readonly params: Params;
  readonly #dims: [number, number];

  /** A regressor initialised as a PyTorch `nn.Linear` would be in scale: N(0, 1/d_S), bias 0. */
  constructor(options: FitNetHintOptions) {
    const ds = checkWidth("FitNetHint", "studentDim", options.studentDim);
    const dt = checkWidth("FitNetHint", "teacherDim", options.teacherDim);
    const init = new ParamBuilder(options.seed, "hint.");
    init.normal("w", [ds, dt], 1 / Math.sqrt(ds));
    init.fill("b", [dt], 0);
    this.params = init.params;
    this.#dims = [ds, dt];
  }

  /** The mean squared error between the teacher's features and the regressed student's. */
  loss(teacherFeatures: tf.Tensor, studentFeatures: tf.Tensor): tf.Scalar {
    checkFeaturePair("FitNetHint", teacherFeatures, studentFeatures, 1);
    const [ds, dt] = this.#dims;
    if (studentFeatures.shape[1] !== ds || teacherFeatures.shape[1] !== dt) {
      throw new Error(
        `FitNetHint: the regressor maps ${ds} student features to ${dt} teacher features, got ` +
          `[${studentFeatures.shape}] and [${teacherFeatures.shape}]`,
      );
    }
    return tf.tidy(() => {
      const regressed = tf.add(
        tf.matMul(studentFeatures as tf.Tensor2D, this.params["hint.w"] as tf.Tensor2D),
        this.params["hint.b"],
      );
      return tf.mean(tf.square(tf.sub(regressed, teacherFeatures))) as tf.Scalar;
    });
  }

  /** Frees the regressor. */
  dispose(): void {
    Object.values(this.params).forEach((v) => v.dispose());
  }
}

/** The channels and seed of a {@linkcode BlockFitNetHint}. */
export interface BlockFitNetHintOptions {
  /** Channels of the student's guided block. */
  studentChannels: number;
  /** Channels of the teacher's hint block. */
  teacherChannels: number;
  /** Seed of the regressor's initial weights. */
  seed: number;
}

/**
 * FitNets' hint between a CNN teacher's and student's blocks of the same spatial size, with its
 * convolutional regressor `hint.conv.w` `[3, 3, C_S, C_T]` and `hint.conv.b` `[C_T]`: the mean over
 * B·H·W·C_T of (relu(conv₃ₓ₃(s) + b) − t)²; see the module doc.
 */
export class BlockFitNetHint {
  /** The regressor's variables (trained with the student). */
  readonly params: Params;
  readonly #channels: [number, number];

  /** Weights with the variance of PyTorch's default conv init, N(0, 1/(3·9·C_S)); bias 0. */
  constructor(options: BlockFitNetHintOptions) {
    const cs = checkWidth("BlockFitNetHint", "studentChannels", options.studentChannels);
    const ct = checkWidth("BlockFitNetHint", "teacherChannels", options.teacherChannels);
    const init = new ParamBuilder(options.seed, "hint.conv.");
    init.normal("w", [3, 3, cs, ct], 1 / Math.sqrt(27 * cs));
    init.fill("b", [ct], 0);
    this.params = init.params;
    this.#channels = [cs, ct];
  }

  /** The regressed student block relu(conv₃ₓ₃(s) + b), `[B, H, W, C_T]`. */
  regress(studentMap: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      tf.relu(
        tf.add(
          conv2dSame(studentMap, this.params["hint.conv.w"] as tf.Tensor4D),
          this.params["hint.conv.b"],
        ),
      ) as tf.Tensor4D
    );
  }

  /** The mean squared error between the teacher's hint block and the regressed student block. */
  loss(teacherMap: tf.Tensor, studentMap: tf.Tensor): tf.Scalar {
    checkBlockPairs("BlockFitNetHint", [teacherMap], [studentMap]);
    const [cs, ct] = this.#channels;
    if (studentMap.shape[3] !== cs || teacherMap.shape[3] !== ct) {
      throw new Error(
        `BlockFitNetHint: the regressor maps ${cs} student channels to ${ct} teacher channels, ` +
          `got [${studentMap.shape}] and [${teacherMap.shape}]`,
      );
    }
    return tf.tidy(() =>
      tf.mean(tf.square(tf.sub(this.regress(studentMap as tf.Tensor4D), teacherMap))) as tf.Scalar
    );
  }

  /** Frees the regressor. */
  dispose(): void {
    Object.values(this.params).forEach((v) => v.dispose());
  }
}
