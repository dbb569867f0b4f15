import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { flushDeferredChecks } from "../deferred_checks.ts";
import { Rng } from "../data/rng.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";
import {
  logSoftmax64,
  numericGradient,
  randomRows,
  type Rows64,
  sparseKL64,
} from "../../tests/reference/losses64.ts";
import {
  concatSparseRows,
  forwardKL,
  getLoss,
  paddedRows,
  sparseKL,
  sparseKLPerRow,
  sparsifyLogits,
  topK,
} from "./mod.ts";

await tf.setBackend("cpu");

const [N, V, K] = [6, 7, 3];
const student = randomRows(N, V, 21, 2);
// Distinct stored ids per row; rows 2 and 3 are padded (probability 0, id 0, which row 3 also
// stores), row 4 stores mass 0.6 only.
const ids = [[0, 3, 6], [1, 2, 5], [4, 0, 0], [0, 5, 0], [2, 3, 1], [0, 1, 2]];
const probs = [
  [0.5, 0.3, 0.2],
  [0.1, 0.1, 0.8],
  [1, 0, 0],
  [0.7, 0.3, 0],
  [0.3, 0.2, 0.1],
  [0.25, 0.25, 0.5],
];
const mask = [1, 1, 0, 1, 1, 1];
const targets = () => ({
  ids: tf.tensor2d(ids.flat(), [N, K], "int32"),
  probs: tf.tensor2d(probs.flat(), [N, K]),
});
const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );

Deno.test("sparseKL: known answers against float64, with and without a mask, [N, V] and [B, T, V]", () => {
  tf.tidy(() => {
    const s = tf.tensor2d(student);
    close(sparseKL(s, targets()).dataSync()[0], sparseKL64(student, ids, probs), 1e-5, "no mask");
    const masked = sparseKL(s, targets(), { mask: tf.tensor1d(mask) }).dataSync()[0];
    close(masked, sparseKL64(student, ids, probs, mask), 1e-5, "mask");
    const t3 = { ids: targets().ids.reshape([2, 3, K]), probs: targets().probs.reshape([2, 3, K]) };
    const three = sparseKL(s.reshape([2, 3, V]), t3, { mask: tf.tensor2d(mask, [2, 3]) });
    close(three.dataSync()[0], masked, 1e-6, "[B, T, V]");
    const none = sparseKL(s, targets(), { reduction: "none" }).dataSync();
    student.forEach((_, i) =>
      close(none[i], sparseKL64([student[i]], [ids[i]], [probs[i]]), 1e-5, `row ${i}`)
    );
  });
});

Deno.test("sparseKL: gradient matches float64 finite differences; masked rows get none", () => {
  const f = (s: Rows64) => sparseKL64(s, ids, probs, mask);
  const numeric = numericGradient(f, student).flat();
  const g = tf.tidy(() =>
    tf.grad((s: tf.Tensor) => sparseKL(s, targets(), { mask: tf.tensor1d(mask) }))(
      tf.tensor2d(student),
    ).dataSync()
  );
  numeric.forEach((n, i) => close(g[i], n, 1e-4, `grad[${i}]`));
  assert.ok(Array.from(g.slice(2 * V, 3 * V)).every((v) => v === 0), "masked row 2");
});

for (const backend of ["wasm", "webgpu"] as const) {
  (backend === "webgpu" ? gpuTest : Deno.test)(
    `sparseKL on ${backend} matches float64, value and gradient (scatterND sums repeated ids)`,
    async () => {
      await initBackend(backend, { log: false });
      try {
        const f = (s: Rows64) => sparseKL64(s, ids, probs, mask);
        const s = tf.tensor2d(student);
        const t = targets();
        const m = tf.tensor1d(mask);
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => sparseKL(x, t, { mask: m }))(s);
        const [v, g] = [(await value.data())[0], await grad.data()];
        await flushDeferredChecks();
        close(v, f(student), 1e-5, "value");
        numericGradient(f, student).flat().forEach((n, i) => close(g[i], n, 1e-4, `grad[${i}]`));
        tf.dispose([s, t.ids, t.probs, m, value, grad]);
      } finally {
        await tf.setBackend("cpu");
      }
    },
  );
}

Deno.test("sparseKLPerRow: the host and device paths agree with float64, value and gradient", () => {
  for (const path of ["host", "device"] as const) {
    const perRow = (x: tf.Tensor) =>
      sparseKLPerRow(
        x as tf.Tensor2D,
        targets().probs as tf.Tensor2D,
        targets().ids as tf.Tensor2D,
        path,
      );
    const [values, g] = tf.tidy(() => {
      const s = tf.tensor2d(student);
      // Weights per row, so the gradient checks every row's own scale (dy) too.
      const w = tf.tensor1d([1, 2, 0, 0.5, 1, 3]);
      return [
        perRow(s).dataSync(),
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(perRow(x), w)))(s).dataSync(),
      ];
    });
    student.forEach((row, i) =>
      close(values[i], sparseKL64([row], [ids[i]], [probs[i]]), 1e-5, `${path} row ${i}`)
    );
    const weights = [1, 2, 0, 0.5, 1, 3];
    const f = (s: Rows64) =>
      s.reduce((a, row, i) => a + weights[i] * sparseKL64([row], [ids[i]], [probs[i]]), 0);
    numericGradient(f, student).flat().forEach((n, i) =>
      close(g[i], n, 1e-4, `${path} grad[${i}]`)
    );
  }
});

Deno.test("sparseKL: a stored token whose student probability underflows float32 still counts exactly", () => {
  // q(token 1) = e^-200 / Σ: 0 in float32; the loss must be ½·(log ½ + 200 + lse), not Inf.
  const z = [[0, -200, 1, -3]];
  for (const path of ["host", "device"] as const) {
    const value = tf.tidy(() =>
      sparseKLPerRow(
        tf.tensor2d(z),
        tf.tensor2d([[0.5, 0.5]]),
        tf.tensor2d([[1, 2]], [1, 2], "int32"),
        path,
      ).dataSync()[0]
    );
    close(value, sparseKL64(z, [[1, 2]], [[0.5, 0.5]]), 1e-5, path);
  }
});

Deno.test("sparseKL: every token stored is the dense forward KL", () => {
  const teacher = randomRows(N, V, 22, 3);
  tf.tidy(() => {
    const all = Array.from({ length: V }, (_, i) => i);
    const p = teacher.map((row) => logSoftmax64(row).map(Math.exp));
    const dense = {
      ids: tf.tensor2d(teacher.flatMap(() => all), [N, V], "int32"),
      probs: tf.tensor2d(p.flat(), [N, V]),
    };
    const s = tf.tensor2d(student);
    close(
      sparseKL(s, dense).dataSync()[0],
      forwardKL(tf.tensor2d(teacher), s).dataSync()[0],
      1e-5,
      "K = V",
    );
  });
});

Deno.test("sparseKL: bad input is an error naming the argument", () => {
  tf.tidy(() => {
    const s = tf.tensor2d(student);
    const t = targets();
    const withIds = (x: number[][]) => ({ ...t, ids: tf.tensor2d(x.flat(), [N, K], "int32") });
    const withProbs = (x: number[][]) => ({ ...t, probs: tf.tensor2d(x.flat(), [N, K]) });
    const bad = ids.map((r) => r.slice());
    bad[1][2] = V;
    assert.throws(() => sparseKL(s, withIds(bad)), /targets.ids must be in \[0, 7\), got \[0, 7\]/);
    bad[1][2] = -1;
    assert.throws(() => sparseKL(s, withIds(bad)), /targets.ids must be in \[0, 7\)/);
    const over = probs.map((r) => r.slice());
    over[0][0] = 0.9;
    assert.throws(() => sparseKL(s, withProbs(over)), /sum to at most 1 per position, got 1.4/);
    over[0][0] = -0.1;
    assert.throws(() => sparseKL(s, withProbs(over)), /finite and ≥ 0/);
    over[0][0] = NaN;
    assert.throws(() => sparseKL(s, withProbs(over)), /finite and ≥ 0/);
    assert.throws(
      () => sparseKL(s, { ...t, ids: t.ids.toFloat() }),
      /targets.ids must be int32, got float32/,
    );
    assert.throws(
      () => sparseKL(s, { ids: t.ids.slice([0, 0], [N, 2]), probs: t.probs }),
      /targets.ids \[6,2\] and targets.probs \[6,3\] differ/,
    );
    assert.throws(
      () => sparseKL(s, { ids: t.ids.slice([0, 0], [3, K]), probs: t.probs.slice([0, 0], [3, K]) }),
      /targets.ids \[3,3\] must have the logits' leading shape \[6\]/,
    );
    assert.throws(() => sparseKL(s, { ids: t.ids.reshape([N * K]), probs: t.probs }), /\[6, K\]/);
    assert.throws(
      () => sparseKL(tf.fill([N, V], NaN), t),
      /studentLogits contain NaN or Inf/,
    );
    assert.throws(
      () => sparseKL(s, t, { mask: tf.zeros([N]) }),
      /every position is masked/,
    );
    assert.throws(() => sparseKL(s, t, { mask: tf.ones([N, 1]) }), /mask must have the leading/);
    assert.throws(() => sparseKL(tf.zeros([0, V]), t), /empty batch/);
  });
});

Deno.test("registry sparse_kd: the KL, plus ceWeight·CE on the labels; needs targets", () => {
  tf.tidy(() => {
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5], "int32");
    const s = tf.tensor2d(student);
    const kl = sparseKL(s, targets()).dataSync()[0];
    const objective = getLoss("sparse_kd");
    assert.equal(objective.needsTargets, true);
    assert.equal(objective.needsTeacher, false);
    close(
      objective.loss({ studentLogits: s, teacherTargets: targets() }).dataSync()[0],
      kl,
      1e-6,
      "plain",
    );
    const ce = student.reduce((a, row, i) => a - logSoftmax64(row)[i], 0) / N;
    const mixed = getLoss("sparse_kd", { ceWeight: 0.5 }).loss({
      studentLogits: s,
      teacherTargets: targets(),
      labels,
    });
    close(mixed.dataSync()[0], kl + 0.5 * ce, 1e-5, "ceWeight");
    assert.throws(() => objective.loss({ studentLogits: s }), /inputs.teacherTargets is required/);
    assert.throws(() => getLoss("sparse_kd", { ceWeight: -1 }), /ceWeight must be a number/);
  });
});

// ---- sparse targets ----

const rngOf = (seed: number) => (row: number) => new Rng(seed * 7919 + row);
const softmax = (row: number[]) => logSoftmax64(row).map(Math.exp);

Deno.test("topK: the k largest ids, largest first, ties to the smaller id", () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 50; trial++) {
    const p = Array.from({ length: 40 }, () => Math.floor(rng.next() * 10)); // many ties
    const k = 1 + rng.int(40);
    const want = p.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k).map((x) => x[1]);
    assert.deepEqual(topK(p, k), want);
  }
});

Deno.test("sparsifyLogits top_k: the K most probable tokens, renormalised or not", () => {
  const logits = randomRows(5, 11, 31, 3);
  const flat = Float32Array.from(logits.flat());
  const p = logits.map((r) => softmax(Array.from(Float32Array.from(r))));
  for (const normalize of [true, false]) {
    const sparse = sparsifyLogits(flat, 11, { kind: "top_k", k: 4, normalize }, rngOf(0));
    assert.deepEqual(Array.from(sparse.offsets), [0, 4, 8, 12, 16, 20]);
    p.forEach((row, r) => {
      const want = topK(row, 4);
      const got = Array.from(sparse.ids.slice(4 * r, 4 * r + 4));
      assert.deepEqual(got, want);
      const kept = want.reduce((a, id) => a + row[id], 0);
      close(sparse.teacherMass[r], kept, 1e-6, "mass");
      want.forEach((id, k) =>
        close(sparse.probs[4 * r + k], normalize ? row[id] / kept : row[id], 1e-6, `p ${r},${k}`)
      );
    });
  }
});

Deno.test("sparsifyLogits sample (τ = 1): counts over S, summing to 1, an unbiased estimate of p", () => {
  const V = 12, rows = 4000, S = 16;
  const row = randomRows(1, V, 41, 2)[0];
  const logits = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) logits.set(row, r * V);
  const p = softmax(Array.from(Float32Array.from(row)));
  const sparse = sparsifyLogits(logits, V, { kind: "sample", samples: S }, rngOf(1));
  const mean = new Float64Array(V);
  for (let r = 0; r < rows; r++) {
    let total = 0;
    for (let e = sparse.offsets[r]; e < sparse.offsets[r + 1]; e++) {
      // Each weight is a count over S; ids ascend and are distinct.
      close(sparse.probs[e] * S, Math.round(sparse.probs[e] * S), 1e-5, "count/S");
      if (e > sparse.offsets[r]) assert.ok(sparse.ids[e] > sparse.ids[e - 1]);
      mean[sparse.ids[e]] += sparse.probs[e] / rows;
      total += sparse.probs[e];
    }
    close(total, 1, 1e-6, "sum");
  }
  // E[p̂_x] = p_x: the mean over 4000 rows is within 5 standard errors of p.
  p.forEach((px, x) => {
    const se = Math.sqrt(px * (1 - px) / (S * rows));
    assert.ok(Math.abs(mean[x] - px) < 5 * se + 1e-9, `token ${x}: ${mean[x]} vs ${px}`);
  });
  // Top-K is not: renormalised, its head gets more than p; the tail gets nothing.
  const top = sparsifyLogits(Float32Array.from(row), V, { kind: "top_k", k: 3 }, rngOf(1));
  assert.ok(top.probs[0] > p[top.ids[0]] + 0.01);
});

Deno.test("sparsifyLogits sample: the same rows and seeds give the same entries however batched; τ > 1 stores more tokens", () => {
  const V = 30, rows = 64;
  const logits = Float32Array.from(randomRows(rows, V, 51, 4).flat());
  const options = { kind: "sample" as const, samples: 24 };
  const whole = sparsifyLogits(logits, V, options, rngOf(2));
  const halves = concatSparseRows([
    sparsifyLogits(logits.subarray(0, 32 * V), V, options, rngOf(2)),
    sparsifyLogits(logits.subarray(32 * V), V, options, (r) => rngOf(2)(r + 32)),
  ]);
  assert.deepEqual(halves, whole);
  const hot = sparsifyLogits(logits, V, { ...options, temperature: 2 }, rngOf(2));
  assert.ok(hot.ids.length > whole.ids.length, `${hot.ids.length} vs ${whole.ids.length}`);
  // Self-normalised importance weights: each row still sums to 1 and, with many draws,
  // approaches p.
  const many = sparsifyLogits(logits.subarray(0, V), V, {
    kind: "sample",
    samples: 200000,
    temperature: 2,
  }, rngOf(3));
  const p = softmax(Array.from(logits.subarray(0, V)));
  for (let e = 0; e < many.ids.length; e++) close(many.probs[e], p[many.ids[e]], 0.01, "τ = 2");
});

Deno.test("paddedRows: rows padded to the widest with id 0 and probability 0", () => {
  const sparse = {
    vocabSize: 5,
    offsets: Int32Array.from([0, 1, 4, 6]),
    ids: Int32Array.from([3, 0, 2, 4, 1, 2]),
    probs: Float32Array.from([1, 0.2, 0.3, 0.5, 0.6, 0.4]),
    teacherMass: new Float32Array(3),
  };
  const { ids: i, probs: p, k } = paddedRows(sparse, [2, 0, 1]);
  assert.equal(k, 3);
  assert.deepEqual(Array.from(i), [1, 2, 0, 3, 0, 0, 0, 2, 4]);
  assert.deepEqual(
    Array.from(p),
    Array.from(Float32Array.from([0.6, 0.4, 0, 1, 0, 0, 0.2, 0.3, 0.5])),
  );
});

Deno.test("sparsifyLogits: bad sparsifiers and logits are errors naming them", () => {
  const x = new Float32Array(8);
  assert.throws(
    () => sparsifyLogits(x, 4, { kind: "top_k", k: 5 }, rngOf(0)),
    /top_k's k must be an integer in \[1, 4\], got 5/,
  );
  assert.throws(
    () => sparsifyLogits(x, 4, { kind: "sample", samples: 0 }, rngOf(0)),
    /samples must be a positive integer/,
  );
  assert.throws(
    () => sparsifyLogits(x, 4, { kind: "sample", samples: 2, temperature: 0 }, rngOf(0)),
    /temperature must be a finite number > 0/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => sparsifyLogits(x, 4, { kind: "top_p" } as any, rngOf(0)),
    /kind must be "top_k" or "sample", got "top_p"/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => sparsifyLogits(x, 4, { kind: "top_k", k: 2, K: 3 } as any, rngOf(0)),
    /unknown keys K/,
  );
  assert.throws(
    () => sparsifyLogits(new Float32Array(7), 4, { kind: "top_k", k: 2 }, rngOf(0)),
    /\[rows, 4\]/,
  );
  assert.throws(
    () => sparsifyLogits(Float32Array.from([0, NaN, 0, 0]), 4, { kind: "top_k", k: 2 }, rngOf(0)),
    /teacher logits contain NaN or Inf/,
  );
});

Deno.test("sparse KD: with sampled targets, the gradient is the dense KL's in expectation", () => {
  // R draws of the same teacher row, the student row shared: the mean gradient over the draws
  // approaches the forward KL's gradient softmax(z) − p (Anshumann et al. 2025, §3.2).
  const V = 9, R = 3000;
  const t = randomRows(1, V, 61, 2)[0];
  const z = randomRows(1, V, 62, 1)[0];
  const logits = new Float32Array(R * V);
  for (let r = 0; r < R; r++) logits.set(t, r * V);
  const sparse = sparsifyLogits(logits, V, { kind: "sample", samples: 8 }, rngOf(4));
  const rowIds = Array.from({ length: R }, (_, r) => r);
  const { ids: i, probs: p, k } = paddedRows(sparse, rowIds);
  const [sampled, dense] = tf.tidy(() => {
    const targetsOf = { ids: tf.tensor2d(i, [R, k], "int32"), probs: tf.tensor2d(p, [R, k]) };
    const g = tf.grad((s: tf.Tensor) => sparseKL(tf.tile(s, [R, 1]), targetsOf))(
      tf.tensor2d([z]),
    );
    const d = tf.grad((s: tf.Tensor) => forwardKL(tf.tensor2d([t]), s))(tf.tensor2d([z]));
    return [g.dataSync(), d.dataSync()];
  });
  dense.forEach((d, x) => close(sampled[x], d, 0.02, `∂/∂z_${x}`));
});
