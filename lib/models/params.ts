/**
 * Named parameters: every model is a record of `tf.Variable`s with stable names, initialised from
 * a seed on the host (so initial weights are identical on every backend), counted, and saved.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hashSeed, Rng } from "../data/rng.ts";
import { requireBackend } from "../require_backend.ts";

/** A model's trainable variables by name, in a stable order. */
export type Params = Record<string, tf.Variable>;

/** Anything with named parameters and its config. */
export interface ParameterisedModel {
  /** The model's configuration (saved with the weights). */
  readonly config: object;
  /** The variables by name. */
  readonly params: Params;
}

/**
 * The value of `f` and its gradients in `params`, keyed by parameter name (`tf.variableGrads` keys
 * them by the variables' own names), as `AdamW.apply` takes them. Parameters `f` does not reach
 * get no entry.
 */
export function paramGrads(
  f: () => tf.Scalar,
  params: Params,
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const names = Object.keys(params);
  const { value, grads } = tf.variableGrads(f, names.map((n) => params[n]));
  const byName: Record<string, tf.Tensor> = {};
  for (const n of names) if (grads[params[n].name]) byName[n] = grads[params[n].name];
  return { value, grads: byName };
}

/** Total number of scalars in the parameters. */
export function parameterCount(params: Params): number {
  return Object.values(params).reduce((n, v) => n + v.size, 0);
}

/** Normal(0, std²) values from a seed (Box-Muller over SplitMix32). */
export function normalValues(size: number, std: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i += 2) {
    const u = 1 - rng.next();
    const r = std * Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * rng.next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < size) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** Builds parameters whose initial values depend only on (seed, name). */
export class ParamBuilder {
  /** The variables built so far, by their full names. */
  readonly params: Params = {};
  readonly #seed: number;
  readonly #prefix: string;

  /**
   * A builder whose variables are named `prefix + name`, with values seeded by (seed, full name).
   */
  constructor(seed: number, prefix = "") {
    requireBackend("ParamBuilder (building a model)");
    this.#seed = seed;
    this.#prefix = prefix;
  }

  #add(name: string, values: Float32Array, shape: number[]): tf.Variable {
    const full = this.#prefix + name;
    if (this.params[full]) throw new Error(`ParamBuilder: duplicate parameter "${full}"`);
    // Inside tidy: the variable shares the initial tensor's data, and the tensor itself is freed.
    return this.params[full] = tf.tidy(() =>
      tf.variable(tf.tensor(values, shape), true, `${full}_${this.#seed}_${uid++}`)
    );
  }

  /** Normal(0, std²) weights. */
  normal(name: string, shape: number[], std: number): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    return this.#add(
      name,
      normalValues(size, std, hashSeed(this.#seed, this.#prefix + name)),
      shape,
    );
  }

  /** He-normal weights for a ReLU layer with `fanIn` inputs. */
  he(name: string, shape: number[], fanIn: number): tf.Variable {
    return this.normal(name, shape, Math.sqrt(2 / fanIn));
  }

  /** Constant-filled parameters (biases, LayerNorm gains). */
  fill(name: string, shape: number[], value: number): tf.Variable {
    return this.#add(name, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape);
  }
}

let uid = 0;

/** Disposes a model's variables. */
export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}
