import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { numericGradient, randomRows, type Rows64 } from "../../tests/reference/losses64.ts";
import { initBackend } from "../backend.ts";
import { logSumExp } from "./log_sum_exp.ts";

/** Float64 log Σ exp along axis 1 (rows) or 0 (columns), shifted by the max. */
function lse64(x: Rows64, axis: 0 | 1): number[] {
  const lines = axis === 1 ? x : x[0].map((_, j) => x.map((r) => r[j]));
  return lines.map((v) => {
    const m = Math.max(...v);
    return m + Math.log(v.reduce((s, y) => s + Math.exp(y - m), 0));
  });
}

/** A scalar of lse: Σ_i w_i · lse_i with fixed weights, so every output gets its own dy. */
const weights = [0.7, -1.3, 2.1, 0.4, -0.2, 1.5];
const weighted64 = (x: Rows64, axis: 0 | 1) =>
  lse64(x, axis).reduce((s, v, i) => s + weights[i] * v, 0);

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`logSumExp: known answer and finite-difference gradient, both axes, keepDims (${backend})`, async () => {
    await initBackend(backend, { log: false });
    // A far-off row (exp(100) overflows float32 without the shift), rounded to float32 so that the
    // float64 reference sees the inputs the backend sees.
    const x = randomRows(4, 6, 3, 11).map((r, i) =>
      r.map((v) => Math.fround(i === 2 ? v + 100 : v))
    );
    for (const axis of [0, 1] as const) {
      for (const keepDims of [false, true]) {
        const before = tf.memory().numTensors;
        const n = axis === 1 ? 4 : 6;
        tf.tidy(() => {
          const out = logSumExp(tf.tensor2d(x), axis, keepDims);
          assert.deepEqual(
            out.shape,
            axis === 1 ? (keepDims ? [4, 1] : [4]) : (keepDims ? [1, 6] : [6]),
          );
          const ref = lse64(x, axis);
          Array.from(out.dataSync()).forEach((v, i) =>
            assert.ok(Math.abs(v - ref[i]) <= 1e-6 * Math.max(1, Math.abs(ref[i])), `value ${i}`)
          );
          const w = tf.tensor(weights.slice(0, n), out.shape);
          const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logSumExp(t, axis, keepDims), w)))(
            tf.tensor2d(x),
          );
          const numeric = numericGradient((y) => weighted64(y, axis), x, 1e-4).flat();
          Array.from(grad.dataSync()).forEach((g, i) =>
            assert.ok(Math.abs(g - numeric[i]) < 5e-5, `grad ${i}: ${g} vs ${numeric[i]}`)
          );
          // The same values and gradient as tfjs's own logSumExp (which differentiates the max).
          const theirs = tf.grad((t: tf.Tensor) =>
            tf.sum(tf.mul(tf.logSumExp(t, axis, keepDims), w))
          )(
            tf.tensor2d(x),
          );
          Array.from(grad.dataSync()).forEach((g, i) =>
            assert.ok(Math.abs(g - theirs.dataSync()[i]) < 1e-5)
          );
        });
        assert.equal(tf.memory().numTensors, before, "no tensors leak");
      }
    }
    assert.ok(Math.abs(logSumExp(tf.tensor2d(x), -1).dataSync()[0] - lse64(x, 1)[0]) < 1e-5);
  });
}

Deno.test("logSumExp: a bad axis names the valid range", async () => {
  await initBackend("cpu", { log: false });
  const x = tf.zeros([2, 3]);
  assert.throws(() => logSumExp(x, 2), /axis must be an integer in \[-2, 2\), got 2/);
  assert.throws(() => logSumExp(x, 0.5), /got 0.5/);
  x.dispose();
});
