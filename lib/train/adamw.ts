/**
 * AdamW: Adam (Kingma & Ba, ICLR 2015) with decoupled weight decay (Loshchilov & Hutter,
 * "Decoupled Weight Decay Regularization", ICLR 2019, Algorithm 2), as `torch.optim.AdamW`:
 *
 *   θ ← θ − η·λ·θ;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
 *   θ ← θ − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
 *
 * Moments live in variables beside the parameters and are saved with checkpoints. On webgpu the
 * update is three fused kernels per parameter (`lib/gpu/fused_adamw.ts`) instead of the composite
 * ops below.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { HostTensors } from "../models/io.ts";
import type { Params } from "../models/params.ts";
import { fusedAdamWUpdate } from "../gpu/fused_adamw.ts";
import { fusedKernelsAvailable } from "../gpu/env.ts";

/** Hyper-parameters of {@link AdamW}. */
export interface AdamWConfig {
  /** First-moment decay β1 (default 0.9). */
  beta1?: number;
  /** Second-moment decay β2 (default 0.999). */
  beta2?: number;
  /** ε added to √v̂ (default 1e-8). */
  epsilon?: number;
  /** Decoupled decay λ (default 0.01, PyTorch's). */
  weightDecay?: number;
  /** Which parameters decay (default: those of rank ≥ 2, i.e. not biases and norm gains). */
  decays?: (name: string, variable: tf.Variable) => boolean;
}

/** AdamW over named variables. */
export class AdamW {
  /** The configuration with its defaults filled in. */
  readonly config: Required<AdamWConfig>;
  readonly #params: Params;
  readonly #m: Record<string, tf.Variable> = {};
  readonly #v: Record<string, tf.Variable> = {};
  /** Updates done so far (t in the bias corrections). */
  step = 0;

  /** AdamW over `params`, with zero moments. */
  constructor(params: Params, config: AdamWConfig = {}) {
    this.config = {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0.01,
      decays: (_name, v) => v.rank >= 2,
      ...config,
    };
    const { beta1, beta2, epsilon, weightDecay } = this.config;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
      throw new Error(`AdamW: beta1 and beta2 must be in [0, 1), got ${beta1}, ${beta2}`);
    }
    if (!(epsilon > 0) || !(weightDecay >= 0)) {
      throw new Error(`AdamW: epsilon must be > 0 and weightDecay ≥ 0`);
    }
    this.#params = params;
    for (const [name, p] of Object.entries(params)) {
      // Inside tidy: the zeros are freed; each variable keeps its own reference to their data.
      this.#m[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
      this.#v[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * One update with learning rate `lr` from gradients by parameter name. `gate`, a float32 [1]
   * (see `finiteGate` of `lib/gpu/finite_gate.ts`), skips the update on the device when it is 0:
   * values and moments stay as they are, even where the gradients are NaN.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, gate?: tf.Tensor): void {
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`AdamW: lr must be ≥ 0, got ${lr}`);
    const { beta1, beta2, epsilon, weightDecay, decays } = this.config;
    this.step += 1;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    const fused = fusedKernelsAvailable();
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.#params)) {
        const g = grads[name];
        if (!g) continue;
        const decay = decays(name, p) ? weightDecay : 0;
        if (fused && p.dtype === "float32" && g.dtype === "float32") {
          const next = fusedAdamWUpdate(
            { param: p, grad: g, m: this.#m[name], v: this.#v[name], gate },
            { lr, beta1, beta2, epsilon, weightDecay: decay, step: this.step },
          );
          this.#m[name].assign(next.m);
          this.#v[name].assign(next.v);
          p.assign(next.param);
          continue;
        }
        // With a gate, each new value is selected (never blended) against the old one.
        const open = gate && tf.broadcastTo(tf.notEqual(tf.reshape(gate, []), 0), p.shape);
        const gated = (next: tf.Tensor, old: tf.Tensor) => open ? tf.where(open, next, old) : next;
        const m = gated(this.#m[name].mul(beta1).add(g.mul(1 - beta1)), this.#m[name]);
        const v = gated(this.#v[name].mul(beta2).add(g.square().mul(1 - beta2)), this.#v[name]);
        this.#m[name].assign(m);
        this.#v[name].assign(v);
        const update = m.div(c1).div(v.div(c2).sqrt().add(epsilon));
        const decayed = decay > 0 ? p.mul(1 - lr * decay) : p;
        p.assign(gated(decayed.sub(update.mul(lr)), p));
      }
    });
  }

  /**
   * Moments (`m.<name>`, `v.<name>`) on the host, for checkpoints. Read asynchronously, so it works
   * on backends without synchronous reads (webgpu).
   */
  async moments(): Promise<HostTensors> {
    const out: HostTensors = {};
    for (const name of Object.keys(this.#params)) {
      for (const [key, store] of [[`m.${name}`, this.#m], [`v.${name}`, this.#v]] as const) {
        out[key] = { shape: store[name].shape, data: await store[name].data() as Float32Array };
      }
    }
    return out;
  }

  /** Restores moments and the step count saved by {@link moments}. */
  load(moments: HostTensors, step: number): void {
    for (const name of Object.keys(this.#params)) {
      for (const [key, target] of [[`m.${name}`, this.#m], [`v.${name}`, this.#v]] as const) {
        const saved = moments[key];
        if (!saved) throw new Error(`AdamW.load: the checkpoint has no "${key}"`);
        tf.tidy(() => target[name].assign(tf.tensor(saved.data, saved.shape)));
      }
    }
    this.step = step;
  }

  /** Frees the moments (not the parameters). */
  dispose(): void {
    for (const v of [...Object.values(this.#m), ...Object.values(this.#v)]) v.dispose();
  }
}
