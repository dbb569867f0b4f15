/**
 * The fused AdamW kernels on the webgpu backend (the software adapter in CI): against a float64
 * reference, against the composite path, on a dispatch that folds (more than 65535 workgroups),
 * without leaks, and with clear errors.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { adamw64 } from "../../tests/reference/models64.ts";
import { initBackend } from "../backend.ts";
import { AdamW } from "../train/adamw.ts";
import { fusedKernelsAvailable, setFusedKernels } from "./env.ts";
import { fusedAdamWUpdate } from "./fused_adamw.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";

let started: Promise<unknown> | undefined;
const webgpu = () => started ??= initBackend("webgpu", { log: false });

/** Deterministic values in [-scale, scale], exactly representable in float32. */
function values(n: number, seed: number, scale: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(scale * (2 * (s / 2 ** 32) - 1));
  });
}

const HYPER = { beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1 };
const LRS = [0.05, 0.02, 0.1, 0.03];

/** Runs AdamW for LRS.length steps on a [37, 53] matrix and a [53] bias; returns both, read back. */
async function run(w0: number[], b0: number[], gw: number[][], gb: number[][]) {
  const w = tf.variable(tf.tensor2d(w0, [37, 53]), true);
  const b = tf.variable(tf.tensor1d(b0), true);
  const opt = new AdamW({ w, b }, HYPER);
  for (let s = 0; s < LRS.length; s++) {
    tf.tidy(() => opt.apply({ w: tf.tensor2d(gw[s], [37, 53]), b: tf.tensor1d(gb[s]) }, LRS[s]));
  }
  const out = { w: Array.from(await w.data()), b: Array.from(await b.data()) };
  const moments = await opt.moments();
  opt.dispose();
  tf.dispose([w, b]);
  return { ...out, moments };
}

gpuTest("fused AdamW matches a float64 reference and the composite path", async () => {
  await webgpu();
  assert.ok(fusedKernelsAvailable());
  const w0 = values(37 * 53, 1, 1), b0 = values(53, 2, 1);
  // Gradients over several scales, including exact zeros (v stays 0 there: ε guards the division).
  const gw = LRS.map((_, s) =>
    values(37 * 53, 10 + s, 10 ** (s - 2)).map((x, i) => i % 11 ? x : 0)
  );
  const gb = LRS.map((_, s) => values(53, 20 + s, 3));
  const fused = await run(w0, b0, gw, gb);
  setFusedKernels(false);
  const composite = await run(w0, b0, gw, gb);
  setFusedKernels(true);

  const o = { lr: LRS, beta1: HYPER.beta1, beta2: HYPER.beta2, eps: HYPER.epsilon };
  const refW = adamw64(w0, gw, { ...o, weightDecay: HYPER.weightDecay });
  const refB = adamw64(b0, gb, { ...o, weightDecay: 0 }); // biases do not decay
  const maxDiff = (a: number[], b: number[]) =>
    a.reduce((d, x, i) => Math.max(d, Math.abs(x - b[i])), 0);
  assert.ok(maxDiff(fused.w, refW) < 2e-6, `w vs float64: ${maxDiff(fused.w, refW)}`);
  assert.ok(maxDiff(fused.b, refB) < 2e-6, `b vs float64: ${maxDiff(fused.b, refB)}`);
  assert.ok(maxDiff(fused.w, composite.w) < 1e-6, `w vs composite`);
  assert.ok(maxDiff(fused.b, composite.b) < 1e-6, `b vs composite`);
  for (const key of ["m.w", "v.w", "m.b", "v.b"]) {
    const f = Array.from(fused.moments[key].data), c = Array.from(composite.moments[key].data);
    const scale = Math.max(1e-30, ...c.map(Math.abs));
    assert.ok(maxDiff(f, c) <= 1e-6 * scale, `${key}: fused and composite moments differ`);
  }
});

gpuTest("fused AdamW folds dispatches past 65535 workgroups and leaks no tensors", async () => {
  await webgpu();
  const n = 4096; // 4096² elements: 65536 workgroups of 256
  const param = tf.fill([n, n], 0.5);
  const grad = tf.tidy(() => tf.reshape(tf.mod(tf.range(0, n * n), 7).sub(3), [n, n]));
  const zeros = tf.zeros([n, n]);
  const step = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, step: 1 };
  const before = tf.memory().numTensors;
  const next = fusedAdamWUpdate({ param, grad, m: zeros, v: zeros }, step);
  assert.equal(tf.memory().numTensors, before + 3);
  const [p, m] = [await next.param.data(), await next.m.data()];
  // At t = 1 the update is lr·g/(|g| + ε): θ′ = 0.5·(1 − 0.001) − 0.1·sign(g) where g ≠ 0.
  for (const i of [0, 1, 3, 65535 * 256 - 1, 65535 * 256, n * n - 1]) {
    const g = (i % 7) - 3;
    const expected = 0.5 * (1 - 0.1 * 0.01) - 0.1 * g / (Math.abs(g) + 1e-8);
    assert.ok(Math.abs(p[i] - expected) < 1e-6, `param[${i}] = ${p[i]}, expected ${expected}`);
    assert.ok(Math.abs(m[i] - 0.1 * g) < 1e-6, `m[${i}]`);
  }
  tf.dispose([param, grad, zeros, next.param, next.m, next.v]);
  assert.equal(tf.memory().numTensors, before - 3);
});

gpuTest("AdamW's fused path keeps numTensors flat across steps", async () => {
  await webgpu();
  const w = tf.variable(tf.randomNormal([64, 32], 0, 1, "float32", 3));
  const opt = new AdamW({ w });
  const before = tf.memory().numTensors;
  for (let s = 0; s < 5; s++) tf.tidy(() => opt.apply({ w: tf.onesLike(w) }, 1e-3));
  await w.data();
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  w.dispose();
});

gpuTest("bad inputs of fused AdamW are clear errors", async () => {
  await webgpu();
  const a = tf.zeros([2, 3]), b = tf.zeros([3, 2]);
  const step = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: 1 };
  assert.throws(
    () => fusedAdamWUpdate({ param: a, grad: b, m: a, v: a }, step),
    /grad must be float32 \[2,3\], got float32 \[3,2\]/,
  );
  assert.throws(
    () => fusedAdamWUpdate({ param: a, grad: a, m: a, v: a }, { ...step, beta2: 1 }),
    /beta1 and beta2 must be in \[0, 1\)/,
  );
  assert.throws(
    () => fusedAdamWUpdate({ param: a, grad: a, m: a, v: a }, { ...step, step: 0 }),
    /step must be an integer ≥ 1/,
  );
  tf.dispose([a, b]);
});
