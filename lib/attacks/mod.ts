/**
 * Adversarial attacks for robustness experiments (defensive distillation).
 *
 * @example FGSM, and the gradient masking that made defensive distillation look robust
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { fgsm, inputGradient } from "./mod.ts";
 * import { createMLP } from "../models/mod.ts";
 *
 * const model = createMLP({ hidden: [16], seed: 3 });
 * const x = tf.fill([2, 28, 28, 1], 0.5) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * // Every pixel moves by exactly ε, against the gradient's sign.
 * const moved = new Set(await fgsm(model, x, y, 0.1).data());
 * assert.deepEqual([...moved].map((v) => v.toFixed(4)).sort(), ["0.4000", "0.6000"]);
 *
 * // Logits 1000× larger (a network distilled at T = 1000, deployed at T = 1): the softmax of a
 * // correctly classified image saturates and ∇ₓ is exactly 0, so FGSM finds no direction...
 * for (const [name, v] of Object.entries(model.params)) {
 *   if (name.startsWith("head")) v.assign(v.mul(1000));
 * }
 * const predicted = model.logits(x).argMax(1) as tf.Tensor1D;
 * assert.equal((await inputGradient(model, x, predicted).abs().max().data())[0], 0);
 * assert.deepEqual(await fgsm(model, x, predicted, 0.1).data(), await x.data());
 * // ...until the attack divides the logits by T (Carlini & Wagner, 2016).
 * assert.ok((await inputGradient(model, x, predicted, 1000).abs().max().data())[0] > 0);
 * ```
 *
 * @module
 */
export * from "./fgsm.ts";
