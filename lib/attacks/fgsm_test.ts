import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { createMLP } from "../models/mod.ts";
import { fgsm, fgsmCurve, inputGradient } from "./mod.ts";

/** ∇ₓ CE for a one-hidden-layer ReLU MLP, in float64 (backprop by hand). */
function inputGradient64(
  w0: number[][],
  b0: number[],
  w1: number[][],
  b1: number[],
  x: number[],
  y: number,
  T: number,
): number[] {
  const h = b0.map((b, j) => Math.max(0, b + x.reduce((s, xi, i) => s + xi * w0[i][j], 0)));
  const z = b1.map((b, k) => (b + h.reduce((s, hj, j) => s + hj * w1[j][k], 0)) / T);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  const dz = e.map((v, k) => (v / sum - (k === y ? 1 : 0)) / T);
  const dh = h.map((hj, j) => hj > 0 ? dz.reduce((s, d, k) => s + d * w1[j][k], 0) : 0);
  return x.map((_, i) => dh.reduce((s, d, j) => s + d * w0[i][j], 0));
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`FGSM: input gradient matches float64 backprop; ε steps by its sign and clips (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const model = createMLP({ hidden: [5], classes: 3, seed: 4 });
    const p = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, v.arraySync()]));
    const xs = Array.from({ length: 784 }, (_, i) => ((i * 37) % 101) / 100);
    for (const T of [1, 7]) {
      const grad = tf.tidy(() =>
        inputGradient(model, tf.tensor4d(xs, [1, 28, 28, 1]), tf.tensor1d([2], "int32"), T)
          .dataSync()
      );
      const ref = inputGradient64(
        p["fc0.w"] as number[][],
        p["fc0.b"] as number[],
        p["head.w"] as number[][],
        p["head.b"] as number[],
        xs,
        2,
        T,
      );
      ref.forEach((r, i) =>
        assert.ok(Math.abs(grad[i] - r) < 1e-5, `T=${T} grad[${i}] ${grad[i]} vs ${r}`)
      );
      const adv = tf.tidy(() =>
        fgsm(model, tf.tensor4d(xs, [1, 28, 28, 1]), tf.tensor1d([2], "int32"), 0.1, T).dataSync()
      );
      adv.forEach((a, i) => {
        const expected = Math.min(1, Math.max(0, xs[i] + 0.1 * Math.sign(ref[i])));
        assert.ok(Math.abs(a - expected) < 1e-6, `adv[${i}]`);
      });
    }
    // A saturated softmax (head scaled ×40, label = argmax): input gradients far below 1e-7 but
    // not 0; the step must still move every pixel whose gradient is nonzero (wasm's Sign kernel
    // returns 0 below 1.2e-7).
    const x1 = tf.tensor4d(xs, [1, 28, 28, 1]);
    const head = model.params["head.w"] as tf.Variable;
    const saved = head.clone();
    head.assign(head.mul(40));
    const label = tf.tidy(() => model.logits(x1).argMax(1).cast("int32")) as tf.Tensor1D;
    const [small, stepped] = tf.tidy(() => [
      inputGradient(model, x1, label).dataSync(),
      fgsm(model, x1, label, 0.1).dataSync(),
    ]);
    const nonzero = small.filter((g) => g !== 0);
    assert.ok(nonzero.length > 100, `nonzero gradients: ${nonzero.length}`);
    assert.ok(Math.max(...nonzero.map(Math.abs)) < 1e-7, "the gradients are tiny");
    stepped.forEach((a, i) => {
      const expected = Math.fround(Math.min(1, Math.max(0, xs[i] + 0.1 * Math.sign(small[i]))));
      assert.ok(Math.abs(a - expected) < 1e-6, `tiny-gradient step [${i}]: ${a} vs ${expected}`);
    });
    head.assign(saved);
    tf.dispose([x1, saved, label]);
    const split = {
      images: Float32Array.from({ length: 2 * 784 }, (_, i) => xs[i % 784]),
      labels: Int32Array.of(0, 2),
      count: 2,
    };
    const curve = await fgsmCurve(model, split, [0, 0.2]);
    assert.equal(curve.length, 2);
    assert.equal(curve[0].zeroGradient, 0);
    // Each ε's accuracy is that of fgsm's images, example by example, whatever the batching.
    const epsilons = [0, 0.05, 0.2, 0.6];
    const expected = epsilons.map((epsilon) =>
      tf.tidy(() => {
        let hits = 0;
        for (let i = 0; i < split.count; i++) {
          const x = tf.tensor4d(split.images.slice(i * 784, (i + 1) * 784), [1, 28, 28, 1]);
          const y = tf.tensor1d([split.labels[i]], "int32");
          const adv = fgsm(model, x, y, epsilon);
          if (model.logits(adv).argMax(1).dataSync()[0] === split.labels[i]) hits++;
        }
        return hits / split.count;
      })
    );
    for (const batchSize of [1, 250]) {
      const accuracies = (await fgsmCurve(model, split, epsilons, { batchSize })).map((c) =>
        c.accuracy
      );
      assert.deepEqual(accuracies, expected, `batchSize ${batchSize}`);
    }
    assert.deepEqual(await fgsmCurve(model, split, []), []);
    assert.throws(
      () => fgsm(model, tf.zeros([1, 28, 28, 1]) as tf.Tensor4D, tf.tensor1d([0], "int32"), -1),
      /epsilon must be ≥ 0/,
    );
    await initBackend("cpu", { log: false });
  });
}
