/**
 * The fast gradient sign method (Goodfellow, Shlens & Szegedy, "Explaining and Harnessing
 * Adversarial Examples", ICLR 2015): `x' = clip(x + ε·sign(∇ₓ CE(softmax(z(x)/T), y)), 0, 1)`.
 *
 * The attack temperature T shows where defensive distillation's robustness comes from (Carlini &
 * Wagner, "Defensive Distillation is Not Robust to Adversarial Examples", 2016): a network
 * distilled at temperature T and deployed at 1 has logits ~T times larger, its softmax saturates,
 * and ∇ₓ of the cross-entropy underflows to zero, so FGSM at T = 1 finds no direction (gradient
 * masking). Attacking softmax(z/T) restores the gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { imageTensors } from "../data/batches.ts";
import type { ImageSplit } from "../data/images.ts";
import type { ImageClassifier } from "../models/vision.ts";
import { sign } from "../models/ops.ts";

/** Adversarial images `[B, 28, 28, 1]` for images `x` with labels `y`. */
export function fgsm(
  model: ImageClassifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  epsilon: number,
  temperature = 1,
): tf.Tensor4D {
  if (!(epsilon >= 0)) throw new Error(`fgsm: epsilon must be ≥ 0, got ${epsilon}`);
  if (!(temperature > 0)) throw new Error(`fgsm: temperature must be > 0, got ${temperature}`);
  return tf.tidy(() => {
    return fgsmStep(x, sign(inputGradient(model, x, y, temperature)), epsilon) as tf.Tensor4D;
  });
}

/** x + ε·direction, clipped to the pixel range [0, 1]. */
function fgsmStep(x: tf.Tensor, direction: tf.Tensor, epsilon: number): tf.Tensor {
  return tf.clipByValue(x.add(direction.mul(epsilon)), 0, 1);
}

/** ∇ₓ of the mean cross-entropy of softmax(z(x)/T) against `y`. */
export function inputGradient(
  model: ImageClassifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  temperature = 1,
): tf.Tensor4D {
  return tf.tidy(() =>
    tf.grad((input: tf.Tensor) => {
      const logits = model.logits(input).div(temperature);
      const onehot = tf.oneHot(y, logits.shape[1]!);
      return tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)))).div(y.shape[0]);
    })(x) as tf.Tensor4D
  );
}

/**
 * Accuracy under FGSM for each ε, and the fraction of examples whose input gradient is exactly 0.
 * Each batch's gradient is computed once and serves every ε.
 */
export async function fgsmCurve(
  model: ImageClassifier,
  split: ImageSplit,
  epsilons: number[],
  options: { temperature?: number; batchSize?: number } = {},
): Promise<{ epsilon: number; accuracy: number; zeroGradient: number }[]> {
  const { temperature = 1, batchSize = 250 } = options;
  if (split.count === 0) throw new Error("fgsmCurve: the split is empty");
  const correct = new Array<number>(epsilons.length).fill(0);
  let zero = 0;
  for (let i = 0; i < split.count; i += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, split.count - i) }, (_, j) => i + j);
    const counts = tf.tidy(() => {
      const { x, y } = imageTensors(split, indices);
      const grad = inputGradient(model, x, y, temperature);
      const direction = sign(grad);
      const labels = y.cast("int32");
      const hits = epsilons.map((epsilon) =>
        model.logits(fgsmStep(x, direction, epsilon)).argMax(1).equal(labels).sum()
      );
      const zeroRows = grad.abs().reshape([indices.length, -1]).max(1).equal(0);
      return tf.stack([...hits, zeroRows.sum()]);
    });
    const values = await counts.data(); // asynchronous: works on webgpu too
    counts.dispose();
    epsilons.forEach((_, e) => correct[e] += values[e]);
    zero += values[epsilons.length];
  }
  return epsilons.map((epsilon, e) => ({
    epsilon,
    accuracy: correct[e] / split.count,
    zeroGradient: zero / split.count,
  }));
}
