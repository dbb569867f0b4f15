/**
 * TAID's adaptive schedule of t (Shing et al. ICLR 2025, §3.2 and Algorithm 1; semantics of the
 * official `TAID.update_t`): after each loss ℓ,
 *
 *   δ = (ℓ_prev − ℓ)/(ℓ_prev + 1e−15),  m ← β·m + (1−β)·δ,  Δ = α·σ(m)·(1 − t),
 *   t ← min(t_end, max(t_lin(k), t + Δ)),  t_lin(k) = t_start + (t_end − t_start)·k/N,
 *
 * where k counts optimizer steps done and N is their total. The first call only records ℓ.
 * Without `adaptive`, t follows the linear floor (the paper's "w/o adaptive" ablation).
 * Defaults t_start 0.4, t_end 1, α 5e−4, β 0.99 as in the official code. With the default α, runs
 * shorter than ~4k steps never leave the linear floor: scale α ≈ 5e−4·15000/N for short runs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkT, taidLoss, type TAIDLossOptions } from "./taid_loss.ts";

/** Hyperparameters of {@linkcode TAID}. */
export interface TAIDConfig {
  /** Total optimizer steps N of the run (for the linear floor). */
  totalSteps: number;
  /** Initial t (default 0.4); 0 ≤ tStart < 1. */
  tStart?: number;
  /** Final t (default 1); 0 < tEnd ≤ 1, tEnd ≥ tStart. */
  tEnd?: number;
  /** Learning rate of t, α ∈ [0, 1] (default 5e−4). */
  alpha?: number;
  /** Momentum β ∈ [0, 1) of the relative loss change (default 0.99). */
  beta?: number;
  /** Adaptive update (default true); false gives the linear schedule. */
  adaptive?: boolean;
}

/** Checkpointable state of {@linkcode TAID}. */
export interface TAIDState {
  t: number;
  prevLoss: number | null;
  momentum: number;
  step: number;
}

/** Holds t and updates it from the loss; see the module doc. */
export class TAID {
  readonly totalSteps: number;
  readonly tStart: number;
  readonly tEnd: number;
  readonly alpha: number;
  readonly beta: number;
  readonly adaptive: boolean;
  #t: number;
  #prevLoss: number | null = null;
  #momentum = 0;
  #step = 0;

  constructor(config: TAIDConfig) {
    this.totalSteps = config.totalSteps;
    this.tStart = config.tStart ?? 0.4;
    this.tEnd = config.tEnd ?? 1;
    this.alpha = config.alpha ?? 5e-4;
    this.beta = config.beta ?? 0.99;
    this.adaptive = config.adaptive ?? true;
    if (!Number.isInteger(this.totalSteps) || this.totalSteps < 1) {
      throw new Error(`TAID: totalSteps must be a positive integer, got ${config.totalSteps}`);
    }
    if (!(this.tStart >= 0 && this.tStart < 1)) {
      throw new Error(`TAID: tStart must be in [0, 1), got ${this.tStart}`);
    }
    if (!(this.tEnd > 0 && this.tEnd <= 1 && this.tEnd >= this.tStart)) {
      throw new Error(
        `TAID: tEnd must be in (0, 1] and ≥ tStart (${this.tStart}), got ${this.tEnd}`,
      );
    }
    if (!(this.alpha >= 0 && this.alpha <= 1)) {
      throw new Error(`TAID: alpha must be in [0, 1], got ${this.alpha}`);
    }
    if (!(this.beta >= 0 && this.beta < 1)) {
      throw new Error(`TAID: beta must be in [0, 1), got ${this.beta}`);
    }
    this.#t = this.tStart;
  }

  /** The current interpolation parameter. */
  get t(): number {
    return this.#t;
  }

  /** The linear floor t_lin at optimizer step k. */
  linearT(step: number): number {
    return this.tStart + (this.tEnd - this.tStart) * Math.min(1, step / this.totalSteps);
  }

  /** The TAID loss at the current t (no update; call {@linkcode TAID.update} with its value). */
  loss(teacherLogits: tf.Tensor, studentLogits: tf.Tensor, options?: TAIDLossOptions): tf.Scalar {
    return taidLoss(teacherLogits, studentLogits, this.#t, options);
  }

  /**
   * Updates t from the latest loss value. `step` is the number of optimizer steps done before the
   * one this loss belongs to (default: the number of earlier calls, i.e. one call per step).
   */
  update(loss: number, step?: number): number {
    if (!Number.isFinite(loss)) throw new Error(`TAID.update: loss must be finite, got ${loss}`);
    const k = step ?? this.#step;
    this.#step = k + 1;
    if (this.#prevLoss === null) {
      this.#prevLoss = loss;
      return this.#t;
    }
    const delta = (this.#prevLoss - loss) / (this.#prevLoss + 1e-15);
    this.#momentum = this.beta * this.#momentum + (1 - this.beta) * delta;
    const floor = this.linearT(k);
    if (this.adaptive) {
      const increment = this.alpha * sigmoid(this.#momentum) * (1 - this.#t);
      this.#t = Math.min(this.tEnd, Math.max(floor, this.#t + increment));
    } else {
      this.#t = Math.min(this.tEnd, floor);
    }
    this.#prevLoss = loss;
    return this.#t;
  }

  /** State for checkpoints. */
  state(): TAIDState {
    return { t: this.#t, prevLoss: this.#prevLoss, momentum: this.#momentum, step: this.#step };
  }

  /** Restores a state from {@linkcode TAID.state}. */
  load(state: TAIDState): void {
    checkT("TAID.load", state.t);
    if (!Number.isFinite(state.momentum) || !Number.isInteger(state.step) || state.step < 0) {
      throw new Error(`TAID.load: malformed state ${JSON.stringify(state)}`);
    }
    this.#t = state.t;
    this.#prevLoss = state.prevLoss;
    this.#momentum = state.momentum;
    this.#step = state.step;
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
