/**
 * AdaLoss (Hu, Bisk, Dhillon & Han, "Learning Anytime Predictions in Neural Networks via Adaptive
 * Loss Balancing", AAAI 2019), as the PHI-S paper uses it to balance teachers (App. A.8.1): each
 * term is divided by a running average of its own value, so every term is about one.
 *
 * The paper states neither the averaging rate nor whether the denominator carries gradient; here
 * it is an exponential moving average with decay 0.99 (bias-corrected, so the first step divides
 * by the first value), constant for the gradient. The averages live on the device and are updated
 * there once per optimiser step ({@link AdaLoss.observe}), so nothing is read back during
 * training (every GPU readback costs ≥ 10 ms under Deno); they are read for checkpoints
 * ({@link AdaLoss.state}). Before the first step the divisor is the term itself, detached.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues } from "../deferred_checks.ts";
import { stopGradient } from "../losses/log_mix.ts";
import { StepMeans } from "./step_means.ts";

/** JSON state of {@link AdaLoss}. */
export interface AdaLossState {
  /** Optimiser steps observed. */
  steps: number;
  /** Un-corrected moving averages by term. */
  averages: Record<string, number>;
}

/** Running-average loss balancing; see the module doc. */
export class AdaLoss {
  /** Decay of the moving averages. */
  readonly decay: number;
  #steps = 0;
  /** Un-corrected moving averages by term: float32 scalars on the device. */
  #averages: Record<string, tf.Variable> = {};
  /** The values of the current step's terms (one per micro-batch), kept until observe. */
  #pending = new StepMeans();

  /** AdaLoss with moving averages of decay `decay` (in [0, 1)). */
  constructor(decay = 0.99) {
    if (!(decay >= 0 && decay < 1)) {
      throw new Error(`AdaLoss: decay must be in [0, 1), got ${decay}`);
    }
    this.decay = decay;
  }

  /**
   * The bias-corrected average of a term as a scalar on the device (a new tensor), or undefined
   * before its first observed step.
   */
  average(key: string): tf.Scalar | undefined {
    const raw = this.#averages[key];
    if (!raw) return undefined;
    return tf.tidy(() => tf.div(raw, 1 - this.decay ** this.#steps) as tf.Scalar);
  }

  /**
   * `loss / average(key)` (on the tape; the divisor is a constant), and records the value for
   * {@link observe}; see {@link divide}.
   */
  scale(key: string, loss: tf.Scalar): tf.Scalar {
    this.#pending.record(key, loss);
    return this.divide(key, loss);
  }

  /**
   * `loss / average(key)` without recording it, for a caller that records the step's values
   * itself and passes their means to {@link update}. Before the first step the divisor is the
   * current value itself. A non-positive average is an error at the next deferred-check flush
   * (`lib/deferred_checks.ts`).
   */
  divide(key: string, loss: tf.Scalar): tf.Scalar {
    const average = this.average(key);
    if (!average) return tf.div(loss, stopGradient(loss)) as tf.Scalar;
    checkValues(
      tf.clone(average),
      ([a]) => a > 0 ? undefined : `AdaLoss: term "${key}" has non-positive running average ${a}`,
    );
    const out = tf.div(loss, average) as tf.Scalar;
    average.dispose();
    return out;
  }

  /**
   * Ends an optimiser step: folds the recorded values (mean over micro-batches) into the
   * averages, on the device. `gate` (float32 [1], the trainer's finite gate) keeps the averages
   * unchanged where it is 0.
   */
  observe(gate?: tf.Tensor): void {
    const means = this.#pending.take();
    this.update(means, gate);
    tf.dispose(Object.values(means));
  }

  /**
   * Ends an optimiser step with the step's mean of each term given by the caller (who still owns
   * them): what {@link observe} does with the values {@link scale} recorded.
   */
  update(means: Record<string, tf.Scalar>, gate?: tf.Tensor): void {
    this.#steps++;
    tf.tidy(() => {
      for (const [key, mean] of Object.entries(means)) {
        const old = this.#averages[key] ?? tf.zerosLike(mean);
        let next = tf.add(tf.mul(this.decay, old), tf.mul(1 - this.decay, mean));
        if (gate) next = tf.where(tf.notEqual(tf.reshape(gate, []), 0), next, old);
        if (this.#averages[key]) this.#averages[key].assign(next);
        else this.#averages[key] = tf.keep(tf.variable(next, false));
      }
    });
  }

  /** The state for checkpoints, read from the device. */
  async state(): Promise<AdaLossState> {
    const averages: Record<string, number> = {};
    for (const [key, v] of Object.entries(this.#averages)) averages[key] = (await v.data())[0];
    return { steps: this.#steps, averages };
  }

  /** Restores {@link state}; values recorded for an unfinished step are dropped. */
  load(state: AdaLossState): void {
    this.dispose();
    this.#steps = state.steps;
    for (const [key, value] of Object.entries(state.averages)) {
      this.#averages[key] = tf.tidy(() => tf.variable(tf.scalar(value), false));
    }
  }

  /** Frees the averages and any recorded values. */
  dispose(): void {
    tf.dispose(Object.values(this.#averages));
    this.#pending.dispose();
    this.#averages = {};
  }
}
