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
  /** The interpolation coefficient t ∈ [0, 1]. */
  t: number;
  /** The last recorded loss (null before the first). */
  prevLoss: number | null;
  /** The momentum m of the relative loss change. */
  momentum: number;
  /** Optimiser steps recorded. */
  step: number;
}

/**
 * A TAID configuration with its defaults filled in, validated; `who` names the caller in errors.
 *
 * @throws Error naming the first field out of range.
 */
export function resolveTAIDConfig(config: TAIDConfig, who = "TAID"): Required<TAIDConfig> {
  const c = {
    totalSteps: config.totalSteps,
    tStart: config.tStart ?? 0.4,
    tEnd: config.tEnd ?? 1,
    alpha: config.alpha ?? 5e-4,
    beta: config.beta ?? 0.99,
    adaptive: config.adaptive ?? true,
  };
  if (!Number.isInteger(c.totalSteps) || c.totalSteps < 1) {
    throw new Error(`${who}: totalSteps must be a positive integer, got ${config.totalSteps}`);
  }
  if (!(c.tStart >= 0 && c.tStart < 1)) {
    throw new Error(`${who}: tStart must be in [0, 1), got ${c.tStart}`);
  }
  if (!(c.tEnd > 0 && c.tEnd <= 1 && c.tEnd >= c.tStart)) {
    throw new Error(`${who}: tEnd must be in (0, 1] and ≥ tStart (${c.tStart}), got ${c.tEnd}`);
  }
  if (!(c.alpha >= 0 && c.alpha <= 1)) {
    throw new Error(`${who}: alpha must be in [0, 1], got ${c.alpha}`);
  }
  if (!(c.beta >= 0 && c.beta < 1)) {
    throw new Error(`${who}: beta must be in [0, 1), got ${c.beta}`);
  }
  return c;
}

/**
 * Throws unless `state` is a well-formed {@linkcode TAIDState} (t in [0, 1], finite momentum and
 * previous loss or null, a non-negative integer step); `fn` names the caller.
 */
export function checkTAIDState(fn: string, state: TAIDState): void {
  checkT(fn, state.t);
  const { prevLoss, momentum, step } = state;
  if (
    !Number.isFinite(momentum) || !Number.isInteger(step) || step < 0 ||
    !(prevLoss === null || Number.isFinite(prevLoss))
  ) {
    throw new Error(`${fn}: malformed state ${JSON.stringify(state)}`);
  }
}

/** The linear floor t_lin(k) = t_start + (t_end − t_start)·min(1, k/N) at optimizer step k. */
export function taidLinearT(config: Required<TAIDConfig>, step: number): number {
  const { tStart, tEnd, totalSteps } = config;
  return tStart + (tEnd - tStart) * Math.min(1, step / totalSteps);
}

/**
 * Holds t on the host and updates it from loss values; see the module doc. The trainer uses
 * `DeviceTAID` (`device_taid.ts`), the same rule on the device, so that no loss is read back.
 */
export class TAID {
  /** Total optimiser steps N of the run. */
  readonly totalSteps: number;
  /** Initial t. */
  readonly tStart: number;
  /** Final t. */
  readonly tEnd: number;
  /** Learning rate α of t. */
  readonly alpha: number;
  /** Momentum β of the relative loss change. */
  readonly beta: number;
  /** Adaptive update (false: the linear schedule). */
  readonly adaptive: boolean;
  readonly #config: Required<TAIDConfig>;
  #t: number;
  #prevLoss: number | null = null;
  #momentum = 0;
  #step = 0;

  /** A host-side TAID at `config` (validated; see {@linkcode resolveTAIDConfig}). */
  constructor(config: TAIDConfig) {
    this.#config = resolveTAIDConfig(config);
    ({
      totalSteps: this.totalSteps,
      tStart: this.tStart,
      tEnd: this.tEnd,
      alpha: this.alpha,
      beta: this.beta,
      adaptive: this.adaptive,
    } = this.#config);
    this.#t = this.tStart;
  }

  /** The current interpolation parameter. */
  get t(): number {
    return this.#t;
  }

  /** The linear floor t_lin at optimizer step k. */
  linearT(step: number): number {
    return taidLinearT(this.#config, step);
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
    checkTAIDState("TAID.load", state);
    this.#t = state.t;
    this.#prevLoss = state.prevLoss;
    this.#momentum = state.momentum;
    this.#step = state.step;
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
