/**
 * The mode-covering / mode-seeking toy (our own design; the TAID paper has none, see
 * `shared/reference/taid.md` §3.3): a teacher with two equal modes over V tokens and a student
 * that can only place one bump, a discretised Gaussian with logits `−(i − μ)² / (2σ²)` and
 * learnable μ and log σ. Forward KL must cover both modes (wide σ between them), reverse KL
 * settles on one; interpolating objectives land in between.
 *
 * A property of this toy worth knowing when reading TAID's curve: TAID's target
 * p_t ∝ q^(1−t)·p_T^t contains the student's own (detached) distribution, and where the teacher's
 * log-probabilities are flat (its 1e-6 floor away from the modes) the tempered factor p_T^t adds no
 * curvature, so the target is *wider* than the student (variance ≈ σ²/(1 − t)). The student
 * therefore keeps widening while t is small (measured: σ ≈ 330 after 400 steps, 1240 after 1500,
 * against forward KL's 19–24); once σ ≫ V its logits are flat, ∂/∂log σ vanishes (∝ 1/σ²), and
 * it cannot narrow again when t → 1, so TAID ends near uniform with a forward-KL loss of 0.948
 * against 0.880 for forward KL itself. Adam's ε has no effect on this (tried 1e-7 to 1e-3): the
 * push is a real, consistent gradient, not amplified noise. A full-logit student (the LM
 * experiments) has no such bottleneck.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getLoss } from "../losses/mod.ts";

/** Options of {@link fitUnimodalStudent}. */
export interface ModeToyOptions {
  /** Tokens (default 64). */
  vocab?: number;
  /** Optimiser steps (default 400). */
  steps?: number;
  /** Adam learning rate (default 0.1). */
  lr?: number;
  /** Initial mean (default V/2 + 9, off-centre so that a collapse has a side to choose). */
  mu0?: number;
  /** Initial width (default 4). */
  sigma0?: number;
}

/** A fitted student. */
export interface ModeToyFit {
  /** The objective's registry name. */
  name: string;
  /** The student's fitted mean μ. */
  mu: number;
  /** The student's fitted width σ. */
  sigma: number;
  /** The student's distribution over the V tokens. */
  probs: number[];
  /** Loss per step. */
  trace: number[];
  /** TAID's t per step (TAID only). */
  t?: number[];
  /** Probability mass within ±V/8 of each teacher mode. */
  massNearModes: [number, number];
}

/** The two mode positions of the toy teacher for `V` tokens. */
export const toyModes = (V: number): [number, number] => [V / 4, (3 * V) / 4 - 2];

/** The teacher's logits `[1, V]`: two equal Gaussian bumps (width 3) at {@link toyModes}. */
export function bimodalTeacher(V = 64): tf.Tensor2D {
  return tf.tidy(() => {
    const grid = tf.range(0, V, 1, "float32");
    const bump = (c: number) => tf.exp(tf.div(tf.square(tf.sub(grid, c)), -2 * 3 * 3));
    const [a, b] = toyModes(V);
    return tf.log(tf.add(tf.add(bump(a), bump(b)), 1e-6)).reshape([1, V]) as tf.Tensor2D;
  });
}

/** Fits the unimodal student to the bimodal teacher with a registered objective. */
export async function fitUnimodalStudent(
  name: string,
  config: Record<string, unknown> = {},
  options: ModeToyOptions = {},
): Promise<ModeToyFit> {
  const { vocab: V = 64, steps = 400, lr = 0.1, mu0 = V / 2 + 9, sigma0 = 4 } = options;
  const grid = tf.range(0, V, 1, "float32");
  const teacherLogits = bimodalTeacher(V);
  const mu = tf.tidy(() => tf.variable(tf.scalar(mu0)));
  const logSigma = tf.tidy(() => tf.variable(tf.scalar(Math.log(sigma0))));
  const student = () =>
    tf.div(tf.square(tf.sub(grid, mu)), tf.mul(-2, tf.exp(tf.mul(2, logSigma)))).reshape([1, V]);
  const objective = getLoss(name, name === "taid" ? { totalSteps: steps, ...config } : config);
  const optimizer = tf.train.adam(lr);
  const trace: number[] = [];
  const t: number[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      if (name === "taid") t.push((await objective.state!() as { t: number }).t);
      const loss = optimizer.minimize(
        () => objective.loss({ teacherLogits, studentLogits: student() }),
        true,
      )!;
      const value = (await loss.data())[0]; // asynchronous: works on webgpu too
      const fields = objective.observe?.({ loss, step });
      tf.dispose([loss, ...Object.values(fields ?? {}).filter((f) => f instanceof tf.Tensor)]);
      trace.push(value);
    }
    const fitted = tf.tidy(() =>
      tf.concat([tf.softmax(student()).reshape([-1]), mu.reshape([1]), logSigma.reshape([1])])
    );
    const values = Array.from(await fitted.data());
    fitted.dispose();
    const probs = values.slice(0, V);
    const [muValue, logSigmaValue] = values.slice(V);
    const near = (c: number) =>
      probs.reduce((s, p, i) => s + (Math.abs(i - c) <= V / 8 ? p : 0), 0);
    const [a, b] = toyModes(V);
    return {
      name,
      mu: muValue,
      sigma: Math.exp(logSigmaValue),
      probs,
      trace,
      ...(name === "taid" ? { t } : {}),
      massNearModes: [near(a), near(b)],
    };
  } finally {
    tf.dispose([grid, teacherLogits, mu, logSigma]);
    optimizer.dispose();
    objective.dispose?.();
  }
}
