/**
 * A fused AdamW update for the webgpu backend (Loshchilov & Hutter, ICLR 2019, Algorithm 2; the
 * arithmetic of `lib/train/adamw.ts` and `torch.optim.AdamW`):
 *
 *   m′ = β₁m + (1−β₁)g;   v′ = β₂v + (1−β₂)g²;
 *   θ′ = θ·(1 − ηλ) − η · (m′/c₁) / (√(v′/c₂) + ε),   c₁ = 1−β₁ᵗ, c₂ = 1−β₂ᵗ
 *
 * The composite update launches about fifteen elementwise kernels per parameter (and uploads a
 * scalar tensor for each constant); on the H100 AdamW's apply alone took 18 ms for a 512×8192 head
 * against a whole PyTorch step of 2.65 ms (issue #10). Here it is three kernels per parameter, one
 * per output (tfjs programs write one tensor each): m′ from (m, g), v′ from (v, g), and θ′ from
 * (θ, m′, v′), with every constant passed as a uniform. Each is memory-bound: 10 passes over the
 * parameter's size in all, against ~35 for the composite path.
 *
 * The kernels are `KdlabAdamWMoment` and `KdlabAdamWParam` for the `webgpu` backend;
 * `fusedKernelsAvailable()` of `env.ts` says whether they can be used (webgpu, fused kernels on:
 * `KD_FUSED=0` or `setFusedKernels(false)` switches them off). `AdamW.apply` takes this path by
 * itself. Tests compare it with a float64 reference and with the composite path.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  ElementwiseProgram,
  f32Uniforms,
  registerWebGPUKernel,
  requireWebGPU,
} from "./webgpu_kernel.ts";

const MOMENT_KERNEL = "KdlabAdamWMoment";
const PARAM_KERNEL = "KdlabAdamWParam";

/** The constants of one AdamW update of one parameter. */
export interface FusedAdamWStep {
  /** Learning rate η ≥ 0. */
  lr: number;
  /** First-moment decay β1 ∈ [0, 1). */
  beta1: number;
  /** Second-moment decay β2 ∈ [0, 1). */
  beta2: number;
  /** ε added to √v̂. */
  epsilon: number;
  /** Decoupled decay λ applied to this parameter (0 for those that do not decay). */
  weightDecay: number;
  /** The update's number t ≥ 1 (bias corrections 1 − βᵗ). */
  step: number;
}

/** The tensors of one parameter's update: its value, gradient and both moments (all float32, same shape). */
export interface FusedAdamWState {
  /** The parameter θ. */
  param: tf.Tensor;
  /** Its gradient g. */
  grad: tf.Tensor;
  /** The first moment m. */
  m: tf.Tensor;
  /** The second moment v. */
  v: tf.Tensor;
  /**
   * Optional float32 [1] on the device: 0 skips the update (value and moments stay as they are,
   * even where the gradient is NaN), anything else applies it. A training loop that reads back
   * only every few steps computes it from the step's loss (see `finiteGate`), so that a
   * non-finite step changes nothing before the host sees it.
   */
  gate?: tf.Tensor;
}

let registered = false;

/**
 * One AdamW update of one parameter on the webgpu backend: returns the new value and moments as
 * new tensors (the caller assigns them to its variables).
 *
 * @throws Error when the backend is not webgpu, a tensor is not float32, shapes differ, or a
 * constant is out of range.
 */
export function fusedAdamWUpdate(
  state: FusedAdamWState,
  step: FusedAdamWStep,
): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  requireWebGPU("fusedAdamWUpdate");
  const shape = state.param.shape.join();
  const { gate, ...tensors } = state;
  if (gate && (gate.dtype !== "float32" || gate.size !== 1)) {
    throw new Error(
      `fusedAdamWUpdate: gate must be float32 [1], got ${gate.dtype} [${gate.shape}]`,
    );
  }
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "float32" || t.shape.join() !== shape) {
      throw new Error(
        `fusedAdamWUpdate: ${name} must be float32 [${state.param.shape}], got ${t.dtype} [${t.shape}]`,
      );
    }
  }
  const { lr, beta1, beta2, epsilon, weightDecay, step: t } = step;
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
    throw new Error(`fusedAdamWUpdate: beta1 and beta2 must be in [0, 1), got ${beta1}, ${beta2}`);
  }
  if (!(lr >= 0 && Number.isFinite(lr)) || !(epsilon > 0) || !(weightDecay >= 0)) {
    throw new Error(
      `fusedAdamWUpdate: lr must be finite ≥ 0, epsilon > 0 and weightDecay ≥ 0, got ${lr}, ${epsilon}, ${weightDecay}`,
    );
  }
  if (!(Number.isInteger(t) && t >= 1)) {
    throw new Error(`fusedAdamWUpdate: step must be an integer ≥ 1, got ${t}`);
  }
  registerFusedAdamW();
  const engine = tf.engine();
  const shaped = (t: tf.Tensor) => tf.reshape(t, state.param.shape);
  return tf.tidy(() => {
    const gated: tf.NamedTensorMap = gate ? { gate: tf.reshape(gate, [1]) } : {};
    const moment = (x: tf.Tensor, decay: number, square: boolean) =>
      engine.runKernel(
        MOMENT_KERNEL,
        { x, grad: state.grad, ...gated },
        { decay, square } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
    const m = moment(state.m, beta1, false);
    const v = moment(state.v, beta2, true);
    const param = engine.runKernel(
      PARAM_KERNEL,
      { param: state.param, m, v, ...gated },
      {
        keep: 1 - lr * weightDecay,
        lr,
        c1: 1 - beta1 ** t,
        c2: 1 - beta2 ** t,
        epsilon,
      } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
    return { param: shaped(param), m: shaped(m), v: shaped(v) };
  });
}

/** Registers the two webgpu kernels with tfjs (idempotent). */
export function registerFusedAdamW(): void {
  if (registered) return;
  registered = true;
  registerWebGPUKernel<{ decay: number; square: boolean }>(
    MOMENT_KERNEL,
    ({ x, grad, gate }, { decay, square }) => ({
      program: new AdamWProgram("moment", x.shape, square, gate !== undefined),
      inputs: gate ? [x, grad, gate] : [x, grad],
      uniforms: f32Uniforms(decay, 1 - decay),
    }),
  );
  registerWebGPUKernel<Record<"keep" | "lr" | "c1" | "c2" | "epsilon", number>>(
    PARAM_KERNEL,
    ({ param, m, v, gate }, a) => ({
      program: new AdamWProgram("param", param.shape, false, gate !== undefined),
      inputs: gate ? [param, m, v, gate] : [param, m, v],
      uniforms: f32Uniforms(a.keep, a.lr, a.c1, a.c2, a.epsilon),
    }),
  );
}

/**
 * Elementwise: `moment` writes x·decay + y·(1 − decay) with y = g or g²; `param` writes
 * θ·keep − η·(m′/c₁)/(√(v′/c₂) + ε), in the composite path's order of operations.
 */
class AdamWProgram extends ElementwiseProgram {
  variableNames: string[];
  uniforms: string;
  shaderKey: string;

  /** Computes over the flattened tensor; the caller reshapes. */
  constructor(
    readonly part: "moment" | "param",
    shape: number[],
    readonly square: boolean,
    readonly gated: boolean,
  ) {
    super([shape.reduce((a, b) => a * b, 1)]);
    this.variableNames = part === "moment" ? ["x", "grad"] : ["param", "m", "v"];
    if (gated) this.variableNames.push("gate");
    this.uniforms = part === "moment"
      ? "decay : f32, complement : f32,"
      : "keep : f32, lr : f32, c1 : f32, c2 : f32, epsilon : f32,";
    this.shaderKey = `kdlabAdamW_${part}_${square}_${gated}`;
  }

  getUserCode(): string {
    const body = this.part === "moment"
      ? `let g = grad[index];
         result[index] = x[index] * uniforms.decay + ${
        this.square ? "g * g" : "g"
      } * uniforms.complement;`
      : `let update = (m[index] / uniforms.c1) / (sqrt(v[index] / uniforms.c2) + uniforms.epsilon);
         result[index] = param[index] * uniforms.keep - update * uniforms.lr;`;
    // A closed gate keeps the old value (select, so a NaN update is never blended in).
    const old = this.part === "moment" ? "x[index]" : "param[index]";
    const gate = this.gated ? `if (gate[0] == 0.0) { result[index] = ${old}; return; }` : "";
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      ${gate}
      ${body}
    }
  }`;
  }
}
