import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import {
  ce64,
  hinton64,
  numericGradient,
  randomRows,
  type Rows64,
} from "../../tests/reference/losses64.ts";
import { at64, attentionMap64 } from "../../tests/reference/representation64.ts";
import { getLoss } from "../losses/mod.ts";
import { attentionMap, attentionTargets, attentionTransfer } from "./mod.ts";

await tf.setBackend("cpu");

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

/** Two blocks per model, 3 examples: 4×4 and 2×2 maps; the channel counts differ. */
const B = 3;
const studentShapes: [number, number, number, number][] = [[B, 4, 4, 2], [B, 2, 2, 3]];
const teacherShapes: [number, number, number, number][] = [[B, 4, 4, 5], [B, 2, 2, 1]];
/** A block as rows [B·H·W][C] (NHWC order), as the float64 reference takes it. */
const blockRows = (shape: number[], seed: number) =>
  randomRows(shape[0] * shape[1] * shape[2], shape[3], seed, 1.5);
const studentRows = studentShapes.map((s, j) => blockRows(s, 40 + j));
const teacherRows = teacherShapes.map((s, j) => blockRows(s, 50 + j));
const toMap = (rows: Rows64, shape: [number, number, number, number]) =>
  tf.tensor2d(rows).reshape(shape) as tf.Tensor4D;

for (const backend of ["cpu", "wasm"]) {
  for (const p of [2, 3]) {
    Deno.test(`attentionTransfer (p = ${p}): known answer and finite-difference gradients of each student block against float64 (${backend})`, async () => {
      await initBackend(backend, { log: false });
      try {
        const targets = tf.tidy(() =>
          attentionTargets(teacherRows.map((r, j) => toMap(r, teacherShapes[j])), p)
        );
        const loss = (blocks: Rows64[]) =>
          tf.tidy(() =>
            attentionTransfer(targets, blocks.map((r, j) => toMap(r, studentShapes[j])), p)
              .dataSync()[0]
          );
        close(loss(studentRows), at64(teacherRows, studentRows, B, p), 2e-5, "value");
        for (let j = 0; j < studentRows.length; j++) {
          const numeric = numericGradient(
            (x) => at64(teacherRows, studentRows.map((r, k) => k === j ? x : r), B, p),
            studentRows[j],
          ).flat();
          const grad = tf.tidy(() =>
            tf.grad((x: tf.Tensor) =>
              attentionTransfer(
                targets,
                studentRows.map((r, k) =>
                  k === j ? x.reshape(studentShapes[j]) : toMap(r, studentShapes[k])
                ),
                p,
              )
            )(tf.tensor2d(studentRows[j])).dataSync()
          );
          numeric.forEach((n, i) => close(grad[i], n, 3e-4, `block ${j} grad[${i}]`));
        }
        // The targets are the reference's maps, block after block.
        const expected = teacherRows.map((r) => attentionMap64(r, B, p));
        const got = targets.arraySync() as Rows64;
        got.forEach((row, b) =>
          row.forEach((v, k) => close(v, [...expected[0][b], ...expected[1][b]][k], 1e-5, "target"))
        );
        targets.dispose();
      } finally {
        await initBackend("cpu", { log: false });
      }
    });
  }
}

Deno.test("attentionTransfer: zero for the teacher's own maps, scaled or with other channels; finite at a dead map", () => {
  tf.tidy(() => {
    const maps = teacherShapes.map((s, j) => toMap(teacherRows[j], s));
    const targets = attentionTargets(maps);
    // Scaling a block scales its map, which the normalisation removes.
    assert.ok(attentionTransfer(targets, maps.map((m) => m.mul(7))).dataSync()[0] < 1e-10);
    // Channels: the map of [A, −A] (Σ_c |a|²) is twice A's, the same after normalisation.
    const doubled = maps.map((m) => tf.concat([m, m.neg()], 3));
    assert.ok(attentionTransfer(targets, doubled).dataSync()[0] < 1e-10);
    // A student whose first block is all zero (dead ReLUs): a finite loss and gradient.
    const dead = studentShapes.map((s, j) => j === 0 ? tf.zeros(s) : toMap(studentRows[j], s));
    const value = attentionTransfer(targets, dead).dataSync()[0];
    assert.ok(Number.isFinite(value) && value > 0);
    const g = tf.grad((x: tf.Tensor) => attentionTransfer(targets, [x, dead[1]]))(dead[0]);
    assert.ok(g.dataSync().every(Number.isFinite));
    // A single map: the unit vector of Σ_c a².
    const one = attentionMap(tf.tensor4d([1, 2, 0, 2], [1, 2, 2, 1])).dataSync();
    [1, 4, 0, 4].forEach((v, k) => close(one[k], v / Math.sqrt(33), 1e-6, `map[${k}]`));
  });
});

Deno.test("attentionTransfer: named errors for bad shapes, exponents and NaN", () => {
  tf.tidy(() => {
    const maps = studentShapes.map((s, j) => toMap(studentRows[j], s));
    const targets = attentionTargets(teacherShapes.map((s, j) => toMap(teacherRows[j], s)));
    assert.throws(() => attentionTransfer(targets, []), /studentMaps must be a non-empty list/);
    assert.throws(
      () => attentionTransfer(targets, [maps[0].reshape([B, 16, 2])]),
      /studentMaps\[0\] must be a non-empty \[B, H, W, C\] tensor, got shape \[3,16,2\]/,
    );
    assert.throws(
      () => attentionTransfer(targets, [maps[0], tf.zeros([2, 2, 2, 3])]),
      /same examples, got 3 rows in block 0 and 2 in block 1/,
    );
    assert.throws(
      () => attentionTransfer(targets, [maps[0]]),
      /teacherTargets must be \[3, 16\] to pair with the student's blocks of 4×4, got \[3,20\]/,
    );
    assert.throws(
      () => attentionTransfer(targets, [tf.zeros([B, 2, 2, 3]), maps[1]]),
      /blocks of 2×2, 2×2, got \[3,20\] \(the paired blocks must have the same spatial sizes\)/,
    );
    assert.throws(() => attentionTransfer(targets, maps, 0.5), /p must be a finite number ≥ 1/);
    assert.throws(() => attentionTargets([maps[0]], NaN), /attentionTargets: p must be/);
    assert.throws(() => getLoss("at", { p: 0 }), /at: config.p must be a finite number ≥ 1/);
    const nan = maps[1].mul(NaN) as tf.Tensor4D;
    assert.throws(
      () => attentionTransfer(targets, [maps[0], nan]),
      /studentMaps contain NaN or Inf/,
    );
    assert.throws(
      () => attentionTransfer(targets.mul(Infinity), maps),
      /teacherTargets contain NaN or Inf/,
    );
  });
});

Deno.test("registry: at = 1000·AT + CE (+ T²·KD when asked), on the teacher's reduced maps", () => {
  tf.tidy(() => {
    const maps = studentShapes.map((s, j) => toMap(studentRows[j], s));
    const teacherMaps = teacherShapes.map((s, j) => toMap(teacherRows[j], s));
    const logits = randomRows(B, 4, 60), teacherLogits = randomRows(B, 4, 61);
    const labels = [0, 3, 1];
    const objective = getLoss("at", { kdWeight: 0.5, temperature: 2 });
    assert.equal(objective.needsMaps, true);
    assert.equal(objective.needsFeatures, undefined);
    assert.equal(objective.mapTargetsKey, "at:p2");
    const inputs = {
      studentLogits: tf.tensor2d(logits),
      teacherLogits: tf.tensor2d(teacherLogits),
      labels: tf.tensor1d(labels, "int32"),
      studentMaps: maps,
      teacherMapTargets: objective.teacherMapTargets!(teacherMaps),
    };
    const ce = logits.reduce((a, row, i) => a + ce64(row, labels[i]), 0) / B;
    const kd = logits.reduce(
      (a, row, i) => a + hinton64(teacherLogits[i], row, labels[i], 2, 0, 0.5),
      0,
    ) / B;
    const expected = 1000 * at64(teacherRows, studentRows, B, 2) + ce + kd;
    close(objective.loss(inputs).dataSync()[0], expected, 1e-4, "at + CE + KD");
    assert.throws(
      () => objective.loss({ ...inputs, studentMaps: undefined }),
      /at: inputs.teacherMapTargets and inputs.studentMaps are required/,
    );
    assert.equal(getLoss("at", { p: 4 }).mapTargetsKey, "at:p4");
  });
});
