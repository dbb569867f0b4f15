/**
 * TAID: Temporally Adaptive Interpolated Distillation (Shing et al., ICLR 2025): the loss and
 * the adaptive schedule of its interpolation parameter t.
 *
 * @example The loss interpolates from the student itself (t = 0) to the teacher (t = 1)
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { TAID, taidLoss } from "./mod.ts";
 *
 * const teacher = tf.tensor2d([[0, 2, -0.5, 0]]);
 * const student = tf.tensor2d([[1, 0, -1, 0.5]]);
 * const kl = async (t: number) => (await taidLoss(teacher, student, t).data())[0];
 * assert.ok(Math.abs(await kl(0)) < 1e-6); // the target is the student's own distribution
 * assert.ok(Math.abs(await kl(0.4) - 0.129716) < 1e-5); // KL(p_t ‖ q_S), computed in float64
 *
 * // t moves by TAID's rule (§3.2, Algorithm 1): never below the linear floor, faster while the
 * // loss falls. A large α makes the adaptive part visible in four steps.
 * const taid = new TAID({ totalSteps: 100, tStart: 0.4, alpha: 0.05 });
 * for (const loss of [3, 2.5, 2.2, 2.1]) taid.update(loss);
 * assert.ok(Math.abs(taid.t - 0.44393993277813) < 1e-12);
 * assert.ok(taid.t > taid.linearT(3)); // the floor after 3 steps: 0.418
 * ```
 *
 * @module
 */
export * from "./taid_loss.ts";
export * from "./taid.ts";
export * from "./device_taid.ts";
