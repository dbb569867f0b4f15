/**
 * TAID's adaptive t (Shing et al. ICLR 2025, §3.2 and Algorithm 1) held and updated on the device:
 * the rule of {@linkcode TAID} (`taid.ts`), computed in float32 from the step's loss as a tensor,
 * so a training loop never reads the loss back to move t. Every readback from a GPU costs ≥ 10 ms
 * under Deno's WebGPU; with t on the device the trainer reads losses every few steps for TAID too.
 *
 *   δ = (ℓ_prev − ℓ)/(ℓ_prev + 1e−15),  m ← β·m + (1−β)·δ,  Δ = α·σ(m)·(1 − t),
 *   t ← min(t_end, max(t_lin(k), t + Δ))   (the first loss is only recorded)
 *
 * A NaN/Inf loss, or a closed gate (the trainer's `finiteGate`: the step's update was skipped),
 * leaves the state as it was. The loss uses t through the fused kernels' device-side λ (or the
 * composite ops elsewhere). The state is read only for checkpoints ({@linkcode DeviceTAID.state},
 * the same JSON as `TAID.state`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  checkTAIDState,
  resolveTAIDConfig,
  type TAIDConfig,
  taidLinearT,
  type TAIDState,
} from "./taid.ts";
import { taidLoss, type TAIDLossOptions } from "./taid_loss.ts";

/** TAID's t on the device; see the module doc. */
export class DeviceTAID {
  /** The configuration with its defaults filled in. */
  readonly config: Readonly<Required<TAIDConfig>>;
  /** float32 [4]: t, the previous loss, the momentum, and 1 once a loss was recorded. */
  readonly #state: tf.Variable;
  #step = 0;

  /**
   * TAID's state on the current backend, t = tStart (validated; see {@linkcode resolveTAIDConfig}).
   */
  constructor(config: TAIDConfig) {
    this.config = resolveTAIDConfig(config, "DeviceTAID");
    this.#state = tf.tidy(() => tf.variable(tf.tensor1d([this.config.tStart, 0, 0, 0]), false));
  }

  /** t as a float32 scalar on the device (a new tensor: dispose it, or call it inside tf.tidy). */
  t(): tf.Scalar {
    return tf.tidy(() => tf.reshape(tf.slice(this.#state, [0], [1]), []));
  }

  /** The linear floor t_lin at optimizer step k. */
  linearT(step: number): number {
    return taidLinearT(this.config, step);
  }

  /** The TAID loss at the current t (nothing is read back). */
  loss(teacherLogits: tf.Tensor, studentLogits: tf.Tensor, options?: TAIDLossOptions): tf.Scalar {
    return tf.tidy(() => taidLoss(teacherLogits, studentLogits, this.t(), options));
  }

  /**
   * Moves t from the loss of one optimizer step, on the device. `step` is the number of optimizer
   * steps done before that one (default: the number of earlier calls); `gate`, a float32 [1], keeps
   * the state unchanged where it is 0, as a NaN/Inf loss does.
   *
   * @throws Error when `loss` is not a float32 scalar or `step` is not a non-negative integer.
   */
  update(loss: tf.Tensor, step?: number, gate?: tf.Tensor): void {
    if (loss.dtype !== "float32" || loss.size !== 1) {
      throw new Error(
        `DeviceTAID.update: loss must be a float32 scalar, got ${loss.dtype} [${loss.shape}]`,
      );
    }
    const k = step ?? this.#step;
    if (!(Number.isInteger(k) && k >= 0)) {
      throw new Error(`DeviceTAID.update: step must be a non-negative integer, got ${k}`);
    }
    this.#step = k + 1;
    const { alpha, beta, tEnd, adaptive } = this.config;
    const floor = this.linearT(k);
    tf.tidy(() => {
      const [t, previous, momentum, seen] = tf.unstack(this.#state);
      const l = tf.reshape(loss, []);
      const delta = tf.div(tf.sub(previous, l), tf.add(previous, 1e-15));
      const m = tf.add(tf.mul(beta, momentum), tf.mul(1 - beta, delta));
      const moved = adaptive
        ? tf.minimum(
          tEnd,
          tf.maximum(floor, tf.add(t, tf.mul(tf.mul(alpha, tf.sigmoid(m)), tf.sub(1, t)))),
        )
        : tf.scalar(Math.min(tEnd, floor));
      const one = tf.onesLike(l);
      // The first loss is only recorded; later ones move t and the momentum.
      const next = tf.where(
        tf.equal(seen, 0),
        tf.stack([t, l, momentum, one]),
        tf.stack([moved, l, m, one]),
      );
      let ok = tf.isFinite(l);
      if (gate) ok = tf.logicalAnd(ok, tf.notEqual(tf.reshape(gate, []), 0));
      this.#state.assign(tf.where(tf.broadcastTo(ok, [4]), next, this.#state));
    });
  }

  /**
   * The numbers to log with a step: t and the momentum, as device scalars (the caller disposes).
   */
  fields(): { t: tf.Scalar; momentum: tf.Scalar } {
    return tf.tidy(() => {
      const [t, , momentum] = tf.unstack(this.#state);
      return { t: t as tf.Scalar, momentum: momentum as tf.Scalar };
    });
  }

  /** The state for checkpoints, read from the device (the JSON of `TAID.state`). */
  async state(): Promise<TAIDState> {
    const [t, previous, momentum, seen] = await this.#state.data();
    return { t, prevLoss: seen ? previous : null, momentum, step: this.#step };
  }

  /** Restores a state from {@linkcode DeviceTAID.state} or `TAID.state`. */
  load(state: TAIDState): void {
    checkTAIDState("DeviceTAID.load", state);
    const { prevLoss, momentum, step } = state;
    tf.tidy(() =>
      this.#state.assign(
        tf.tensor1d([state.t, prevLoss ?? 0, momentum, prevLoss === null ? 0 : 1]),
      )
    );
    this.#step = step;
  }

  /** Frees the state on the device. */
  dispose(): void {
    this.#state.dispose();
  }
}
