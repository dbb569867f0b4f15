import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { numericGradient, randomRows, type Rows64 } from "../../tests/reference/losses64.ts";
import {
  type ConvLayer64,
  factorMap64,
  ft64,
  leakyConvStack64,
} from "../../tests/reference/representation64.ts";
import { getLoss, minimalConfig } from "../losses/mod.ts";
import { factorMap, FactorTransfer, factorTransferLoss, flattenBlocks } from "./mod.ts";

await tf.setBackend("cpu");

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

/** 2 examples of 3×3 blocks: the student's with 2 channels, the teacher's with 4 (factors: 2). */
const shape: [number, number, number] = [2, 3, 3];
const rows = (channels: number, seed: number) => randomRows(2 * 3 * 3, channels, seed, 1.5);
const teacherRows = rows(4, 81);
const studentRows = rows(2, 82);
const toMap = (r: Rows64) => tf.tensor2d(r).reshape([...shape, r[0].length]) as tf.Tensor4D;

/** The stack `prefix<i>` of `params` as float64 layers. */
const layers64 = (params: Record<string, tf.Variable>, prefix: string): ConvLayer64[] =>
  [0, 1, 2].map((i) => ({
    w: Array.from(params[`${prefix}${i}.w`].dataSync()),
    b: Array.from(params[`${prefix}${i}.b`].dataSync()),
  }));

/** Biases that put some pre-activations below zero, where the leaky ReLU bends. */
function spreadBiases(ft: FactorTransfer): void {
  for (const params of [ft.paraphraser, ft.translator]) {
    for (const [name, v] of Object.entries(params)) {
      if (!name.endsWith(".b")) continue;
      v.assign(tf.tensor1d(Array.from({ length: v.shape[0] }, (_, i) => 0.3 * (i % 2 ? -1 : 1))));
    }
  }
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`factor transfer: known answers and finite-difference gradients against float64 (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const ft = new FactorTransfer({ studentChannels: 2, teacherChannels: 4, seed: 3 });
    spreadBiases(ft);
    try {
      assert.equal(ft.factorChannels, 2);
      const encoder = layers64(ft.paraphraser, "ft.paraphraser.enc");
      const decoder = layers64(ft.paraphraser, "ft.paraphraser.dec");
      const translator = layers64(ft.translator, "ft.translator.");
      const ref = (s: Rows64, tr = translator) => ft64(teacherRows, s, shape, encoder, tr);
      const value = tf.tidy(() => ft.loss(toMap(teacherRows), toMap(studentRows)).dataSync()[0]);
      close(value, ref(studentRows), 2e-5, "FT value");
      // The reconstruction error: the decoder on the encoder, against the teacher's block.
      const rec = leakyConvStack64(leakyConvStack64(teacherRows, shape, encoder), shape, decoder);
      const mse = rec.flat().reduce((a, v, i) => a + (v - teacherRows.flat()[i]) ** 2, 0) /
        rec.flat().length;
      close(
        tf.tidy(() => ft.reconstructionLoss(toMap(teacherRows)).dataSync()[0]),
        mse,
        2e-5,
        "MSE",
      );
      // d/d(student block).
      const numeric = numericGradient((x) => ref(x), studentRows).flat();
      const grad = tf.tidy(() =>
        tf.grad((x: tf.Tensor) => ft.loss(toMap(teacherRows), x.reshape([...shape, 2])))(
          tf.tensor2d(studentRows),
        ).dataSync()
      );
      numeric.forEach((g, i) => close(grad[i], g, 2e-3, `d/ds[${i}]`));
      // d/d(each translator layer's kernel and bias).
      for (let layer = 0; layer < 3; layer++) {
        for (const part of ["w", "b"] as const) {
          const name = `ft.translator.${layer}.${part}`;
          const at = (x: number[]) =>
            translator.map((l, i) => (i === layer ? { ...l, [part]: x } : l));
          const expected = numericGradient(
            ([x]) => ref(studentRows, at(x)),
            [translator[layer][part]],
          )[0];
          const { grads } = tf.variableGrads(
            () => ft.loss(toMap(teacherRows), toMap(studentRows)),
            [ft.translator[name]],
          );
          const got = grads[ft.translator[name].name].dataSync();
          expected.forEach((g, i) => close(got[i], g, 2e-3, `d/d${name}[${i}]`));
          tf.dispose(Object.values(grads));
        }
      }
    } finally {
      ft.dispose();
    }
  });
}

Deno.test("factor transfer: the map's invariances, a dead factor, the paraphraser's first stage", async () => {
  await initBackend("cpu", { log: false });
  const factor = toMap(rows(3, 91));
  tf.tidy(() => {
    const m = factorMap(factor);
    const m64 = factorMap64(rows(3, 91), 2);
    close(m.dataSync()[4], m64[0][4], 1e-5, "m(F) against float64");
    // m(F) ignores F's scale and the order of its channels.
    const scaled = factorMap(factor.mul(7));
    const permuted = factorMap(tf.gather(factor, [2, 0, 1], 3));
    for (const other of [scaled, permuted]) {
      assert.ok(tf.max(tf.abs(tf.sub(other, m))).dataSync()[0] < 1e-6);
    }
    assert.ok(factorTransferLoss(factor, factor.mul(3)).dataSync()[0] < 1e-6);
    // A dead factor (a student's all-zero block) has m = 0 and a finite gradient.
    const g = tf.grad((x: tf.Tensor) => factorTransferLoss(factor, x))(tf.zerosLike(factor));
    assert.ok(g.dataSync().every(Number.isFinite));
  });
  factor.dispose();
  // The first stage lowers the reconstruction error and leaks no tensor; the translator stays.
  const ft = new FactorTransfer({ studentChannels: 2, teacherChannels: 4, seed: 5 });
  const translator0 = Object.values(ft.translator).map((v) => Array.from(v.dataSync()));
  const before = tf.memory().numTensors;
  const fit = await ft.trainParaphraser(
    (step) => toMap(rows(4, 100 + (step % 4))).relu() as tf.Tensor4D,
    { steps: 150, learningRate: 1e-2 },
  );
  assert.equal(tf.memory().numTensors, before);
  assert.ok(fit.finalLoss < 0.6 * fit.initialLoss, JSON.stringify(fit));
  Object.values(ft.translator).forEach((v, i) =>
    assert.deepEqual(Array.from(v.dataSync()), translator0[i])
  );
  ft.dispose();
});

Deno.test("factor transfer: named errors", async () => {
  await initBackend("cpu", { log: false });
  assert.throws(
    () => new FactorTransfer({ studentChannels: 2, teacherChannels: 4, rate: 0, seed: 1 }),
    /FactorTransfer: rate must be in \(0, 1\]/,
  );
  assert.throws(
    () => new FactorTransfer({ studentChannels: 0, teacherChannels: 4, seed: 1 }),
    /FactorTransfer: studentChannels must be a positive integer/,
  );
  const ft = new FactorTransfer({ studentChannels: 2, teacherChannels: 4, seed: 1 });
  tf.tidy(() => {
    const t = toMap(teacherRows), s = toMap(studentRows);
    assert.throws(() => ft.loss(s, s), /FactorTransfer: teacherMap must have 4 channels/);
    assert.throws(() => ft.loss(t, t), /FactorTransfer: studentMap must have 2 channels/);
    assert.throws(
      () => ft.loss(t, tf.zeros([2, 2, 2, 2])),
      /FactorTransfer: teacherMaps and studentMaps must pair block by block/,
    );
    assert.throws(() => ft.loss(t, s.mul(NaN)), /FactorTransfer: studentMaps contain NaN or Inf/);
    assert.throws(
      () => factorTransferLoss(t, s),
      /factorTransferLoss: the two factors must have the same channels/,
    );
  });
  await assert.rejects(
    () => ft.trainParaphraser(() => toMap(teacherRows), { steps: 0 }),
    /trainParaphraser: steps must be a positive integer, got 0/,
  );
  await assert.rejects(
    () => ft.trainParaphraser(() => toMap(teacherRows).mul(NaN) as tf.Tensor4D, { steps: 2 }),
    /trainParaphraser: the reconstruction error is NaN at step 0/,
  );
  ft.dispose();
});

Deno.test("ft: the registry's factor transfer trains its paraphraser in prepare, then weighs FT by 200", async () => {
  await initBackend("cpu", { log: false });
  const config = { studentChannels: [2], teacherChannels: [4], seed: 3, ceWeight: 0, initSteps: 4 };
  const ft = getLoss("ft", config);
  assert.ok(ft.needsMaps && ft.prepare);
  const inputs = () => ({
    studentLogits: tf.zeros([2, 3]),
    teacherMapTargets: flattenBlocks([toMap(teacherRows)]),
    studentMaps: [toMap(studentRows)],
  });
  assert.throws(
    () => tf.tidy(() => ft.loss(inputs())),
    /ft: the paraphraser is untrained: await objective.prepare\(context\) before the student trains/,
  );
  const paraphraser = ft.buffers!();
  const untrained = Array.from(paraphraser["ft.paraphraser.enc0.w"].dataSync());
  const before = tf.memory().numTensors;
  const fit = await ft.prepare!({ teacherMaps: () => [toMap(teacherRows)] });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Object.keys(fit), ["paraphraser_mse_first", "paraphraser_mse_last"]);
  assert.ok(fit.paraphraser_mse_last < fit.paraphraser_mse_first, JSON.stringify(fit));
  assert.notDeepEqual(Array.from(paraphraser["ft.paraphraser.enc0.w"].dataSync()), untrained);
  // The student's stage: the translator is trained (variables), the paraphraser kept (buffers).
  const translator = ft.variables!();
  assert.deepEqual(translator.map((v) => v.shape), [[3, 3, 2, 2], [2], [3, 3, 2, 2], [2], [
    3,
    3,
    2,
    2,
  ], [2]]);
  assert.equal(Object.keys(paraphraser).length, 12);
  const layers = (vs: tf.Variable[]): ConvLayer64[] =>
    [0, 2, 4].map((i) => ({
      w: Array.from(vs[i].dataSync()),
      b: Array.from(vs[i + 1].dataSync()),
    }));
  const encoder = layers(
    ["enc0.w", "enc0.b", "enc1.w", "enc1.b", "enc2.w", "enc2.b"].map((k) =>
      paraphraser[`ft.paraphraser.${k}`]
    ),
  );
  const value = tf.tidy(() => ft.loss(inputs()).dataSync()[0]);
  close(
    value,
    200 * ft64(teacherRows, studentRows, shape, encoder, layers(translator)),
    2e-5,
    "ft",
  );
  ft.dispose!();
  // Named config errors, and the tour's config (an untrained paraphraser, knowingly).
  assert.throws(
    () => getLoss("ft", { ...config, initSteps: -1 }),
    /ft: config.initSteps must be an integer ≥ 0/,
  );
  assert.throws(
    () => getLoss("ft", { ...config, block: 1 }),
    /ft: config.block must be a block index in \[0, 0\], got 1/,
  );
  const tour = getLoss("ft", minimalConfig("ft"));
  assert.deepEqual(await tour.prepare!({ teacherMaps: () => [] }), {});
  tour.dispose!();
});
