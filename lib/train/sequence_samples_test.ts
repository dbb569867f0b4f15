import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { getLoss } from "../losses/mod.ts";
import { createGPT, generate, type GPT } from "../models/mod.ts";
import { fDistill64 } from "../../tests/reference/losses64.ts";
import {
  constantLr,
  languageModelTask,
  loadCheckpoint,
  MemorySink,
  sampledWindows,
  type SequenceSampleOptions,
  train,
} from "./mod.ts";
import { batcher, dispose, tiny, trainTiny } from "../../tests/fixtures/tiny_lm.ts";

const P = 3;

/**
 * A teacher trained for 40 steps on the tiny token stream: an untrained tiny GPT repeats its last
 * token greedily (as a second one does) and samples near-uniformly, leaving nothing to distil.
 */
async function trainedTeacher(): Promise<GPT> {
  const teacher = createGPT({ ...tiny, seed: 1 });
  await train({
    task: languageModelTask({ student: teacher, objective: getLoss("sft"), batcher: batcher(9) }),
    steps: 40,
    schedule: constantLr(1e-2),
    sink: new MemorySink(),
  });
  return teacher;
}

/** Each model's greedy continuation of the first P tokens of batch 0's windows: [3, 9] rows. */
async function greedyRows(model: GPT): Promise<number[][]> {
  const { inputs, targets } = batcher().batch(0);
  const prompts = tf.slice(inputs, [0, 0], [3, P]);
  const rows = await generate(model, prompts, { newTokens: 9 - P, temperature: 0 }).array();
  tf.dispose([inputs, targets, prompts]);
  return rows as number[][];
}

Deno.test("sampledWindows stacks each side's continuation of the same prompts", async () => {
  await initBackend("wasm", { log: false });
  const teacher = await trainedTeacher();
  const student = createGPT({ ...tiny, seed: 2 });
  const [byTeacher, byStudent] = [await greedyRows(teacher), await greedyRows(student)];
  assert.notDeepEqual(byTeacher, byStudent, "the two models write different outputs");
  for (
    const sides of [["teacher", "student"], ["student", "teacher"], ["teacher"], [
      "student",
    ]] as SequenceSampleOptions["sides"][]
  ) {
    const out = sampledWindows(
      { student, teacher },
      batcher().batch(0),
      {
        promptLength: P,
        sides,
        temperature: 0,
      },
      1,
      0,
    );
    const want = sides.flatMap((side) => side === "teacher" ? byTeacher : byStudent);
    assert.deepEqual(await out.inputs.array(), want.map((r) => r.slice(0, 8)), `${sides}`);
    assert.deepEqual(await out.targets.array(), want.map((r) => r.slice(1, 9)), `${sides}`);
    assert.deepEqual(
      Array.from(await out.studentRows.data()),
      sides.flatMap((side) => Array(3).fill(side === "student" ? 1 : 0)),
    );
    assert.deepEqual(out.mask.shape, [3 * sides.length, 8]);
    assert.deepEqual((await out.mask.array())[0], [0, 0, 1, 1, 1, 1, 1, 1]);
    tf.dispose([out.inputs, out.targets, out.mask, out.studentRows]);
  }
  dispose(teacher, student);
});

Deno.test("sampled sequences are seeded by (seed, micro-batch index)", async () => {
  await initBackend("wasm", { log: false });
  const teacher = await trainedTeacher();
  const student = createGPT({ ...tiny, seed: 2 });
  const options: SequenceSampleOptions = { promptLength: 2, sides: ["teacher", "student"] };
  const draw = async (seed: number, index: number) => {
    const out = sampledWindows({ student, teacher }, batcher().batch(0), options, seed, index);
    const rows = await out.inputs.array();
    tf.dispose([out.inputs, out.targets, out.mask, out.studentRows]);
    return rows;
  };
  assert.deepEqual(await draw(1, 4), await draw(1, 4));
  assert.notDeepEqual(await draw(1, 4), await draw(1, 5));
  assert.notDeepEqual(await draw(1, 4), await draw(2, 4));
  dispose(teacher, student);
});

Deno.test("the f-distill task's loss is f-distill's, in float64, over both models' continuations", async () => {
  await initBackend("wasm", { log: false });
  const teacher = await trainedTeacher();
  const student = createGPT({ ...tiny, seed: 2 });
  const rows = [...await greedyRows(teacher), ...await greedyRows(student)];
  const inputs = tf.tensor2d(rows.map((r) => r.slice(0, 8)), undefined, "int32");
  const logitRows = async (m: GPT) =>
    (await m.logits(inputs).array() as number[][][]).flat() as number[][];
  const [t64, s64] = [await logitRows(teacher), await logitRows(student)];
  const fromStudent = [0, 0, 0, 1, 1, 1].flatMap((s) => Array(8).fill(s));
  const outputs = Array.from({ length: 6 }, () => [0, 0, 1, 1, 1, 1, 1, 1]).flat();
  for (const divergence of ["kl", "rkl", "js", "tvd"] as const) {
    const task = languageModelTask({
      student,
      teacher,
      objective: getLoss("fdistill", { divergence }),
      batcher: batcher(),
      sequenceSamples: { promptLength: P, sides: ["teacher", "student"], temperature: 0 },
    });
    const batch = task.batch(0);
    const got = (await task.loss(batch, 0).data())[0];
    const want = fDistill64(t64, s64, fromStudent, outputs, divergence);
    assert.ok(Math.abs(got - want) < 1e-5, `${divergence}: ${got} vs ${want}`);
    tf.dispose(Object.values(batch));
  }
  inputs.dispose();
  dispose(teacher, student);
});

Deno.test("SeqKD and f-distill train, leak nothing, and resume exactly", async () => {
  await initBackend("wasm", { log: false });
  const teacher = await trainedTeacher();
  const run = (objective: string, config: Record<string, unknown>, steps: number, dir?: string) =>
    trainTiny({
      task: (student) =>
        languageModelTask({
          student,
          teacher,
          objective: getLoss(objective, config),
          batcher: batcher(3),
          sequenceSamples: {
            promptLength: 2,
            sides: objective === "sft" ? ["teacher"] : ["teacher", "student"],
          },
        }),
      steps,
      accumulation: 2,
      dir,
      every: 3,
    });
  for (const [objective, config] of [["sft", {}], ["fdistill", { divergence: "js" }]] as const) {
    const straight = await run(objective, config, 12);
    const losses = straight.sink.rows.filter((r) => r.kind === "train").map((r) =>
      r.loss as number
    );
    assert.ok(losses.every(Number.isFinite), objective);
    assert.ok(straight.result.finalLoss < losses[0], `${objective}: ${losses}`);
    assert.equal(straight.counts.at(-1), straight.counts[0], `${objective}: tensor count flat`);
    const dir = await Deno.makeTempDir();
    await run(objective, config, 6, dir);
    assert.equal((await loadCheckpoint(dir))!.state.step, 6);
    const resumed = await run(objective, config, 12, dir);
    assert.equal(resumed.result.resumedFrom, 6);
    assert.deepEqual(resumed.weights, straight.weights, `${objective}: resumed = uninterrupted`);
    await Deno.remove(dir, { recursive: true });
  }
  dispose(teacher);
});

Deno.test("sampled sequences and their objectives name what is wrong", async () => {
  await initBackend("cpu", { log: false });
  const teacher = await trainedTeacher();
  const student = createGPT({ ...tiny, seed: 2 });
  const task = (
    sequenceSamples: SequenceSampleOptions | undefined,
    objective = getLoss("fdistill", { divergence: "js" }),
    withTeacher = true,
  ) =>
    languageModelTask({
      student,
      ...(withTeacher ? { teacher } : {}),
      objective,
      batcher: batcher(),
      sequenceSamples,
    });
  const both: SequenceSampleOptions = { promptLength: 2, sides: ["teacher", "student"] };
  assert.throws(() => task(undefined), /"fdistill" trains on teacher and student samples; give/);
  assert.throws(
    () => task({ promptLength: 2, sides: ["student"] }),
    /"fdistill" needs teacher samples; sequenceSamples.sides is \["student"\]/,
  );
  for (const sides of [[], ["teacher", "teacher"], ["data"]]) {
    assert.throws(
      () => task({ promptLength: 2, sides: sides as SequenceSampleOptions["sides"] }),
      /sequenceSamples.sides must list "teacher" and\/or "student" once each/,
    );
  }
  assert.throws(() => task({ ...both, promptLength: 9 }), /sequenceSamples.promptLength/);
  assert.throws(() => task({ ...both, temperature: -1 }), /sequenceSamples.temperature/);
  assert.throws(
    () => task({ promptLength: 2, sides: ["teacher"] }, getLoss("sft"), false),
    /sequenceSamples.sides has teacher; give a teacher/,
  );
  assert.throws(
    () =>
      languageModelTask({
        student,
        teacher,
        objective: getLoss("fkl"),
        batcher: batcher(),
        sequenceSamples: both,
        onPolicy: { fraction: 0.5, promptLength: 2 },
      }),
    /at most one of onPolicy, adaptiveOffPolicy, miniLLM, sequenceSamples/,
  );
  dispose(teacher, student);
});
