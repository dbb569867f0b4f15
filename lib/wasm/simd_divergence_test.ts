/**
 * The WebAssembly SIMD fused divergences against the float64 reference (values and gradients,
 * every divergence, row tails of every length, λ as a number and as a tensor, extreme logits) and
 * against the composite tfjs path of the public losses, on the wasm backend.
 */
import * as tf from "@tensorflow/tfjs";
import nodeAssert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { fusedDivergenceAvailable, fusedDivergenceRows } from "../gpu/fused_divergence.ts";
import { setFusedKernels } from "../gpu/env.ts";
import { forwardKL } from "../losses/forward_kl.ts";
import { generalizedJSD } from "../losses/generalized_jsd.ts";
import { reverseKL } from "../losses/reverse_kl.ts";
import { skewKL, skewReverseKL } from "../losses/skew_kl.ts";
import { totalVariation } from "../losses/total_variation.ts";
import { taidLoss } from "../taid/taid_loss.ts";
import {
  type Case,
  CASES,
  logits,
  maxAbsDiff,
  reference,
} from "../../tests/reference/fused_divergence64.ts";

const assert = (ok: boolean, message?: string) => nodeAssert.ok(ok, message);

let started: Promise<unknown> | undefined;
const wasm = () => started ??= initBackend("wasm", { log: false });

/** Per-row values and ∂(Σ rows)/∂student of a case on the fused path, read back and freed. */
function fused(c: Case, t: tf.Tensor2D, s: tf.Tensor2D, lambdaTensor = false) {
  const lambda = lambdaTensor ? tf.scalar(c.interpolation) : undefined;
  const opts = { temperature: c.temperature, interpolation: lambda ?? c.interpolation };
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
    tf.sum(fusedDivergenceRows(c.divergence, t, x as tf.Tensor2D, opts))
  )(s);
  const rows = fusedDivergenceRows(c.divergence, t, s, opts);
  const out = { values: rows.dataSync(), grads: grad.dataSync() };
  tf.dispose([value, grad, rows, ...lambda ? [lambda] : []]);
  return out;
}

/** Both kernels on one case against the float64 reference. */
function check(c: Case, n: number, v: number, seeds: [number, number], scales: [number, number]) {
  const t64 = logits(n, v, seeds[0], scales[0]), s64 = logits(n, v, seeds[1], scales[1]);
  const t = tf.tensor2d(Float32Array.from(t64), [n, v]);
  const s = tf.tensor2d(Float32Array.from(s64), [n, v]);
  const ref = reference(c, t64, s64, n, v);
  const label = `${c.divergence.kind} β=${c.divergence.beta} α=${c.divergence.alpha} ` +
    `T=${c.temperature} λ=${c.interpolation} [${n},${v}]`;
  const scale = Math.max(1, ...Array.from(ref.values, Math.abs));
  for (const lambdaTensor of c.interpolation === 1 ? [false] : [false, true]) {
    const { values, grads } = fused(c, t, s, lambdaTensor);
    const where = `${label}${lambdaTensor ? " (λ tensor)" : ""}`;
    assert(values.every(Number.isFinite) && grads.every(Number.isFinite), `${where}: finite`);
    const dv = maxAbsDiff(values, ref.values), dg = maxAbsDiff(grads, ref.grads);
    assert(dv < 2e-5 * scale, `${where}: values differ by ${dv}`);
    assert(dg < 2e-6 * scale, `${where}: gradients differ by ${dg}`);
  }
  tf.dispose([t, s]);
}

Deno.test("wasm fused divergences match the float64 reference, row tails of every length", async () => {
  await wasm();
  assert(fusedDivergenceAvailable(), "registered by initBackend('wasm')");
  const before = tf.memory().numTensors;
  // V mod 4 = 1, 3, 2, 0, 1 (tails only, a vector part plus a tail, vectors only).
  for (const [n, v] of [[3, 1], [2, 3], [4, 6], [3, 8], [7, 3001]]) {
    for (const c of CASES) check(c, n, v, [11, 12], [4, 3]);
  }
  assert(tf.memory().numTensors === before, "no tensor leaks");
});

Deno.test("wasm fused divergences stay finite and exact on extreme logits", async () => {
  await wasm();
  // Softmaxes one-hot in float32, and logits with a spread that underflows e^x for most entries.
  for (const c of CASES) check(c, 2, 601, [5, 6], [60, 80]);
  for (const c of CASES) check({ ...c, temperature: 0.05 }, 2, 37, [7, 8], [3, 3]);
});

Deno.test("the public losses take the wasm fused path and agree with the composite path", async () => {
  await wasm();
  const [b, len, v] = [2, 5, 777];
  const teacher = tf.tensor3d(Float32Array.from(logits(b * len, v, 21, 3)), [b, len, v]);
  const student = tf.tensor3d(Float32Array.from(logits(b * len, v, 22, 3)), [b, len, v]);
  const mask = tf.tensor2d([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]]);
  const losses: [string, (s: tf.Tensor) => tf.Scalar][] = [
    ["forwardKL", (s) => forwardKL(teacher, s, { temperature: 2, mask })],
    ["reverseKL", (s) => reverseKL(teacher, s, { mask, reduction: "sum" })],
    ["generalizedJSD", (s) => generalizedJSD(teacher, s, { beta: 0.3, mask })],
    ["taidLoss", (s) => taidLoss(teacher, s, 0.35, { mask })],
    ["taidLoss ce", (s) => taidLoss(teacher, s, 0.8, { crossEntropy: true, temperature: 1.5 })],
    ["skewKL", (s) => skewKL(teacher, s, { alpha: 0.1, mask })],
    ["skewReverseKL", (s) => skewReverseKL(teacher, s, { alpha: 0.3, temperature: 2 })],
    ["totalVariation", (s) => totalVariation(teacher, s, { mask })],
  ];
  for (const [name, loss] of losses) {
    const run = async (on: boolean) => {
      setFusedKernels(on);
      const profile = await tf.profile(() => {
        const { value, grad } = tf.valueAndGrad(loss)(student);
        return [value, grad];
      });
      const [value, grad] = profile.result as tf.Tensor[];
      const kernels = profile.kernels.map((k) => k.name);
      const out = { value: value.dataSync()[0], grad: grad.dataSync(), kernels };
      tf.dispose([value, grad]);
      return out;
    };
    const f = await run(true);
    const c = await run(false);
    setFusedKernels(true);
    assert(f.kernels.includes("KdlabDivergenceGrad"), `${name}: fused path used`);
    assert(!c.kernels.includes("KdlabDivergenceRows"), `${name}: composite path when off`);
    assert(Math.abs(f.value - c.value) < 1e-5 * Math.max(1, Math.abs(c.value)), `${name} value`);
    const scale = Math.max(1, ...Array.from(c.grad, Math.abs));
    const d = maxAbsDiff(f.grad, c.grad);
    assert(d < 2e-6 * scale, `${name}: gradients differ by ${d} (largest ${scale})`);
  }
  tf.dispose([teacher, student, mask]);
});

Deno.test("the wasm fused path rejects NaN/Inf logits from its own sweep", async () => {
  await wasm();
  const [n, v] = [6, 301];
  const clean = Float32Array.from(logits(n, v, 31, 2));
  const withBad = (index: number, bad: number) => {
    const x = clean.slice();
    x[index] = bad;
    return tf.tensor2d(x, [n, v]);
  };
  const good = tf.tensor2d(clean, [n, v]);
  const cases: [string, tf.Tensor2D, tf.Tensor2D, RegExp][] = [
    ["NaN teacher (row tail)", withBad(5 * v + 300, NaN), good, /taidLoss: teacherLogits/],
    ["+Inf student", good, withBad(0, Infinity), /taidLoss: studentLogits contain NaN or Inf/],
    ["-Inf student", good, withBad(2 * v + 7, -Infinity), /taidLoss: studentLogits/],
  ];
  // wasm reads synchronously: the check throws at the call (webgpu defers it to the next flush).
  const before = tf.memory().numTensors;
  for (const [label, t, s, message] of cases) {
    nodeAssert.throws(() => taidLoss(t, s, 0.4), message, label);
  }
  assert(tf.memory().numTensors === before, "a rejected call leaves no tensors behind");
  const value = taidLoss(good, good, 0.4);
  assert(Math.abs(value.dataSync()[0]) < 1e-6, "D(p‖p) = 0");
  tf.dispose([value, good, ...cases.flatMap(([, t, s]) => [t, s])]);
});

Deno.test("wasm fused kernels stay right after the wasm heap grows, and leak nothing", async () => {
  await wasm();
  const [n, v] = [64, 515];
  const t = tf.tensor2d(Float32Array.from(logits(n, v, 41, 3)), [n, v]);
  const s = tf.tensor2d(Float32Array.from(logits(n, v, 42, 3)), [n, v]);
  const c = CASES[0];
  const first = fused(c, t, s);
  const big = tf.zeros([1 << 24]); // 64 MiB: the heap grows and its buffer is replaced
  const before = tf.memory().numTensors;
  const again = fused(c, t, s);
  assert(tf.memory().numTensors === before, "no tensor leaks");
  nodeAssert.deepEqual(again.values, first.values);
  nodeAssert.deepEqual(again.grads, first.grads);
  tf.dispose([t, s, big]);
});

Deno.test("fusedDivergenceRows names the backends it needs", async () => {
  await initBackend("cpu", { log: false });
  started = undefined;
  assert(!fusedDivergenceAvailable());
  const x = tf.zeros([2, 4]) as tf.Tensor2D;
  nodeAssert.throws(
    () => fusedDivergenceRows({ kind: "fkl" }, x, x, { temperature: 1 }),
    /needs the webgpu backend or the wasm backend with SIMD, active is cpu/,
  );
  x.dispose();
});
