import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend.ts";
import { Rng } from "../data/rng.ts";
import { matrix } from "../linalg/mod.ts";
import { AdaLoss } from "./ada_loss.ts";
import { FEATURE_LOSSES, featureLoss, type FeatureLossName } from "./feature_losses.ts";
import { MultiTeacherHeads } from "./multi_teacher.ts";
import { fitNormalizer } from "./normalizer.ts";

await initBackend("cpu", { log: false });

type Rows = number[][];
const rng = new Rng(5);
const random = (n: number, c: number, s = 1): Rows =>
  Array.from({ length: n }, () => Array.from({ length: c }, () => s * (rng.next() * 2 - 1)));

/** Float64 references of the losses (paper eq. 1–4, smooth-L1 with threshold b). */
function reference(name: FeatureLossName, x: Rows, y: Rows, beta = 0.9, b = 2): number {
  const n = x.length;
  const c = x[0].length;
  let mse = 0;
  let sl1 = 0;
  let cos = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let nx = 0;
    let ny = 0;
    for (let j = 0; j < c; j++) {
      const d = x[i][j] - y[i][j];
      mse += d * d;
      sl1 += Math.abs(d) < b ? 0.5 * d * d / b : Math.abs(d) - 0.5 * b;
      dot += x[i][j] * y[i][j];
      nx += x[i][j] ** 2;
      ny += y[i][j] ** 2;
    }
    cos += 1 - dot / (Math.max(Math.sqrt(nx), 1e-8) * Math.max(Math.sqrt(ny), 1e-8));
  }
  mse /= n * c;
  sl1 /= n * c;
  cos /= n;
  return {
    "mse": mse,
    "cosine": cos,
    "smooth-l1": sl1,
    "hybrid-cosine-smooth-l1": beta * cos + (1 - beta) * sl1,
    "hybrid-cosine-mse": beta * cos + (1 - beta) * mse,
  }[name];
}

Deno.test("feature losses: values and gradients match float64 references and finite differences", () => {
  const x = random(4, 6, 3); // |d| spans both smooth-L1 branches
  const y = random(4, 6, 3);
  for (const name of FEATURE_LOSSES) {
    const got = tf.tidy(() => featureLoss(name, tf.tensor2d(x), tf.tensor2d(y)).dataSync()[0]);
    const want = reference(name, x, y);
    assert.ok(
      Math.abs(got - want) < 1e-5 * Math.max(1, Math.abs(want)),
      `${name}: ${got} vs ${want}`,
    );
    const grad = tf.tidy(() =>
      tf.grad((p: tf.Tensor) => featureLoss(name, p as tf.Tensor2D, tf.tensor2d(y)))(tf.tensor2d(x))
        .dataSync()
    );
    const h = 1e-6;
    x.forEach((row, i) =>
      row.forEach((_, j) => {
        const plus = x.map((r) => r.slice());
        const minus = x.map((r) => r.slice());
        plus[i][j] += h;
        minus[i][j] -= h;
        const numeric = (reference(name, plus, y) - reference(name, minus, y)) / (2 * h);
        assert.ok(
          Math.abs(grad[i * 6 + j] - numeric) < 1e-4,
          `${name} ∂/∂x[${i}][${j}]: ${grad[i * 6 + j]} vs ${numeric}`,
        );
      })
    );
  }
});

Deno.test("feature losses: zero at the target, cosine ignores scale, bad input is named", () => {
  const x = random(3, 4);
  tf.tidy(() => {
    for (const name of FEATURE_LOSSES) {
      assert.ok(
        Math.abs(featureLoss(name, tf.tensor2d(x), tf.tensor2d(x)).dataSync()[0]) < 1e-6,
        name,
      );
    }
    const scaled = x.map((r) => r.map((v) => 7 * v));
    assert.ok(featureLoss("cosine", tf.tensor2d(scaled), tf.tensor2d(x)).dataSync()[0] < 1e-6);
    assert.throws(
      () => featureLoss("mse", tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D),
      /differ in shape/,
    );
    assert.throws(
      () => featureLoss("mse", tf.zeros([0, 3]) as tf.Tensor2D, tf.zeros([0, 3]) as tf.Tensor2D),
      /empty batch/,
    );
    assert.throws(
      () =>
        featureLoss(
          "hybrid-cosine-mse",
          tf.zeros([1, 3]) as tf.Tensor2D,
          tf.zeros([1, 3]) as tf.Tensor2D,
          { beta: 2 },
        ),
      /beta/,
    );
    assert.throws(
      () =>
        featureLoss(
          "l3" as "mse",
          tf.zeros([1, 3]) as tf.Tensor2D,
          tf.zeros([1, 3]) as tf.Tensor2D,
        ),
      /unknown loss "l3"/,
    );
  });
});

Deno.test("AdaLoss: divides by the bias-corrected running mean, constant for the gradient, state round-trips", async () => {
  const ada = new AdaLoss(0.9);
  const values = [4, 2, 8];
  const averages: number[] = [];
  let ema = 0;
  values.forEach((v, k) => {
    const w = tf.variable(tf.scalar(1), true, `ada${k}`);
    const { value, grads } = tf.variableGrads(
      () => ada.scale("t", tf.mul(tf.scalar(v), w) as tf.Scalar),
      [w],
    );
    w.dispose();
    const divisor = k === 0 ? v : ema / (1 - 0.9 ** k);
    assert.ok(Math.abs(value.dataSync()[0] - v / divisor) < 1e-6);
    assert.ok(
      Math.abs(Object.values(grads)[0].dataSync()[0] - v / divisor) < 1e-6,
      "divisor is a constant",
    );
    tf.dispose([value, ...Object.values(grads)]);
    ada.observe();
    ema = 0.9 * ema + 0.1 * v;
    averages.push(tf.tidy(() => ada.average("t")!.dataSync()[0]));
    assert.ok(Math.abs(averages[k] - ema / (1 - 0.9 ** (k + 1))) < 1e-6 * averages[k]);
  });
  assert.equal(averages[0], 4);
  // A closed gate (the trainer's: the step was not finite) leaves the averages as they were.
  const before = await ada.state();
  tf.tidy(() => ada.scale("t", tf.scalar(NaN)));
  const closed = tf.tensor1d([0]);
  ada.observe(closed);
  closed.dispose();
  assert.deepEqual((await ada.state()).averages, before.averages);
  const copy = new AdaLoss(0.9);
  copy.load(JSON.parse(JSON.stringify(await ada.state())));
  assert.deepEqual(await copy.state(), await ada.state());
  const read = (a: AdaLoss) => tf.tidy(() => a.average("t")!.dataSync()[0]);
  assert.equal(read(copy), read(ada));
  const count = tf.memory().numTensors;
  ada.dispose();
  copy.dispose();
  assert.equal(tf.memory().numTensors, count - 2, "dispose frees the averages");
  assert.throws(() => new AdaLoss(1), /decay/);
  // A non-positive average is named (checked at once on cpu).
  const bad = new AdaLoss(0.5);
  bad.load({ steps: 1, averages: { t: -1 } });
  assert.throws(() => tf.tidy(() => bad.scale("t", tf.scalar(1))), /term "t" has non-positive/);
  bad.dispose();
});

Deno.test("MultiTeacherHeads: loss = Σ per-teacher MSE on normalised targets; folded heads predict teacher space", () => {
  const wide = matrix(64, 12, random(64, 12, 50).flat());
  const narrow = matrix(64, 4, random(64, 4, 0.01).flat().map((v, i) => v + (i % 4)));
  const heads = new MultiTeacherHeads({
    teachers: [
      { name: "a", normalizer: fitNormalizer("phi-s", wide) },
      { name: "b", normalizer: fitNormalizer("per-dim-std", narrow), weight: 0.5 },
    ],
    trunkDim: 8,
    hidden: 16,
    seed: 1,
  });
  tf.tidy(() => {
    const f = tf.tensor2d(random(64, 8));
    const raw = {
      a: tf.tensor2d(Float32Array.from(wide.data), [64, 12]),
      b: tf.tensor2d(Float32Array.from(narrow.data), [64, 4]),
    };
    const targets = heads.targets(raw);
    const total = heads.loss(f, targets).dataSync()[0];
    const mse = (t: string) =>
      tf.mean(tf.squaredDifference(heads.predict(f, t), targets[t])).dataSync()[0];
    assert.ok(Math.abs(total - (mse("a") + 0.5 * mse("b"))) < 1e-5 * total);
    const logged = heads.observe().loss_a.dataSync()[0];
    assert.ok(Math.abs(logged - mse("a")) < 1e-5 * logged);
    // Targets have unit scale whatever the teacher's scale was.
    assert.ok(Math.abs(tf.moments(targets.a).variance.dataSync()[0] - 1) < 0.05);
    // The folded final layer gives the teacher-space prediction directly.
    const folded = heads.foldedFinalLayer("a");
    const p = heads.params;
    const hidden = tf.tidy(() => {
      const pre = tf.add(tf.matMul(f, p["adaptor.a.w1"]), p["adaptor.a.b1"]);
      return tf.mul(
        0.5,
        tf.mul(
          pre,
          tf.add(
            1,
            tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(pre, tf.mul(0.044715, tf.pow(pre, 3))))),
          ),
        ),
      );
    });
    const direct = tf.add(tf.matMul(hidden, folded.kernel), folded.bias).dataSync();
    const viaInverse = heads.predictTeacherSpace(f, "a").dataSync();
    viaInverse.forEach((v, i) =>
      assert.ok(Math.abs(direct[i] - v) < 1e-3 * Math.max(1, Math.abs(v)), `${i}`)
    );
    assert.throws(() => heads.loss(f, { a: targets.a }), /missing targets of teacher "b"/);
  });
  assert.throws(() => new MultiTeacherHeads({ teachers: [], trunkDim: 4, seed: 1 }), /no teachers/);
});
