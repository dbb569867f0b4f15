/**
 * The WebAssembly SIMD fused divergences against the float64 reference (values and gradients,
 * every divergence, row tails of every length, λ as a number and as a tensor, extreme logits) and
 * against the composite tfjs path of the public losses, on the wasm backend.
 */
import * as tf from "@tensorflow/tfjs";
import nodeAssert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { fusedDivergenceAvailable, fusedDivergenceRows } from "../gpu/fused_divergence.ts";
import { taidLoss } from "../taid/taid_loss.ts";
import {
  type Case,
  CASES,
  logits,
  maxAbsDiff,
  reference,
} from "../../tests/reference/fused_divergence64.ts";
import {
  assertFusedLossesMatchComposite,
  nonFiniteLogitCases,
} from "../../tests/fixtures/fused_losses.ts";

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
  await assertFusedLossesMatchComposite();
});

Deno.test("the wasm fused path rejects NaN/Inf logits from its own sweep", async () => {
  await wasm();
  const { good, cases } = nonFiniteLogitCases(6, 301);
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
