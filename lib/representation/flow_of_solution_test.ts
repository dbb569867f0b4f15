import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { numericGradient, randomRows, type Rows64 } from "../../tests/reference/losses64.ts";
import { adaptiveAvgPool64, fsp64, fspMatrix64 } from "../../tests/reference/representation64.ts";
import { getLoss, minimalConfig } from "../losses/mod.ts";
import { blockVariables, createCNN } from "../models/mod.ts";
import {
  adaptiveAvgPool,
  adaptivePoolingWeights,
  fspLoss,
  fspMatrix,
  trainStudentFlow,
} from "./mod.ts";

await tf.setBackend("cpu");

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

/** Three blocks of 2 examples, 7×7, 3×3 and 3×3 (7 → 3 pools unevenly), 2, 3 and 2 channels. */
const B = 2;
const sides = [7, 3, 3];
const channels = [2, 3, 2];
const blocks = (seed: number) =>
  sides.map((side, j) => randomRows(B * side * side, channels[j], seed + j, 1.5));
const teacherRows = blocks(31);
const studentRows = blocks(41);
const toMaps = (rows: Rows64[]) =>
  rows.map((r, j) => tf.tensor2d(r).reshape([B, sides[j], sides[j], channels[j]]) as tf.Tensor4D);

Deno.test("FSP: adaptive pooling bins as PyTorch's", () => {
  // 7 → 3: rows 0–2, 2–4, 4–6 (overlapping, as adaptive_avg_pool2d's); 4 → 2: pairs.
  const third = 1 / 3;
  assert.deepEqual(adaptivePoolingWeights(7, 3), [
    [third, third, third, 0, 0, 0, 0],
    [0, 0, third, third, third, 0, 0],
    [0, 0, 0, 0, third, third, third],
  ]);
  assert.deepEqual(adaptivePoolingWeights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]]);
  assert.throws(() => adaptivePoolingWeights(3, 4), /need integers 1 ≤ out ≤ n, got n 3, out 4/);
});

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`FSP: matrices, loss and finite-difference gradients against float64 (${backend})`, async () => {
    await initBackend(backend, { log: false });
    tf.tidy(() => {
      const [t, s] = [toMaps(teacherRows), toMaps(studentRows)];
      const pooled = adaptiveAvgPool(s[0], 3).dataSync();
      adaptiveAvgPool64(studentRows[0], B, 7, 3).flat().forEach((v, i) =>
        close(pooled[i], v, 1e-5, `pool[${i}]`)
      );
      const g = fspMatrix(s[0], s[1]).dataSync();
      assert.deepEqual(fspMatrix(s[0], s[1]).shape, [B, 2, 3]);
      fspMatrix64(studentRows[0], studentRows[1], B, [7, 3]).flat(2).forEach((v, i) =>
        close(g[i], v, 1e-5, `G[${i}]`)
      );
      const ref = (rows: Rows64[]) => fsp64(teacherRows, rows, B, sides);
      close(fspLoss(t, s).dataSync()[0], ref(studentRows), 2e-5, "FSP loss");
      for (const j of [0, 1, 2]) {
        const expected = numericGradient(
          (x) => ref(studentRows.map((r, k) => k === j ? x : r)),
          studentRows[j],
        ).flat();
        const got = tf.grad((x: tf.Tensor) => {
          const maps = toMaps(studentRows);
          maps[j] = x.reshape(maps[j].shape) as tf.Tensor4D;
          return fspLoss(t, maps);
        })(tf.tensor2d(studentRows[j])).dataSync();
        expected.forEach((v, i) => close(got[i], v, 2e-3, `d/ds${j}[${i}]`));
      }
    });
  });
}

Deno.test("FSP: the teacher's own blocks cost nothing; the matrix is bilinear", async () => {
  await initBackend("cpu", { log: false });
  tf.tidy(() => {
    const t = toMaps(teacherRows);
    assert.equal(fspLoss(t, t).dataSync()[0], 0);
    const g = fspMatrix(t[1], t[2]);
    const scaled = fspMatrix(t[1].mul(2), t[2].mul(-3));
    assert.ok(tf.max(tf.abs(tf.sub(scaled, g.mul(-6)))).dataSync()[0] < 1e-5);
    // Equal sizes: no pooling (the identity map), the plain mean of products over positions.
    assert.deepEqual(adaptiveAvgPool(t[1], 3).dataSync(), t[1].dataSync());
  });
});

Deno.test("FSP: the first stage trains the student's blocks alone, leak-free", async () => {
  await initBackend("cpu", { log: false });
  const student = createCNN({ channels: [3, 4], featureDim: 4, seed: 7 });
  const teacher = createCNN({ channels: [3, 4], featureDim: 8, seed: 8 });
  const batches = [0, 1, 2, 3].map((k) => tf.randomUniform([8, 28, 28, 1], 0, 1, "float32", k));
  const before = Object.fromEntries(
    Object.entries(student.params).map(([n, v]) => [n, Array.from(v.dataSync())]),
  );
  const tensors = tf.memory().numTensors;
  const fit = await trainStudentFlow(
    (step) => teacher.forward(batches[step % 4], { maps: true }).maps!,
    (step) => student.forward(batches[step % 4], { maps: true }).maps!,
    blockVariables(student),
    { steps: 60, learningRate: 1e-2 },
  );
  assert.equal(tf.memory().numTensors, tensors);
  assert.ok(fit.finalLoss < 0.5 * fit.initialLoss, JSON.stringify(fit));
  for (const [name, v] of Object.entries(student.params)) {
    const moved = Array.from(v.dataSync()).some((x, i) => x !== before[name][i]);
    assert.equal(moved, name.startsWith("conv"), name);
  }
  tf.dispose(batches);
  for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
});

Deno.test("FSP: named errors", async () => {
  await initBackend("cpu", { log: false });
  tf.tidy(() => {
    const [t, s] = [toMaps(teacherRows), toMaps(studentRows)];
    assert.throws(() => fspLoss([t[0]], [s[0]]), /fspLoss: FSP needs at least two consecutive/);
    assert.throws(
      () => fspLoss(t, [s[0], tf.zeros([B, 3, 3, 5]), s[2]]),
      /fspLoss: the student's blocks must have the teacher's channels .* got \[2,5,2\] and \[2,3,2\]/,
    );
    assert.throws(() => fspLoss(t, [s[0], s[1]]), /fspLoss: teacherMaps and studentMaps must pair/);
    assert.throws(() => fspLoss(t, [s[0].mul(NaN), s[1], s[2]]), /studentMaps contain NaN or Inf/);
    assert.throws(() => adaptiveAvgPool(s[1], 7), /need integers 1 ≤ out ≤ n, got n 3, out 7/);
  });
  const maps = () => toMaps(studentRows);
  await assert.rejects(
    () => trainStudentFlow(maps, maps, {}, { steps: 2 }),
    /trainStudentFlow: studentVariables is empty/,
  );
  const v = tf.variable(tf.ones([1]));
  await assert.rejects(
    () => trainStudentFlow(maps, maps, { v }, { learningRate: 0 }),
    /trainStudentFlow: learningRate must be > 0, got 0/,
  );
  v.dispose();
});

Deno.test("fsp: the registry's FSP trains the student's blocks in prepare, then CE alone", async () => {
  await initBackend("cpu", { log: false });
  const fsp = getLoss("fsp", { initSteps: 5 });
  assert.ok(fsp.prepare && !fsp.needsTeacher && !fsp.needsMaps);
  const labels = tf.tensor1d([0, 2], "int32");
  const logits = tf.tensor2d([[1, 0, -1], [0.5, 0.2, 2]]);
  assert.throws(
    () => fsp.loss({ studentLogits: logits, labels }),
    /fsp: the student's blocks are not initialised/,
  );
  await assert.rejects(
    () => fsp.prepare!({ teacherMaps: () => [] }),
    /fsp: prepare needs context.student \(the models' blocks/,
  );
  const student = createCNN({ channels: [3, 4], featureDim: 4, seed: 7 });
  const teacher = createCNN({ channels: [3, 4], featureDim: 8, seed: 8 });
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, "float32", 5);
  const fit = await fsp.prepare!({
    teacherMaps: () => teacher.forward(x, { maps: true }).maps!,
    student: {
      blockVariables: blockVariables(student),
      preactivations: () => student.forward(x, { preactivations: true }).preMaps!,
      maps: () => student.forward(x, { maps: true }).maps!,
    },
  });
  assert.deepEqual(Object.keys(fit), ["fsp_loss_first", "fsp_loss_last"]);
  assert.ok(fit.fsp_loss_last < fit.fsp_loss_first, JSON.stringify(fit));
  const ce = tf.tidy(() =>
    tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), logits).dataSync()[0]
  );
  close(tf.tidy(() => fsp.loss({ studentLogits: logits, labels }).dataSync()[0]), ce, 1e-6, "CE");
  assert.deepEqual(
    await getLoss("fsp", minimalConfig("fsp")).prepare!({ teacherMaps: () => [] }),
    {},
  );
  tf.dispose([x, labels, logits]);
  for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
});
