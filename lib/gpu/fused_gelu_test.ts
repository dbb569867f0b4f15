/**
 * The fused GELU on the webgpu backend (the software adapter in CI) against a float64 reference
 * (values, the analytic derivative, and that derivative against finite differences), against
 * the composite form, on extreme inputs, and through `gelu` of `lib/models/ops.ts`.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { gelu } from "../models/ops.ts";
import { setFusedKernels } from "./env.ts";
import { fusedGelu } from "./fused_gelu.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";
import { gelu64 } from "../../tests/reference/models64.ts";

const C = Math.sqrt(2 / Math.PI);
const dgelu64 = (x: number) => {
  const t = Math.tanh(C * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * 0.044715 * x * x);
};

/** Inputs over the interesting range plus extremes, exactly representable in float32. */
const XS = Float32Array.from([
  ...Array.from({ length: 401 }, (_, i) => -8 + i * 0.04),
  -1e4,
  -100,
  -20,
  -1e-7,
  0,
  1e-7,
  20,
  100,
  1e4,
]);

Deno.test("the float64 GELU derivative matches central finite differences", () => {
  for (const x of [-5, -2.5, -1, -0.3, 0, 0.2, 0.9, 1.7, 4]) {
    const h = 1e-6;
    const fd = (gelu64(x + h) - gelu64(x - h)) / (2 * h);
    assert.ok(Math.abs(fd - dgelu64(x)) < 1e-8, `x=${x}: ${fd} vs ${dgelu64(x)}`);
  }
});

gpuTest("fused GELU matches float64 values and gradients, stays finite at extremes", async () => {
  await initBackend("webgpu", { log: false });
  const x = tf.tensor1d(XS);
  const dy = tf.tensor1d(XS.map((_, i) => 1 + (i % 3)));
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(fusedGelu(t), dy)))(x);
  const y = fusedGelu(x);
  const [ys, gs] = [await y.data(), await grad.data()];
  XS.forEach((v, i) => {
    const want = gelu64(v), wantGrad = (1 + (i % 3)) * dgelu64(v);
    assert.ok(Number.isFinite(ys[i]) && Number.isFinite(gs[i]), `finite at x=${v}`);
    assert.ok(Math.abs(ys[i] - want) < 2e-6 * Math.max(1, Math.abs(want)), `y(${v}) = ${ys[i]}`);
    assert.ok(Math.abs(gs[i] - wantGrad) < 1e-5 * Math.max(1, Math.abs(wantGrad)), `y'(${v})`);
  });
  tf.dispose([x, dy, value, grad, y]);
  await initBackend("cpu", { log: false });
});

gpuTest(
  "ops.gelu takes the fused kernel on webgpu and agrees with the composite form",
  async () => {
    await initBackend("webgpu", { log: false });
    const x = tf.tensor2d(XS.slice(0, 400), [20, 20]);
    const run = async (fused: boolean) => {
      setFusedKernels(fused);
      const profile = await tf.profile(() => gelu(x));
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.square(gelu(t))))(x);
      const out = {
        kernels: profile.kernels.map((k) => k.name).filter(Boolean), // customGrad records as ""
        value: (await value.data())[0],
        grad: await grad.data(),
      };
      tf.dispose([value, grad, profile.result as tf.Tensor]);
      return out;
    };
    const fused = await run(true), composite = await run(false);
    setFusedKernels(true);
    assert.deepEqual(fused.kernels, ["KdlabGelu"]);
    assert.ok(composite.kernels.length > 5 && !composite.kernels.includes("KdlabGelu"));
    assert.ok(Math.abs(fused.value - composite.value) < 1e-5 * Math.abs(composite.value));
    fused.grad.forEach((g, i) =>
      assert.ok(Math.abs(g - composite.grad[i]) < 1e-4 * Math.max(1, Math.abs(composite.grad[i])))
    );
    assert.throws(() => fusedGelu(tf.tensor1d([1, 2], "int32")), /x must be float32, got int32/);
    x.dispose();
    await initBackend("cpu", { log: false });
    assert.throws(() => fusedGelu(tf.tensor1d([1])), /needs the webgpu backend/);
  },
);
