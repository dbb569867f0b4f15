/**
 * Training: AdamW, learning-rate schedules, gradient clipping, the loop with exact resume,
 * tasks for language models (supervised, distilled, on-policy: GKD, on adaptive off-policy
 * outputs: DistiLLM, by policy gradient on teacher-mixed rollouts with a pre-training loss:
 * MiniLLM, on sequences sampled from the teacher and the student: SeqKD, f-distill, or on the
 * teacher's cached sparse targets: Top-K and Random-Sampling KD) and
 * classifiers, evaluation (with ROUGE-L of generated text), and the metrics sink interface.
 *
 * @example A task of your own, its metrics, and an exact resume
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { constantLr, MemorySink, train, type TrainTask } from "./mod.ts";
 *
 * // Least squares towards w = (2, −1). Batch k depends on k alone, so a run can stop and resume.
 * const task = (w: tf.Variable): TrainTask => ({
 *   params: { w },
 *   batch: (k) => {
 *     const x = tf.tensor2d([[1, k % 3], [k % 2, 1]]);
 *     return { x, y: tf.matMul(x, tf.tensor2d([[2], [-1]])) };
 *   },
 *   loss: ({ x, y }) => tf.losses.meanSquaredError(y!, tf.matMul(x!, w.reshape([2, 1]))),
 * });
 * const options = { steps: 40, schedule: constantLr(0.05), clipNorm: 1 };
 *
 * const straight = tf.variable(tf.zeros([2]));
 * const sink = new MemorySink(); // a run's folder (`openRun`) writes the same rows as parquet
 * const result = await train({ task: task(straight), sink, ...options });
 * // Step 1 at w = 0: x = I, so the loss is (2² + 1²) / 2 and the gradient −y = (−2, 1).
 * assert.equal(sink.rows[0].loss, 2.5);
 * assert.ok(Math.abs((sink.rows[0].gradNorm as number) - Math.sqrt(5)) < 1e-6);
 * assert.ok(result.finalLoss < 2.5 / 10);
 *
 * // Stopped after 15 steps, then resumed from its checkpoint: the same weights, bit for bit.
 * const dir = await Deno.makeTempDir();
 * const resumed = tf.variable(tf.zeros([2]));
 * await train({ task: task(resumed), ...options, steps: 15, checkpoint: { dir, every: 5 } });
 * const again = tf.variable(tf.zeros([2]));
 * const rest = await train({ task: task(again), ...options, checkpoint: { dir, every: 5 } });
 * assert.equal(rest.resumedFrom, 15);
 * assert.deepEqual(await again.data(), await straight.data());
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./adamw.ts";
export * from "./schedule.ts";
export * from "./clip.ts";
export * from "./sink.ts";
export * from "./checkpoint.ts";
export * from "./trainer.ts";
export * from "./tasks.ts";
export * from "./on_policy.ts";
export * from "./adaptive_off_policy.ts";
export * from "./minillm_rollout.ts";
export * from "./sequence_samples.ts";
export * from "./pretraining.ts";
export * from "./teacher_targets.ts";
export * from "./calibration.ts";
export * from "./evaluate.ts";
export * from "./rouge.ts";
