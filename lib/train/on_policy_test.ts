import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { forwardKL, getLoss } from "../losses/mod.ts";
import { createGPT, generate, type GPT } from "../models/mod.ts";
import {
  isOnPolicyBatch,
  languageModelTask,
  loadCheckpoint,
  type OnPolicyOptions,
  onPolicyWindows,
  outputMask,
} from "./mod.ts";
import { batcher, dispose, tiny, trainTiny } from "../../tests/fixtures/tiny_lm.ts";

Deno.test("outputMask counts the positions that predict output tokens", async () => {
  await initBackend("cpu", { log: false });
  // Position t predicts token t + 1; the output is tokens P..T, so t ≥ P − 1.
  assert.deepEqual(await outputMask(2, 5, 2).array(), [[0, 1, 1, 1, 1], [0, 1, 1, 1, 1]]);
  assert.deepEqual(await outputMask(1, 4, 1).array(), [[1, 1, 1, 1]]);
  assert.deepEqual(await outputMask(1, 4, 4).array(), [[0, 0, 0, 1]]);
});

Deno.test("isOnPolicyBatch draws λ of the micro-batches, the same ones every time", () => {
  const draws = (fraction: number) =>
    Array.from({ length: 4000 }, (_, i) => isOnPolicyBatch(7, i, fraction));
  assert.ok(draws(0).every((d) => !d));
  assert.ok(draws(1).every((d) => d));
  const third = draws(0.3).filter((d) => d).length;
  // Binomial(4000, 0.3): sd = 29.
  assert.ok(Math.abs(third - 1200) < 5 * 29, `${third} of 4000`);
  assert.deepEqual(draws(0.3), draws(0.3));
  assert.notDeepEqual(
    draws(0.3),
    Array.from({ length: 4000 }, (_, i) => isOnPolicyBatch(8, i, 0.3)),
  );
});

Deno.test("onPolicyWindows keeps the data at λ = 0 and the prompts at λ = 1", async () => {
  await initBackend("wasm", { log: false });
  const student = createGPT({ ...tiny, seed: 2 });
  const P = 3;
  const data = batcher().batch(0);
  const [dataInputs, dataTargets] = [await data.inputs.array(), await data.targets.array()];

  const off = onPolicyWindows(student, batcher().batch(0), { fraction: 0, promptLength: P }, 1, 0);
  assert.equal(off.generated, false);
  assert.deepEqual(await off.inputs.array(), dataInputs);
  assert.deepEqual(await off.targets.array(), dataTargets);
  assert.deepEqual((await off.mask.array())[0], [0, 0, 1, 1, 1, 1, 1, 1]);

  const options: OnPolicyOptions = { fraction: 1, promptLength: P, temperature: 0 };
  const on = onPolicyWindows(student, batcher().batch(0), options, 1, 0);
  assert.equal(on.generated, true);
  const [inputs, targets] = [await on.inputs.array(), await on.targets.array()];
  // Greedy outputs: the student's own continuation of the data's prompts.
  const prompts = tf.slice(data.inputs, [0, 0], [3, P]);
  const greedy = await generate(student, prompts, { newTokens: 8 + 1 - P, temperature: 0 })
    .array();
  for (let b = 0; b < 3; b++) {
    assert.deepEqual(inputs[b].slice(0, P), dataInputs[b].slice(0, P));
    assert.deepEqual(inputs[b], greedy[b].slice(0, 8));
    assert.deepEqual(targets[b], greedy[b].slice(1, 9));
  }
  assert.notDeepEqual(inputs, dataInputs);
  tf.dispose([data.inputs, data.targets, off.inputs, off.targets, off.mask, prompts]);
  tf.dispose([on.inputs, on.targets, on.mask]);
  dispose(student);
});

Deno.test("the on-policy loss counts output positions only", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const student = createGPT({ ...tiny, seed: 2 });
  // promptLength = T: only the last position's prediction is an output.
  const task = languageModelTask({
    student,
    teacher,
    objective: getLoss("fkl"),
    batcher: batcher(),
    onPolicy: { fraction: 0, promptLength: 8 },
  });
  const batch = task.batch(0);
  const loss = await task.loss(batch, 0).data();
  const { inputs } = batcher().batch(0);
  const lastRow = (m: GPT) => tf.slice(m.logits(inputs), [0, 7, 0], [3, 1, tiny.vocabSize]);
  const want = await forwardKL(lastRow(teacher), lastRow(student)).data();
  assert.ok(Math.abs(loss[0] - want[0]) < 1e-6, `${loss[0]} vs ${want[0]}`);
  dispose(teacher, student);
});

Deno.test("on-policy distillation trains, leaks nothing, and resumes exactly", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const run = (steps: number, dir?: string) =>
    trainTiny({
      task: (student) =>
        languageModelTask({
          student,
          teacher,
          objective: getLoss("gjsd", { beta: 0.5 }),
          batcher: batcher(3),
          onPolicy: { fraction: 0.5, promptLength: 2 },
        }),
      steps,
      accumulation: 2,
      dir,
      every: 3,
    });
  const straight = await run(12);
  assert.ok(straight.sink.rows.every((r) => Number.isFinite(r.loss as number)));
  assert.ok(straight.result.finalLoss < (straight.sink.rows[0].loss as number));
  assert.equal(straight.counts.at(-1), straight.counts[0], "tensor count flat");
  // Both kinds of micro-batch happen in 24 draws at λ = 0.5.
  const kinds = new Set(Array.from({ length: 24 }, (_, i) => isOnPolicyBatch(3, i, 0.5)));
  assert.equal(kinds.size, 2);

  const dir = await Deno.makeTempDir();
  await run(6, dir);
  const firstCpu = (await loadCheckpoint(dir))!.state.cpuSeconds!;
  const resumed = await run(12, dir);
  assert.equal(resumed.result.resumedFrom, 6);
  assert.deepEqual(resumed.weights, straight.weights);
  // The run's time: this call's plus the first segment's, kept in the checkpoint.
  assert.equal(straight.result.totalSeconds, straight.result.seconds);
  assert.ok(resumed.result.totalSeconds > resumed.result.seconds);
  // CPU time too: the resumed run's includes the first segment's, kept in the checkpoint.
  assert.ok(firstCpu > 0 && straight.result.totalCpuSeconds > 0);
  assert.ok(resumed.result.totalCpuSeconds > firstCpu);
  await Deno.remove(dir, { recursive: true });
  dispose(teacher);
});

Deno.test("on-policy options name the bad field", async () => {
  await initBackend("cpu", { log: false });
  const student = createGPT({ ...tiny, seed: 2 });
  const task = (onPolicy: OnPolicyOptions) =>
    languageModelTask({
      student,
      teacher: student,
      objective: getLoss("fkl"),
      batcher: batcher(),
      onPolicy,
    });
  assert.throws(
    () => task({ fraction: 1.5, promptLength: 2 }),
    /onPolicy.fraction must be in \[0, 1\]/,
  );
  assert.throws(() => task({ fraction: NaN, promptLength: 2 }), /onPolicy.fraction/);
  assert.throws(
    () => task({ fraction: 0.5, promptLength: 0 }),
    /onPolicy.promptLength .*contextLength = 8/,
  );
  assert.throws(() => task({ fraction: 0.5, promptLength: 9 }), /onPolicy.promptLength/);
  assert.throws(
    () => task({ fraction: 0.5, promptLength: 2, temperature: -1 }),
    /onPolicy.temperature/,
  );
  dispose(student);
});
