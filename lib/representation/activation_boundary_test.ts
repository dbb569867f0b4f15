import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { numericGradient, randomRows, type Rows64 } from "../../tests/reference/losses64.ts";
import {
  ab64,
  cnnPreactivations64,
  type ConvLayer64,
} from "../../tests/reference/representation64.ts";
import { getLoss, minimalConfig } from "../losses/mod.ts";
import { blockVariables, createCNN, type ImageClassifier } from "../models/mod.ts";
import { ActivationBoundary, activationBoundaryLoss, activationBoundaryWeights } from "./mod.ts";

await tf.setBackend("cpu");

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

/** Two blocks of 2 examples: 3×3 and 2×2 positions; the student's 2 and 3 channels, the teacher's 4 and 5. */
const B = 2;
const sides = [3, 2];
const studentRows = [randomRows(B * 9, 2, 11, 1.5), randomRows(B * 4, 3, 12, 1.5)];
const teacherRows = [randomRows(B * 9, 4, 13, 1.5), randomRows(B * 4, 5, 14, 1.5)];
const toMaps = (blocks: Rows64[]) =>
  blocks.map((rows, j) =>
    tf.tensor2d(rows).reshape([B, sides[j], sides[j], rows[0].length]) as tf.Tensor4D
  );

/** The connectors of `ab` as float64 layers, with biases spread so that both signs occur. */
function spreadConnectors(ab: ActivationBoundary) {
  return [0, 1].map((j) => {
    const b = ab.connectors[`ab.connector${j}.b`];
    b.assign(tf.tensor1d(Array.from({ length: b.shape[0] }, (_, i) => 0.4 * (i % 2 ? -1 : 1))));
    return {
      w: Array.from(ab.connectors[`ab.connector${j}.w`].dataSync()),
      b: Array.from(b.dataSync()),
    };
  });
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`activation boundaries: known answers and finite-difference gradients against float64 (${backend})`, async () => {
    await initBackend(backend, { log: false });
    for (const margin of [1, 0.5]) {
      const ab = new ActivationBoundary({
        studentChannels: [2, 3],
        teacherChannels: [4, 5],
        margin,
        seed: 3,
      });
      try {
        const connectors = spreadConnectors(ab);
        const ref = (s: Rows64[], c = connectors) => ab64(teacherRows, s, c, B, margin);
        const loss = () => ab.loss(toMaps(teacherRows), toMaps(studentRows));
        close(tf.tidy(() => loss().dataSync()[0]), ref(studentRows), 2e-5, `AB (m = ${margin})`);
        // d/d(each student block).
        for (const j of [0, 1]) {
          const expected = numericGradient(
            (x) => ref(studentRows.map((r, k) => k === j ? x : r)),
            studentRows[j],
          ).flat();
          const got = tf.tidy(() =>
            tf.grad((x: tf.Tensor) => {
              const maps = toMaps(studentRows);
              maps[j] = x.reshape(maps[j].shape) as tf.Tensor4D;
              return ab.loss(toMaps(teacherRows), maps);
            })(tf.tensor2d(studentRows[j])).dataSync()
          );
          expected.forEach((g, i) => close(got[i], g, 2e-3, `d/ds${j}[${i}]`));
        }
        // d/d(each connector's kernel and bias).
        for (const j of [0, 1]) {
          for (const part of ["w", "b"] as const) {
            const name = `ab.connector${j}.${part}`;
            const expected = numericGradient(
              ([x]) =>
                ref(studentRows, connectors.map((c, k) => k === j ? { ...c, [part]: x } : c)),
              [connectors[j][part]],
            )[0];
            const { grads } = tf.variableGrads(loss, [ab.connectors[name]]);
            const got = grads[ab.connectors[name].name].dataSync();
            expected.forEach((g, i) => close(got[i], g, 2e-3, `d/d${name}[${i}]`));
            tf.dispose(Object.values(grads));
          }
        }
      } finally {
        ab.dispose();
      }
    }
  });
}

Deno.test("activation boundaries: the hinge by hand, the blocks' weights, agreement", async () => {
  await initBackend("cpu", { log: false });
  tf.tidy(() => {
    // One example of four neurons, m = 1: t > 0 with s = 0.5 costs (0.5 − 1)² = 0.25; t ≤ 0 with
    // s = −0.5 costs (−0.5 + 1)² = 0.25; t = 0 counts as inactive, and s = −2 is past the margin;
    // t > 0 with s = 3 is past it too.
    const t = tf.tensor4d([1, -1, 0, 2], [1, 2, 2, 1]);
    const s = tf.tensor4d([0.5, -0.5, -2, 3], [1, 2, 2, 1]);
    close(activationBoundaryLoss(t, s).dataSync()[0], 0.5, 1e-6, "hinge");
    // Two examples: the sum per example, averaged over the batch.
    const t2 = tf.concat([t, t]), s2 = tf.concat([s, tf.zerosLike(s)]);
    close(activationBoundaryLoss(t2, s2).dataSync()[0], (0.5 + 4) / 2, 1e-6, "batch mean");
    // A student on the teacher's side of every boundary, by at least the margin, costs nothing.
    const past = tf.where(tf.greater(t, 0), tf.fill(t.shape, 1.5), tf.fill(t.shape, -1.5));
    assert.equal(activationBoundaryLoss(t, past).dataSync()[0], 0);
    close(activationBoundaryLoss(t, past, 2).dataSync()[0], 4 * 0.25, 1e-6, "margin 2");
  });
  assert.deepEqual(activationBoundaryWeights(3), [0.25, 0.5, 1]);
  assert.deepEqual(activationBoundaryWeights(1), [1]);
  // Agreement: a connector that copies the student's one channel to the teacher's one.
  const ab = new ActivationBoundary({ studentChannels: [1], teacherChannels: [1], seed: 1 });
  ab.connectors["ab.connector0.w"].assign(tf.ones([1, 1]));
  tf.tidy(() => {
    const t = tf.tensor4d([1, -1, 0, 2], [1, 2, 2, 1]);
    // Sides: (+, +), (−, −), (≤ 0, +), (+, −): two of four agree.
    const s = tf.tensor4d([0.1, -3, 0.2, -0.1], [1, 2, 2, 1]);
    close(ab.agreement([t], [s]).dataSync()[0], 0.5, 1e-7, "agreement");
  });
  ab.dispose();
});

/** A CNN's conv blocks as float64 layers. */
const convLayers64 = (model: ImageClassifier, blocks: number): ConvLayer64[] =>
  Array.from({ length: blocks }, (_, i) => ({
    w: Array.from(model.params[`conv${i}.w`].dataSync()),
    b: Array.from(model.params[`conv${i}.b`].dataSync()),
  }));

Deno.test("activation boundaries: gradients reach the student's conv layers through its pooled pre-activations (float64)", async () => {
  await initBackend("cpu", { log: false });
  const student = createCNN({ channels: [2, 3], featureDim: 4, seed: 7 });
  const teacher = createCNN({ channels: [4, 5], featureDim: 4, seed: 8 });
  const ab = new ActivationBoundary({ studentChannels: [2, 3], teacherChannels: [4, 5], seed: 9 });
  try {
    const connectors = spreadConnectors(ab);
    const images = randomRows(1, 2 * 784, 21, 1).flat().map((v) => Math.abs(v));
    const x = tf.tensor4d(images, [2, 28, 28, 1]);
    const teacherPre = cnnPreactivations64(images, 2, convLayers64(teacher, 2));
    const layers = convLayers64(student, 2);
    const ref = (l: ConvLayer64[]) =>
      ab64(teacherPre, cnnPreactivations64(images, 2, l), connectors, 2, 1);
    const loss = () =>
      ab.loss(
        teacher.forward(x, { preactivations: true }).preMaps!,
        student.forward(x, { preactivations: true }).preMaps!,
      );
    close(tf.tidy(() => loss().dataSync()[0]), ref(layers), 2e-5, "AB through the CNNs");
    for (const [layer, part] of [[0, "w"], [0, "b"], [1, "b"]] as const) {
      const name = `conv${layer}.${part}`;
      const expected = numericGradient(
        ([v]) => ref(layers.map((l, i) => i === layer ? { ...l, [part]: v } : l)),
        [layers[layer][part]],
        1e-5,
      )[0];
      const { grads } = tf.variableGrads(loss, [student.params[name]]);
      const got = grads[student.params[name].name].dataSync();
      expected.forEach((g, i) => close(got[i], g, 3e-3, `d/d${name}[${i}]`));
      tf.dispose(Object.values(grads));
    }
    x.dispose();
  } finally {
    ab.dispose();
    for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
  }
});

Deno.test("activation boundaries: the first stage trains the student's blocks alone, leak-free", async () => {
  await initBackend("cpu", { log: false });
  const student = createCNN({ channels: [2, 3], featureDim: 4, seed: 7 });
  const teacher = createCNN({ channels: [4, 5], featureDim: 4, seed: 8 });
  const ab = new ActivationBoundary({ studentChannels: [2, 3], teacherChannels: [4, 5], seed: 9 });
  const batches = [0, 1, 2, 3].map((k) => tf.randomUniform([8, 28, 28, 1], 0, 1, "float32", k));
  const untouched = ["fc.w", "fc.b", "head.w", "head.b"];
  const before = Object.fromEntries(
    Object.entries(student.params).map(([n, v]) => [n, Array.from(v.dataSync())]),
  );
  const tensors = tf.memory().numTensors;
  const fit = await ab.trainStudentBlocks(
    (step) => teacher.forward(batches[step % 4], { preactivations: true }).preMaps!,
    (step) => student.forward(batches[step % 4], { preactivations: true }).preMaps!,
    blockVariables(student),
    { steps: 80, learningRate: 1e-2 },
  );
  assert.equal(tf.memory().numTensors, tensors);
  assert.ok(fit.finalLoss < 0.5 * fit.initialLoss, JSON.stringify(fit));
  assert.ok(fit.finalAgreement > fit.initialAgreement, JSON.stringify(fit));
  for (const [name, v] of Object.entries(student.params)) {
    const moved = Array.from(v.dataSync()).some((x, i) => x !== before[name][i]);
    assert.equal(moved, !untouched.includes(name), name);
  }
  tf.dispose(batches);
  ab.dispose();
  for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
});

Deno.test("activation boundaries: named errors", async () => {
  await initBackend("cpu", { log: false });
  assert.throws(
    () => new ActivationBoundary({ studentChannels: [2], teacherChannels: [4, 5], seed: 1 }),
    /ActivationBoundary: studentChannels and teacherChannels must list as many blocks/,
  );
  assert.throws(
    () =>
      new ActivationBoundary({ studentChannels: [2], teacherChannels: [4], margin: 0, seed: 1 }),
    /ActivationBoundary: margin must be a finite number > 0, got 0/,
  );
  assert.throws(
    () => new ActivationBoundary({ studentChannels: [], teacherChannels: [], seed: 1 }),
    /ActivationBoundary: studentChannels must be a non-empty list of positive integers/,
  );
  const ab = new ActivationBoundary({ studentChannels: [2, 3], teacherChannels: [4, 5], seed: 1 });
  tf.tidy(() => {
    const [t, s] = [toMaps(teacherRows), toMaps(studentRows)];
    assert.throws(
      () => ab.loss(t, [s[1], s[0]]),
      /ActivationBoundary: teacherMaps and studentMaps must pair block by block/,
    );
    assert.throws(
      () => ab.loss(t, [t[0], s[1]]),
      /the blocks must have the channels of options.studentChannels \[2,3\]/,
    );
    assert.throws(
      () => ab.loss(t, [s[0].mul(NaN), s[1]]),
      /ActivationBoundary: studentMaps contain NaN or Inf/,
    );
    assert.throws(
      () => activationBoundaryLoss(t[0], s[0]),
      /activationBoundaryLoss: studentPre must have the teacher's channels/,
    );
    assert.throws(
      () => activationBoundaryLoss(t[0], t[0], -1),
      /activationBoundaryLoss: margin must be a finite number > 0, got -1/,
    );
  });
  const [t, s] = [() => toMaps(teacherRows), () => toMaps(studentRows)];
  await assert.rejects(
    () => ab.trainStudentBlocks(t, s, {}, { steps: 2 }),
    /trainStudentBlocks: studentVariables is empty/,
  );
  await assert.rejects(
    () => ab.trainStudentBlocks(t, s, { x: tf.variable(tf.zeros([1])) }, { steps: 0 }),
    /trainStudentBlocks: steps must be a positive integer, got 0/,
  );
  const v = tf.variable(tf.ones([1]));
  await assert.rejects(
    () =>
      ab.trainStudentBlocks(t, () => toMaps(studentRows).map((m) => m.mul(v).mul(NaN)), { v }, {
        steps: 2,
      }),
    /studentMaps contain NaN or Inf|the AB loss is NaN at step 0/,
  );
  v.dispose();
  ab.dispose();
});

Deno.test("ab: the registry's activation boundaries train the student's blocks in prepare, then CE alone", async () => {
  await initBackend("cpu", { log: false });
  const config = { studentChannels: [2, 3], teacherChannels: [4, 5], seed: 3, initSteps: 5 };
  const ab = getLoss("ab", config);
  assert.ok(ab.prepare && !ab.needsTeacher && !ab.needsMaps && !ab.variables);
  const labels = tf.tensor1d([0, 2], "int32");
  const logits = tf.tensor2d([[1, 0, -1], [0.5, 0.2, 2]]);
  assert.throws(
    () => ab.loss({ studentLogits: logits, labels }),
    /ab: the student's blocks are not initialised: await objective.prepare\(context\)/,
  );
  await assert.rejects(
    () => ab.prepare!({ teacherMaps: () => [] }),
    /ab: prepare needs context.student and context.teacherPreactivations/,
  );
  const student = createCNN({ channels: [2, 3], featureDim: 4, seed: 7 });
  const teacher = createCNN({ channels: [4, 5], featureDim: 4, seed: 8 });
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, "float32", 5);
  const conv0 = Array.from(student.params["conv0.w"].dataSync());
  const fit = await ab.prepare!({
    teacherMaps: () => teacher.forward(x, { maps: true }).maps!,
    teacherPreactivations: () => teacher.forward(x, { preactivations: true }).preMaps!,
    student: {
      blockVariables: blockVariables(student),
      preactivations: () => student.forward(x, { preactivations: true }).preMaps!,
      maps: () => student.forward(x, { maps: true }).maps!,
    },
  });
  assert.deepEqual(Object.keys(fit), [
    "ab_loss_first",
    "ab_loss_last",
    "agreement_first",
    "agreement_last",
  ]);
  assert.ok(fit.ab_loss_last < fit.ab_loss_first, JSON.stringify(fit));
  assert.notDeepEqual(Array.from(student.params["conv0.w"].dataSync()), conv0);
  // The student's stage: CE alone by default; KD added with kdWeight (then it needs the teacher).
  const ce = tf.tidy(() =>
    tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), logits).dataSync()[0]
  );
  close(tf.tidy(() => ab.loss({ studentLogits: logits, labels }).dataSync()[0]), ce, 1e-6, "CE");
  ab.dispose!();
  const withKD = getLoss("ab", { ...config, initSteps: 0, kdWeight: 1 });
  assert.ok(withKD.needsTeacher);
  const teacherLogits = tf.tensor2d([[0, 1, 0], [1, 1, 1]]);
  const kd = getLoss("kd", { temperature: 4, ceWeight: 1, kdWeight: 1 });
  close(
    tf.tidy(() => withKD.loss({ studentLogits: logits, teacherLogits, labels }).dataSync()[0]),
    tf.tidy(() => kd.loss({ studentLogits: logits, teacherLogits, labels }).dataSync()[0]),
    1e-6,
    "CE + KD",
  );
  withKD.dispose!();
  // Named config errors, and the tour's config (no first stage, knowingly).
  assert.throws(
    () => getLoss("ab", { ...config, initSteps: 1.5 }),
    /ab: config.initSteps must be an integer ≥ 0/,
  );
  assert.throws(
    () => getLoss("ab", { ...config, ceWeight: 0 }),
    /ab: config.ceWeight and config.kdWeight must not both be 0/,
  );
  assert.throws(
    () => getLoss("ab", { ...config, studentChannels: [2] }),
    /ActivationBoundary: studentChannels and teacherChannels must list as many blocks/,
  );
  const tour = getLoss("ab", minimalConfig("ab"));
  assert.deepEqual(await tour.prepare!({ teacherMaps: () => [] }), {});
  tour.dispose!();
  tf.dispose([x, labels, logits, teacherLogits]);
  for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
});
