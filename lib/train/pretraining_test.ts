import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { TokenBatcher } from "../data/mod.ts";
import { getLoss } from "../losses/mod.ts";
import { createGPT, type GPT } from "../models/mod.ts";
import {
  languageModelTask,
  loadCheckpoint,
  MiniLLMRollouts,
  type PretrainingOptions,
} from "./mod.ts";
import { batcher, dispose, tiny, tokens, trainTiny } from "../../tests/fixtures/tiny_lm.ts";

/** Pre-training text: the tiny stream read backwards, windows drawn with their own seed. */
const pretrainingText = () =>
  new TokenBatcher(tokens.slice().reverse(), { batchSize: 2, contextLength: 8, seed: 5 });

/** log softmax of one row, in float64. */
const logSoftmax64 = (z: number[]) => {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
};

Deno.test("L_PT adds c·((1 − r)·CE + r·KL(p ‖ q)) on pre-training text, as computed in float64", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const student = createGPT({ ...tiny, seed: 2 });
  const rows = async (m: GPT, x: tf.Tensor) => (await m.logits(x).array() as number[][][]).flat();
  const pt = pretrainingText().batch(3);
  const [lq, lp] = [await rows(student, pt.inputs), await rows(teacher, pt.inputs)];
  const next = (await pt.targets.array() as number[][]).flat();
  let ce = 0, kl = 0;
  lq.forEach((zq, i) => {
    const [q, p] = [logSoftmax64(zq), logSoftmax64(lp[i])];
    ce -= q[next[i]];
    kl += p.reduce((a, lpi, v) => a + Math.exp(lpi) * (lpi - q[v]), 0);
  });
  [ce, kl] = [ce / lq.length, kl / lq.length];
  const plain = languageModelTask({
    student,
    teacher,
    objective: getLoss("fkl"),
    batcher: batcher(),
  });
  const base = (await plain.loss(plain.batch(3), 3).data())[0];
  for (const [coef, kdRatio] of [[1, 0.5], [2, 0], [0.5, 1]]) {
    const task = languageModelTask({
      student,
      teacher,
      objective: getLoss("fkl"),
      batcher: batcher(),
      pretraining: { batcher: pretrainingText(), coef, kdRatio },
    });
    const batch = task.batch(3);
    const got = (await task.loss(batch, 3).data())[0];
    const want = base + coef * ((1 - kdRatio) * ce + kdRatio * kl);
    assert.ok(Math.abs(got - want) < 1e-5, `c ${coef} r ${kdRatio}: ${got} vs ${want}`);
    tf.dispose(Object.values(batch));
  }
  dispose(teacher, student);
});

Deno.test("MiniLLM with L_PT trains, leaks nothing, and resumes exactly", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const run = (steps: number, dir?: string) =>
    trainTiny({
      task: (student) =>
        languageModelTask({
          student,
          teacher,
          objective: getLoss("minillm"),
          batcher: batcher(3),
          miniLLM: new MiniLLMRollouts({ promptLength: 2, ppoEpochs: 2 }, {
            seed: 3,
            batchSize: 3,
            contextLength: 8,
          }),
          pretraining: { batcher: pretrainingText() },
        }),
      steps,
      dir,
      every: 3,
    });
  const straight = await run(8);
  assert.ok(
    straight.sink.rows.every((r) => r.kind !== "train" || Number.isFinite(r.loss as number)),
  );
  assert.equal(straight.counts.at(-1), straight.counts[0], "tensor count flat");
  const dir = await Deno.makeTempDir();
  await run(5, dir); // stopped in the middle of a rollout (2 micro-batches each)
  assert.equal((await loadCheckpoint(dir))!.state.step, 5);
  const resumed = await run(8, dir);
  assert.equal(resumed.result.resumedFrom, 5);
  assert.deepEqual(resumed.weights, straight.weights);
  await Deno.remove(dir, { recursive: true });
  dispose(teacher);
});

Deno.test("pre-training options name the bad field", async () => {
  await initBackend("cpu", { log: false });
  const student = createGPT({ ...tiny, seed: 2 });
  const task = (pretraining: Partial<PretrainingOptions>, withTeacher = true) =>
    languageModelTask({
      student,
      ...(withTeacher ? { teacher: student } : {}),
      objective: getLoss(withTeacher ? "fkl" : "sft"),
      batcher: batcher(),
      pretraining: { batcher: pretrainingText(), ...pretraining },
    });
  assert.throws(() => task({ coef: 0 }), /pretraining.coef must be a finite number > 0/);
  assert.throws(() => task({ kdRatio: 1.5 }), /pretraining.kdRatio must be in \[0, 1\]/);
  assert.throws(() => task({}, false), /kdRatio 0.5 > 0 needs a teacher/);
  task({ kdRatio: 0 }, false);
  const wide = new TokenBatcher(tokens, { batchSize: 2, contextLength: 9, seed: 1 });
  assert.throws(() => task({ batcher: wide }), /pretraining: batcher contextLength 9 exceeds/);
  const outOfVocab = new TokenBatcher(Int32Array.from(tokens, (t, i) => i === 50 ? 17 : t), {
    batchSize: 2,
    contextLength: 8,
    seed: 1,
  });
  assert.throws(
    () => task({ batcher: outOfVocab }),
    /pretraining: token ids must be in \[0, 17\), the data has \[0, 17\]/,
  );
  // The teacher reads the pre-training text too (kdRatio > 0): its context must hold a window.
  const long = createGPT({ ...tiny, contextLength: 16, seed: 3 });
  const shortTeacher = createGPT({ ...tiny, seed: 1 });
  const longText = new TokenBatcher(tokens, { batchSize: 2, contextLength: 12, seed: 1 });
  const withText = (kdRatio: number) =>
    languageModelTask({
      student: long,
      teacher: shortTeacher,
      objective: getLoss("fkl"),
      batcher: batcher(),
      pretraining: { batcher: longText, kdRatio },
    });
  assert.throws(
    () => withText(0.5),
    /pretraining: batcher contextLength 12 exceeds the teacher's 8/,
  );
  withText(0);
  dispose(student, long, shortTeacher);
});
