/**
 * Curriculum temperature KD (Li et al., AAAI 2023, "Curriculum Temperature for Knowledge
 * Distillation", Eqs. 5–9): a learnable temperature T = t_start + t_end·σ(θ) (θ initialised to
 * 1 as in the official code, giving T ≈ 15.6 at t_start 1, t_end 20), trained by the same optimiser through a gradient-reversal layer whose factor λ goes
 * from 0 to −1 over the first 10 epochs by a cosine schedule, so T is pushed to *maximise* the KD
 * loss with growing strength. Loss: w_ce·CE + w_kd·T²·KL(p_T ‖ q_T), defaults 0.1 / 0.9.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues } from "../deferred_checks.ts";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { type LossOptions, reduceRows, toRows } from "./validate.ts";

/** Identity forward; backward multiplies the gradient by `lambda` (gradient reversal when < 0). */
export function gradientReversal(x: tf.Tensor, lambda: number): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    return { value: input.clone(), gradFunc: (dy: tf.Tensor) => tf.mul(dy, lambda) };
  });
  return op(x);
}

/** CTKD's cosine schedule of λ: from 0 (epoch 0) to −1 at `decayEpochs`, then −1. */
export function ctkdLambda(epoch: number, decayEpochs = 10): number {
  if (!(epoch >= 0)) throw new Error(`ctkdLambda: epoch must be ≥ 0, got ${epoch}`);
  if (epoch >= decayEpochs) return -1;
  return (Math.cos(epoch * Math.PI / decayEpochs) + 1) / 2 - 1;
}

/**
 * CTKD's temperature for a value of θ, on the host: T = tStart + tEnd·σ(θ) (Li et al. 2023,
 * Eq. 9); e.g. to plot the `ctkd_theta` a training run logs at each step as a temperature.
 */
export function ctkdTemperatureOf(theta: number, tStart = 1, tEnd = 20): number {
  if (!Number.isFinite(theta)) {
    throw new Error(`ctkdTemperatureOf: theta must be finite, got ${theta}`);
  }
  return tStart + tEnd / (1 + Math.exp(-theta));
}

/** The learnable global temperature of CTKD. */
export class CTKDTemperature {
  /** The raw parameter θ (train it with the student's optimiser). */
  readonly theta: tf.Variable;
  /** T = tStart + tEnd·σ(θ), with θ starting at `init`. */
  constructor(readonly tStart = 1, readonly tEnd = 20, init = 1) {
    this.theta = tf.tidy(() =>
      tf.variable(tf.scalar(init), true, `ctkd_theta_${Date.now().toString(36)}`)
    );
  }
  /** T = tStart + tEnd·σ(GRL_λ(θ)) as a differentiable scalar. */
  temperature(lambda: number): tf.Scalar {
    return tf.tidy(() =>
      tf.add(
        this.tStart,
        tf.mul(this.tEnd, tf.sigmoid(gradientReversal(this.theta, lambda))),
      ) as tf.Scalar
    );
  }
  /** Current T as a number (a synchronous read: cpu and wasm; on webgpu read `theta` with data()). */
  value(): number {
    return ctkdTemperatureOf(this.theta.dataSync()[0], this.tStart, this.tEnd);
  }
  /** Frees θ. */
  dispose(): void {
    this.theta.dispose();
  }
}

/** Options of {@linkcode ctkd}. */
export interface CTKDOptions extends Omit<LossOptions, "temperature"> {
  /** The (differentiable) temperature, e.g. `CTKDTemperature.temperature(λ)`. */
  temperature: tf.Scalar | number;
  /** Class ids [N], for the hard-label cross-entropy term (needed when ceWeight ≠ 0). */
  labels?: tf.Tensor | number[];
  /** Cross-entropy weight γ (default 0.1). */
  ceWeight?: number;
  /** KD weight α (default 0.9). */
  kdWeight?: number;
}

/** CTKD loss with a tensor temperature (gradient flows to it, and T² carries gradient too). */
export function ctkd(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: CTKDOptions,
): tf.Scalar {
  const { ceWeight = 0.1, kdWeight = 0.9 } = options;
  return tf.tidy(() => {
    const rows = toRows("ctkd", teacherLogits, studentLogits, {
      mask: options.mask,
      validate: options.validate,
    });
    const T = typeof options.temperature === "number"
      ? tf.scalar(options.temperature)
      : options.temperature;
    checkValues(tf.clone(T), ([t]) => {
      if (!(t > 0) || !Number.isFinite(t)) return `ctkd: temperature must be > 0, got ${t}`;
    });
    const lp = tf.logSoftmax(tf.div(rows.teacher, T));
    const lq = tf.logSoftmax(tf.div(rows.student, T));
    const kl = tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), 1);
    let perRow = tf.mul(tf.mul(kdWeight, tf.square(T)), kl);
    if (ceWeight !== 0) {
      const y = checkLabels("ctkd", options.labels, rows.student.shape[0], rows.vocab);
      perRow = tf.add(perRow, tf.mul(ceWeight, crossEntropyRows(rows.student, y)));
    }
    return reduceRows(perRow as tf.Tensor1D, rows, options.reduction) as tf.Scalar;
  });
}
