import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend.ts";
import { Rng } from "../data/rng.ts";
import { constantLr, train } from "../train/mod.ts";
import { twoTeacherTask } from "../../tests/fixtures/two_teachers.ts";
import { MultiTeacherHeads } from "./multi_teacher.ts";

await initBackend("cpu", { log: false });

Deno.test("multi-teacher distillation: the loss falls, tensors stay flat, AdaLoss state resumes", async () => {
  const rng = new Rng(3);
  const n = 64;
  const x = Float32Array.from({ length: n * 784 }, () => rng.next() - 0.5);
  // Two "teachers": fixed random linear features of the images, at scales 100 and 0.01.
  const teacherRows = (width: number, scale: number) => {
    const w = Float32Array.from({ length: 784 * width }, () => rng.next() - 0.5);
    return tf.tidy(() =>
      tf.mul(tf.matMul(tf.tensor2d(x, [n, 784]), tf.tensor2d(w, [784, width])), scale)
        .dataSync() as Float32Array
    );
  };
  const big = teacherRows(12, 100);
  const small = teacherRows(8, 0.01);
  const { task, heads, dispose } = twoTeacherTask(x, big, small, 32);
  const counts: number[] = [];
  const losses: number[] = [];
  const terms: { big: number; small: number }[] = [];
  await train({
    task,
    steps: 100,
    schedule: constantLr(3e-3),
    onRow: (row) => {
      counts.push(tf.memory().numTensors);
      losses.push(row.loss as number);
      terms.push({
        big: row.multi_teacher_loss_big as number,
        small: row.multi_teacher_loss_small as number,
      });
    },
  });
  assert.ok(
    counts.slice(2).every((c) => c === counts[2]),
    `numTensors over steps: ${counts.slice(0, 8)}…`,
  );
  const state = await heads.state() as { ada: { steps: number; averages: Record<string, number> } };
  assert.equal(state.ada.steps, 100);
  assert.ok(state.ada.averages.big > 0 && state.ada.averages.small > 0);
  // With AdaLoss each term is ≈ 1 at the start, so the loss starts at 2; both raw (unbalanced)
  // per-teacher MSEs, logged with every row, must fall.
  assert.ok(Math.abs(losses[0] - 2) < 1e-3, `first loss ${losses[0]}`);
  for (const k of ["big", "small"] as const) {
    assert.ok(terms.at(-1)![k] < 0.5 * terms[0][k], `${k}: ${terms[0][k]} → ${terms.at(-1)![k]}`);
  }
  const copy = new MultiTeacherHeads({
    teachers: heads.teachers,
    trunkDim: 32,
    hidden: 32,
    adaLoss: true,
    seed: 2,
  });
  copy.load(JSON.parse(JSON.stringify(await heads.state())));
  assert.deepEqual((await copy.state() as typeof state).ada, state.ada);
  dispose();
  tf.dispose(Object.values(copy.params));
  copy.dispose();
});
