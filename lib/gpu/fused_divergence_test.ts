/**
 * The fused WebGPU divergences on the software adapter (llvmpipe) against a float64 reference
 * (values, and gradients from the generic mapping ∂D/∂z = (g − q·Σg)/T, itself checked by finite
 * differences) and against the composite tfjs path of the public losses.
 */
import * as tf from "@tensorflow/tfjs";
import nodeAssert from "node:assert/strict";
import { flushDeferredChecks } from "../deferred_checks.ts";
import { initBackend } from "../backend.ts";
import { forwardKL } from "../losses/forward_kl.ts";
import { taidLoss } from "../taid/taid_loss.ts";
import { type FusedDivergence, fusedDivergenceRows } from "./fused_divergence.ts";
import type { Case } from "../../tests/reference/fused_divergence64.ts";
import { fusedKernelsAvailable, setFusedKernels } from "./env.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";
import {
  assertFusedLossesMatchComposite,
  nonFiniteLogitCases,
} from "../../tests/fixtures/fused_losses.ts";
import {
  CASES,
  logits,
  logSoftmax,
  maxAbsDiff,
  reference,
  referenceRow,
} from "../../tests/reference/fused_divergence64.ts";

const assert = (ok: boolean, message?: string) => nodeAssert.ok(ok, message);
const assertEquals = (a: unknown, b: unknown) => nodeAssert.deepEqual(a, b);
const assertThrows = (fn: () => unknown, _type: ErrorConstructor, includes: string) =>
  nodeAssert.throws(fn, (e: Error) => e.message.includes(includes));

let started: Promise<unknown> | undefined;
const webgpu = () => started ??= initBackend("webgpu", { log: false });

Deno.test("the float64 reference gradient matches central finite differences", () => {
  const v = 9;
  const t = logits(1, v, 3, 2), s = logits(1, v, 4, 2);
  for (const c of CASES) {
    const { grad } = referenceRow(c, t, s);
    for (let i = 0; i < v; i++) {
      const h = 1e-6;
      const up = s.slice(), down = s.slice();
      up[i] += h;
      down[i] -= h;
      // The target is constant: hold it at the unperturbed student logits.
      const frozen = (x: Float64Array) => {
        const lam = c.interpolation;
        const target = t.map((z, j) => (lam * z + (1 - lam) * s[j] - (1 - lam) * x[j]) / lam);
        return referenceRow(c, lam === 0 ? t : target, x).value;
      };
      const fd = (frozen(up) - frozen(down)) / (2 * h);
      assert(Math.abs(fd - grad[i]) < 1e-7, `${c.divergence.kind} i=${i}: ${fd} vs ${grad[i]}`);
    }
  }
});

/**
 * Per-row values and ∂(Σ rows)/∂student of a case on the fused path, read back and freed; with
 * `lambdaTensor`, λ goes to the kernels as a device scalar instead of a uniform.
 */
async function fused(c: Case, t: tf.Tensor2D, s: tf.Tensor2D, lambdaTensor = false) {
  const lambda = lambdaTensor ? tf.scalar(c.interpolation) : undefined;
  const opts = { temperature: c.temperature, interpolation: lambda ?? c.interpolation };
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
    tf.sum(fusedDivergenceRows(c.divergence, t, x as tf.Tensor2D, opts))
  )(s);
  const rows = fusedDivergenceRows(c.divergence, t, s, opts);
  const out = { values: await rows.data(), grads: await grad.data() };
  tf.dispose([value, grad, rows, ...lambda ? [lambda] : []]);
  return out;
}

gpuTest("fused divergences match the float64 reference (values and gradients)", async () => {
  await webgpu();
  for (const [n, v] of [[3, 5], [7, 3001]]) {
    const t64 = logits(n, v, 11, 4), s64 = logits(n, v, 12, 3);
    const t = tf.tensor2d(Float32Array.from(t64), [n, v]);
    const s = tf.tensor2d(Float32Array.from(s64), [n, v]);
    for (const c of CASES) {
      const ref = reference(c, t64, s64, n, v);
      const { values, grads } = await fused(c, t, s);
      const label =
        `${c.divergence.kind} β=${c.divergence.beta} T=${c.temperature} λ=${c.interpolation} [${n},${v}]`;
      const scale = Math.max(1, ...Array.from(ref.values, Math.abs));
      assert(maxAbsDiff(values, ref.values) < 2e-5 * scale, `${label}: values`);
      assert(maxAbsDiff(grads, ref.grads) < 2e-6, `${label}: gradients`);
    }
    tf.dispose([t, s]);
  }
});

gpuTest(
  "a device-side λ (TAID's t as a tensor) gives the uniform λ's values and gradients",
  async () => {
    await webgpu();
    const [n, v] = [5, 777];
    const t64 = logits(n, v, 21, 4), s64 = logits(n, v, 22, 3);
    const t = tf.tensor2d(Float32Array.from(t64), [n, v]);
    const s = tf.tensor2d(Float32Array.from(s64), [n, v]);
    const before = tf.memory().numTensors;
    for (const c of CASES.filter((c) => c.interpolation !== 1 || c.divergence.kind === "rkl")) {
      for (const lambda of [c.interpolation, 0.25]) {
        const k = { ...c, interpolation: lambda };
        const ref = reference(k, t64, s64, n, v);
        const { values, grads } = await fused(k, t, s, true);
        const label = `${k.divergence.kind} T=${k.temperature} λ=${lambda} (tensor)`;
        assert(
          maxAbsDiff(values, ref.values) < 2e-5 * Math.max(1, ...ref.values),
          `${label}: values`,
        );
        assert(maxAbsDiff(grads, ref.grads) < 2e-6, `${label}: gradients`);
      }
    }
    assert(tf.memory().numTensors === before, "no tensor leaks");
    const two = tf.ones([2]);
    assertThrows(
      () => fusedDivergenceRows({ kind: "fkl" }, t, s, { temperature: 1, interpolation: two }),
      Error,
      "a tensor interpolation must be a float32 scalar, got float32 [2]",
    );
    tf.dispose([t, s, two]);
  },
);

gpuTest("fused divergences stay finite and exact on extreme logits", async () => {
  await webgpu();
  const n = 2, v = 600;
  const t64 = logits(n, v, 5, 60), s64 = logits(n, v, 6, 80); // softmaxes are one-hot in float32
  const t = tf.tensor2d(Float32Array.from(t64), [n, v]);
  const s = tf.tensor2d(Float32Array.from(s64), [n, v]);
  for (const c of CASES) {
    const ref = reference(c, t64, s64, n, v);
    const { values, grads } = await fused(c, t, s);
    assert(values.every(Number.isFinite) && grads.every(Number.isFinite), c.divergence.kind);
    // Vulkan allows exp() an error of 3 + 2·|x| ULP: with |ℓ| in the hundreds, float32 results
    // carry relative errors of a few 1e-6 of the divergence's size (the composite path too).
    const scale = Math.max(1, ...Array.from(ref.values, Math.abs));
    assert(maxAbsDiff(values, ref.values) < 2e-5 * scale, `${c.divergence.kind}: values`);
    assert(maxAbsDiff(grads, ref.grads) < 1e-5 * scale, `${c.divergence.kind}: gradients`);
  }
  tf.dispose([t, s]);
});

gpuTest(
  "the public losses take the fused path on webgpu and agree with the composite path",
  async () => {
    await webgpu();
    assert(fusedKernelsAvailable());
    await assertFusedLossesMatchComposite();
  },
);

gpuTest("fused kernels leak no tensors and fold dispatches past 65535 rows", async () => {
  await webgpu();
  const t = tf.randomNormal([70_000, 3], 0, 1, "float32", 1) as tf.Tensor2D;
  const s = tf.randomNormal([70_000, 3], 0, 1, "float32", 2) as tf.Tensor2D;
  const loss = (x: tf.Tensor) => forwardKL(t, x, { validate: false });
  const step = async () => {
    const { value, grad } = tf.valueAndGrad(loss)(s);
    const out = [await value.data(), await grad.data()] as const;
    tf.dispose([value, grad]);
    return out;
  };
  const [v0, g0] = await step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await step();
  assertEquals(tf.memory().numTensors, before);
  // The last row (in the folded part of the dispatch) against the composite path.
  setFusedKernels(false);
  const [v1, g1] = await step();
  setFusedKernels(true);
  assert(Math.abs(v0[0] - v1[0]) < 1e-6, `${v0[0]} vs ${v1[0]}`);
  assert(maxAbsDiff(g0.slice(-300), g1.slice(-300)) < 1e-9 + 1e-6);
  tf.dispose([t, s]);
});

gpuTest(
  "the fused path rejects NaN/Inf logits from its own sweep, without extra passes",
  async () => {
    await webgpu();
    const { good, cases } = nonFiniteLogitCases(6, 300);
    for (const [label, t, s, message] of cases) {
      const value = taidLoss(t, s, 0.4);
      await nodeAssert.rejects(flushDeferredChecks(), message, label);
      value.dispose();
    }
    // Clean logits pass, with no Abs pass (the composite check) among the kernels.
    const profile = await tf.profile(() => taidLoss(good, good, 0.4));
    await flushDeferredChecks();
    const names = profile.kernels.map((k) => k.name);
    assert(names.includes("KdlabDivergenceRows") && !names.includes("Abs"), names.join());
    tf.dispose([good, ...cases.flatMap(([, t, s]) => [t, s]), profile.result as tf.Tensor]);
  },
);

gpuTest("bad parameters of the fused kernels are clear errors", async () => {
  await webgpu();
  const t = tf.zeros([2, 4]) as tf.Tensor2D, s = tf.zeros([2, 4]) as tf.Tensor2D;
  const call = (d: FusedDivergence, temperature = 1, interpolation = 1, x = s) => () =>
    fusedDivergenceRows(d, t, x, { temperature, interpolation });
  assertThrows(call({ kind: "hellinger" as "fkl" }), Error, 'unknown kind "hellinger"');
  assertThrows(call({ kind: "gjsd", beta: 0 }), Error, "beta in (0, 1)");
  assertThrows(call({ kind: "skl", alpha: 1 }), Error, "alpha in (0, 1)");
  assertThrows(call({ kind: "fkl" }, 0), Error, "temperature must be");
  assertThrows(call({ kind: "fkl" }, 1, 1.5), Error, "interpolation must be in [0, 1]");
  assertThrows(
    call({ kind: "fkl" }, 1, 1, tf.zeros([2, 5]) as tf.Tensor2D),
    Error,
    "[2,4] and [2,5]",
  );
  await initBackend("cpu", { log: false });
  assert(!fusedKernelsAvailable());
  assertThrows(call({ kind: "fkl" }), Error, "needs the webgpu backend");
  started = undefined;
});

gpuTest(
  "the gradient kernel is right when its dispatch folds (more than 65535 workgroups)",
  async () => {
    await webgpu();
    const [n, v] = [4100, 4100]; // 16.8M logits: 65,664 workgroups of 256 threads
    const t = tf.randomNormal([n, v], 0, 1, "float32", 1) as tf.Tensor2D;
    const s = tf.randomNormal([n, v], 0, 1, "float32", 2) as tf.Tensor2D;
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(fusedDivergenceRows({ kind: "fkl" }, t, x as tf.Tensor2D, { temperature: 1 }))
    )(s);
    const tail = (x: tf.Tensor) => tf.slice(x, [n - 2, 0], [2, v]).data();
    const [gl, tl, sl] = await Promise.all([tail(g), tail(t), tail(s)]);
    for (let r = 0; r < 2; r++) {
      const lp = logSoftmax(Float64Array.from(tl.subarray(r * v, (r + 1) * v)));
      const lq = logSoftmax(Float64Array.from(sl.subarray(r * v, (r + 1) * v)));
      for (let i = 0; i < v; i++) {
        const want = Math.exp(lq[i]) - Math.exp(lp[i]);
        assert(Math.abs(gl[r * v + i] - want) < 1e-7, `row ${n - 2 + r}, col ${i}`);
      }
    }
    tf.dispose([t, s, g]);
  },
);
