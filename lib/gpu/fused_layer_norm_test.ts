/**
 * The fused layer norm on the webgpu backend (the software adapter in CI): values and gradients
 * to x, gain and bias against a float64 reference (whose gradient is checked by finite
 * differences), against the composite form, on rank 3 and wide rows, without leaks, and errors.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { layerNorm } from "../models/ops.ts";
import { setFusedKernels } from "./env.ts";
import { fusedLayerNorm } from "./fused_layer_norm.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";

function values(n: number, seed: number, scale: number, shift = 0): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return shift + scale * (2 * (s / 2 ** 32) - 1);
  });
}

/** float64 Σ w·LN(x) over rows of width c, and its gradients to x, gain and bias. */
function reference(x: Float32Array, gain: Float32Array, bias: Float32Array, w: Float32Array) {
  const c = gain.length, n = x.length / c, eps = 1e-5;
  let value = 0;
  const dx = new Float64Array(x.length), dg = new Float64Array(c), db = new Float64Array(c);
  for (let r = 0; r < n; r++) {
    const row = Array.from(x.subarray(r * c, (r + 1) * c));
    const mean = row.reduce((a, b) => a + b, 0) / c;
    const rstd = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / c + eps);
    const xhat = row.map((v) => (v - mean) * rstd);
    const g = xhat.map((_, j) => w[r * c + j] * gain[j]);
    const meanG = g.reduce((a, b) => a + b, 0) / c;
    const meanGX = g.reduce((a, b, j) => a + b * xhat[j], 0) / c;
    for (let j = 0; j < c; j++) {
      value += w[r * c + j] * (xhat[j] * gain[j] + bias[j]);
      dx[r * c + j] = rstd * (g[j] - meanG - xhat[j] * meanGX);
      dg[j] += w[r * c + j] * xhat[j];
      db[j] += w[r * c + j];
    }
  }
  return { value, dx, dg, db };
}

Deno.test("the float64 layer-norm gradient matches central finite differences", () => {
  const c = 5;
  const x = values(3 * c, 1, 2, 0.5), gain = values(c, 2, 1, 1), bias = values(c, 3, 1);
  const w = values(3 * c, 4, 1);
  const { dx } = reference(x, gain, bias, w);
  for (let i = 0; i < x.length; i++) {
    const h = 1e-3; // float32 inputs: a wide step, compared loosely
    const up = Float32Array.from(x), down = Float32Array.from(x);
    up[i] += h;
    down[i] -= h;
    const fd = (reference(up, gain, bias, w).value - reference(down, gain, bias, w).value) /
      (up[i] - down[i]);
    assert.ok(Math.abs(fd - dx[i]) < 1e-4 * Math.max(1, Math.abs(dx[i])), `dx[${i}]`);
  }
});

gpuTest("fused layer norm matches float64 values and gradients (x, gain, bias)", async () => {
  await initBackend("webgpu", { log: false });
  // [B, T, C, spread, offset]; the last case has a variance below eps (eps dominates the scale).
  const cases = [[2, 3, 7, 1, 3], [1, 5, 1500, 30, 3], [4, 1, 96, 1e-3, 0]];
  for (const [b, t, c, spread, offset] of cases) {
    const n = b * t * c;
    const xs = values(n, 5, spread, offset), gs = values(c, 6, 1, 1), bs = values(c, 7, 1);
    const ws = values(n, 8, 1);
    const x = tf.tensor3d(xs, [b, t, c]), gain = tf.tensor1d(gs), bias = tf.tensor1d(bs);
    const w = tf.tensor3d(ws, [b, t, c]);
    const f = (a: tf.Tensor, g: tf.Tensor, h: tf.Tensor) =>
      tf.sum(tf.mul(fusedLayerNorm(a, g as tf.Tensor1D, h as tf.Tensor1D), w));
    const before = tf.memory().numTensors;
    const [dx, dg, db] = tf.grads(f)([x, gain, bias]);
    const value = tf.tidy(() => f(x, gain, bias));
    const got = [await value.data(), await dx.data(), await dg.data(), await db.data()];
    tf.dispose([value, dx, dg, db]);
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
    const ref = reference(xs, gs, bs, ws);
    const label = `[${b}, ${t}, ${c}] spread ${spread}`;
    const close = (a: ArrayLike<number>, e: ArrayLike<number>, tol: number, what: string) => {
      const scale = Math.max(1, ...Array.from(e, Math.abs));
      for (let i = 0; i < e.length; i++) {
        assert.ok(
          Math.abs(a[i] - e[i]) < tol * scale,
          `${label} ${what}[${i}]: ${a[i]} vs ${e[i]}`,
        );
      }
    };
    close(got[0], [ref.value], 1e-4, "value");
    close(got[1], ref.dx, 1e-4, "dx");
    close(got[2], ref.dg, 1e-4, "dgain");
    close(got[3], ref.db, 1e-5, "dbias");
    tf.dispose([x, gain, bias, w]);
  }
  await initBackend("cpu", { log: false });
});

gpuTest(
  "ops.layerNorm takes the fused kernels on webgpu and agrees with the composite form",
  async () => {
    await initBackend("webgpu", { log: false });
    const x = tf.tensor2d(values(16 * 40, 9, 2), [16, 40]);
    const gain = tf.tensor1d(values(40, 10, 1, 1)), bias = tf.tensor1d(values(40, 11, 1));
    const run = async (fused: boolean) => {
      setFusedKernels(fused);
      const profile = await tf.profile(() => layerNorm(x, gain, bias));
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(layerNorm(a, g as tf.Tensor1D, b as tf.Tensor1D)))
      )([x, gain, bias]);
      const out = {
        kernels: profile.kernels.map((k) => k.name).filter(Boolean), // customGrad records as ""
        y: await (profile.result as tf.Tensor).data(),
        grads: await Promise.all(grads.map((g) => g.data())),
      };
      tf.dispose([profile.result as tf.Tensor, ...grads]);
      return out;
    };
    const fused = await run(true), composite = await run(false);
    setFusedKernels(true);
    assert.deepEqual(fused.kernels.filter((k) => k.startsWith("Kdlab")), [
      "KdlabLayerNormRows",
      "KdlabLayerNormApply",
    ]);
    assert.ok(composite.kernels.length >= 6, composite.kernels.join());
    fused.y.forEach((v, i) => assert.ok(Math.abs(v - composite.y[i]) < 1e-5, `y[${i}]`));
    fused.grads.forEach((g, k) =>
      g.forEach((v, i) => {
        const e = composite.grads[k][i];
        assert.ok(
          Math.abs(v - e) < 1e-4 * Math.max(1, Math.abs(e)),
          `grad ${k}[${i}]: ${v} vs ${e}`,
        );
      })
    );
    assert.throws(
      () => fusedLayerNorm(x, tf.ones([39]) as tf.Tensor1D, bias),
      /gain, bias \[C\]; got \[16,40\], \[39\], \[40\]/,
    );
    assert.throws(() => fusedLayerNorm(x, gain, bias, 0), /eps must be > 0/);
    tf.dispose([x, gain, bias]);
    await initBackend("cpu", { log: false });
  },
);
