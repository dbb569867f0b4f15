/**
 * AdaLoss (Hu, Bisk, Dhillon & Han, "Learning Anytime Predictions in Neural Networks via Adaptive
 * Loss Balancing", AAAI 2019), as the PHI-S paper uses it to balance teachers (App. A.8.1): each
 * term is divided by a running average of its own value, so every term is about one.
 *
 * The paper states neither the averaging rate nor whether the denominator carries gradient; here
 * it is an exponential moving average with decay 0.99 (bias-corrected, so the first step divides
 * by the first value), held on the host and therefore constant for the gradient. The average is
 * updated once per optimiser step ({@link AdaLoss.observe}) and is part of checkpoints.
 *
 * On backends without synchronous reads (webgpu) the values are kept as tensors and read in
 * `observe`, which then returns a promise (the trainer awaits it); before the first step the
 * divisor is the term itself, detached.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { syncReadsAvailable } from "../deferred_checks.ts";
import { stopGradient } from "../losses/log_mix.ts";

/** JSON state of {@link AdaLoss}. */
export interface AdaLossState {
  steps: number;
  /** Un-corrected moving averages by term. */
  averages: Record<string, number>;
}

/** Running-average loss balancing; see the module doc. */
export class AdaLoss {
  readonly decay: number;
  #steps = 0;
  #averages: Record<string, number> = {};
  #pending: Record<string, number[]> = {};
  #pendingTensors: Record<string, tf.Scalar[]> = {};

  constructor(decay = 0.99) {
    if (!(decay >= 0 && decay < 1)) {
      throw new Error(`AdaLoss: decay must be in [0, 1), got ${decay}`);
    }
    this.decay = decay;
  }

  /** The bias-corrected average of a term (undefined before its first observed step). */
  average(key: string): number | undefined {
    const raw = this.#averages[key];
    return raw === undefined ? undefined : raw / (1 - this.decay ** this.#steps);
  }

  /**
   * `loss / average(key)` (on the tape; the divisor is a constant). Before the first step the
   * divisor is the current value itself. Records the value for {@link observe}.
   */
  scale(key: string, loss: tf.Scalar): tf.Scalar {
    if (!syncReadsAvailable()) {
      (this.#pendingTensors[key] ??= []).push(tf.keep(tf.clone(loss)));
      const average = this.average(key);
      if (average !== undefined && !(average > 0)) {
        throw new Error(`AdaLoss: term "${key}" has non-positive running average ${average}`);
      }
      return tf.div(loss, average ?? stopGradient(loss)) as tf.Scalar;
    }
    const value = loss.dataSync()[0];
    (this.#pending[key] ??= []).push(value);
    const divisor = this.average(key) ?? value;
    if (!(divisor > 0)) {
      throw new Error(`AdaLoss: term "${key}" has non-positive running average ${divisor}`);
    }
    return tf.div(loss, divisor);
  }

  /**
   * Ends an optimiser step: folds the recorded values (mean over micro-batches) into the averages.
   * Returns a promise when values recorded on a device without synchronous reads must be read.
   */
  observe(): void | Promise<void> {
    if (Object.keys(this.#pendingTensors).length === 0) return this.#fold();
    const tensors = this.#pendingTensors;
    this.#pendingTensors = {};
    return (async () => {
      for (const [key, list] of Object.entries(tensors)) {
        for (const t of list) (this.#pending[key] ??= []).push((await t.data())[0]);
        tf.dispose(list);
      }
      this.#fold();
    })();
  }

  #fold(): void {
    this.#steps++;
    for (const [key, values] of Object.entries(this.#pending)) {
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      this.#averages[key] = this.decay * (this.#averages[key] ?? 0) + (1 - this.decay) * mean;
    }
    this.#pending = {};
  }

  state(): AdaLossState {
    return { steps: this.#steps, averages: { ...this.#averages } };
  }

  load(state: AdaLossState): void {
    this.#steps = state.steps;
    this.#averages = { ...state.averages };
    this.#pending = {};
    for (const list of Object.values(this.#pendingTensors)) tf.dispose(list);
    this.#pendingTensors = {};
  }
}
