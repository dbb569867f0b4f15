/**
 * Per-key scalars recorded over one optimiser step (one per micro-batch) and averaged when the
 * step ends, all on the device: what `AdaLoss` folds into its running averages and what
 * {@link MultiTeacherHeads} logs per teacher, without a readback per term.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { stopGradient } from "../losses/log_mix.ts";

/** Detached per-key scalars of the current step; see the module doc. */
export class StepMeans {
  #values: Record<string, tf.Scalar[]> = {};

  /** Keeps a detached copy of `value` under `key` (the caller still owns `value`). */
  record(key: string, value: tf.Scalar): void {
    const copy = tf.keep(tf.tidy(() => tf.clone(stopGradient(value)) as tf.Scalar));
    (this.#values[key] ??= []).push(copy);
  }

  /**
   * Each key's mean over the values recorded since the last call (new scalars, owned by the
   * caller), and forgets the values.
   */
  take(): Record<string, tf.Scalar> {
    const values = this.#values;
    this.#values = {};
    const means: Record<string, tf.Scalar> = {};
    for (const [key, list] of Object.entries(values)) {
      means[key] = tf.tidy(() => tf.mean(tf.stack(list)) as tf.Scalar);
      tf.dispose(list);
    }
    return means;
  }

  /** Frees the recorded values. */
  dispose(): void {
    for (const list of Object.values(this.#values)) tf.dispose(list);
    this.#values = {};
  }
}
