import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { hashSeed } from "../data/rng.ts";
import { getLoss, reverseKL } from "../losses/mod.ts";
import { createGPT, generate, type GPT } from "../models/mod.ts";
import {
  checkMiniLLM,
  constantLr,
  languageModelTask,
  miniLLMAdvantages,
  type MiniLLMBatch,
  type MiniLLMOptions,
  MiniLLMRollouts,
  outputMask,
  train,
} from "./mod.ts";
import { batcher, dispose, tiny, trainTiny } from "../../tests/fixtures/tiny_lm.ts";

await initBackend("cpu", { log: false });

/** MiniLLM's advantages in float64, written from the module doc's definition, row by row. */
function advantages64(
  rewards: number[][],
  mask: number[][],
  o: { discount: number; lengthNorm: boolean; whiten: boolean },
): number[][] {
  const out = rewards.map((row, b) =>
    row.map((_, t) => {
      if (!mask[b][t]) return 0;
      let sum = 0, ahead = 0;
      for (let u = t; u < row.length; u++) {
        if (!mask[b][u]) continue;
        sum += o.discount ** (u - t) * rewards[b][u];
        ahead++;
      }
      return o.lengthNorm ? sum / ahead : sum;
    })
  );
  if (!o.whiten) return out;
  const values = out.flatMap((row, b) => row.filter((_, t) => mask[b][t]));
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return out.map((row, b) =>
    row.map((v, t) => mask[b][t] ? (v - mean) / Math.sqrt(variance + 1e-8) : 0)
  );
}

Deno.test("miniLLMAdvantages matches float64: discounted, length-normalised, whitened", async () => {
  const rewards = [[0.3, -1.2, 0.5, 2.0, -0.7], [1.1, 0.4, -0.3, -2.2, 0.9]];
  const mask = [[0, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
  for (const discount of [0.95, 1, 0.5, 0]) {
    for (const lengthNorm of [true, false]) {
      for (const whiten of [true, false]) {
        const o = { discount, lengthNorm, whiten };
        const got = await tf.tidy(() =>
          miniLLMAdvantages(tf.tensor2d(rewards), tf.tensor2d(mask), o)
        ).array();
        const want = advantages64(rewards, mask, o);
        want.flat().forEach((w, i) =>
          assert.ok(Math.abs(got.flat()[i] - w) < 1e-5, `${JSON.stringify(o)} [${i}]`)
        );
      }
    }
  }
  assert.throws(
    () => miniLLMAdvantages(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D),
    /rewards and mask must both be \[batch, length\]/,
  );
});

/** The batch's values, read back; the batch is freed. */
async function read(b: MiniLLMBatch): Promise<Record<keyof MiniLLMBatch, number[][]>> {
  const entries = await Promise.all(Object.entries(b).map(async ([k, v]) => [k, await v.array()]));
  tf.dispose(Object.values(b));
  return Object.fromEntries(entries);
}
const free = (b: MiniLLMBatch) => tf.dispose(Object.values(b));

Deno.test("MiniLLMRollouts: prompts kept, weights and advantages from both models' log-probabilities", async () => {
  const student = createGPT({ ...tiny, seed: 2 });
  const teacher = createGPT({ ...tiny, nLayer: 2, seed: 3 });
  teacher.params.wte.assign(tf.mul(teacher.params.wte, 8)); // a teacher unlike the student
  const data = batcher(4);
  const P = 3;
  const alpha = 0.3;
  const rollouts = new MiniLLMRollouts({ promptLength: P, teacherMix: alpha }, {
    seed: 5,
    batchSize: 3,
    contextLength: 8,
  });
  const window = data.batch(0);
  const prompts = await tf.slice(window.inputs, [0, 0], [3, P]).array();
  const batch = await read(rollouts.batch(student, teacher, window, 0));
  batch.inputs.forEach((row, b) => assert.deepEqual(row.slice(0, P), prompts[b]));
  assert.deepEqual(batch.mask[0], [0, 0, 1, 1, 1, 1, 1, 1]);
  // Independent scores of the same tokens: each model's log-softmax at the sampled next token.
  const logProbs = async (model: typeof student) => {
    const logits = await model.logits(tf.tensor2d(batch.inputs, undefined, "int32")).array();
    return logits.map((row, b) =>
      row.map((z, t) => {
        const max = Math.max(...z);
        const lse = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
        return z[batch.targets[b][t]] - lse;
      })
    );
  };
  const [lq, lp] = [await logProbs(student), await logProbs(teacher)];
  const rewards = lq.map((row, b) => row.map((q, t) => lp[b][t] - q));
  const want = advantages64(rewards, batch.mask, {
    discount: 0.95,
    lengthNorm: true,
    whiten: true,
  });
  for (let b = 0; b < 3; b++) {
    for (let t = P - 1; t < 8; t++) {
      const [q, p] = [Math.exp(lq[b][t]), Math.exp(lp[b][t])];
      const near = (a: number, e: number, what: string) =>
        assert.ok(
          Math.abs(a - e) < 2e-4 * Math.max(1, Math.abs(e)),
          `${what}[${b}][${t}]: ${a} vs ${e}`,
        );
      near(batch.oldLogProbs[b][t], lq[b][t], "oldLogProbs");
      near(batch.weights[b][t], q / ((1 - alpha) * q + alpha * p), "weights");
      near(batch.advantages[b][t], want[b][t], "advantages");
    }
  }
  assert.ok(batch.weights.flat().some((w) => Math.abs(w - 1) > 0.05), "weights all ≈ 1");
  rollouts.dispose();
  dispose(student, teacher);
});

Deno.test("MiniLLMRollouts: α = 0 samples as the student alone, with weights 1", async () => {
  const student = createGPT({ ...tiny, seed: 2 });
  const teacher = createGPT({ ...tiny, seed: 3 });
  const rollouts = new MiniLLMRollouts({ promptLength: 2, teacherMix: 0 }, {
    seed: 5,
    batchSize: 3,
    contextLength: 8,
  });
  const window = batcher(4).batch(0);
  const prompts = tf.slice(window.inputs, [0, 0], [3, 2]);
  const alone = await generate(student, prompts, {
    newTokens: 7,
    seed: hashSeed(5, "minillm-sample", 0),
  }).array();
  const batch = await read(rollouts.batch(student, teacher, window, 0));
  batch.inputs.forEach((row, b) => assert.deepEqual(row, alone[b].slice(0, 8)));
  batch.targets.forEach((row, b) => assert.deepEqual(row, alone[b].slice(1)));
  batch.weights.forEach((row) =>
    row.slice(1).forEach((w) => assert.ok(Math.abs(w - 1) < 1e-6, `w ${w}`))
  );
  rollouts.dispose();
  dispose(student, teacher);
});

Deno.test("MiniLLMRollouts: one rollout per ppoEpochs micro-batches; a checkpoint resumes it exactly; no leak", async () => {
  const student = createGPT({ ...tiny, seed: 2 });
  const teacher = createGPT({ ...tiny, seed: 3 });
  const run = { seed: 5, batchSize: 3, contextLength: 8 };
  const rollouts = new MiniLLMRollouts({ promptLength: 2, ppoEpochs: 3 }, run);
  const data = batcher(4);
  free(rollouts.batch(student, teacher, data.batch(0), 0)); // warm the causal-mask caches
  const before = tf.memory().numTensors;
  const batches = [];
  for (let i = 0; i < 7; i++) {
    batches.push(await read(rollouts.batch(student, teacher, data.batch(i), i)));
  }
  assert.equal(tf.memory().numTensors - before, 0, "tensors");
  assert.deepEqual(batches[1], batches[0]);
  assert.deepEqual(batches[2], batches[0]);
  assert.notDeepEqual(batches[3].inputs, batches[0].inputs);
  assert.deepEqual(batches[5], batches[3]);
  assert.notDeepEqual(batches[6].inputs, batches[3].inputs);
  assert.equal(rollouts.drawn, 3);
  // Stopped after micro-batch 4 (mid-rollout): a fresh instance loaded with the state serves
  // micro-batch 5 from the same rollout, even though the student has moved.
  const again = new MiniLLMRollouts({ promptLength: 2, ppoEpochs: 3 }, run);
  const redo = new MiniLLMRollouts({ promptLength: 2, ppoEpochs: 3 }, run);
  for (let i = 0; i <= 4; i++) free(redo.batch(student, teacher, data.batch(i), i));
  again.load(JSON.parse(JSON.stringify(await redo.state())));
  student.params.wte.assign(tf.add(student.params.wte, 1));
  // (Through JSON, as a checkpoint stores it: −0 at a masked position comes back as 0.)
  const json = (x: unknown) => JSON.parse(JSON.stringify(x));
  assert.deepEqual(
    json(await read(again.batch(student, teacher, data.batch(5), 5))),
    json(batches[5]),
  );
  assert.equal(again.drawn, redo.drawn);
  assert.throws(
    () =>
      again.load({
        group: 0,
        drawn: 1,
        sequence: [1],
        oldLogProbs: [],
        weights: [],
        advantages: [],
      }),
    /MiniLLMRollouts.load: a rollout of 3 windows of 8 tokens needs 27 tokens/,
  );
  const wrong = { inputs: tf.zeros([2, 8], "int32"), targets: tf.zeros([2, 8], "int32") };
  assert.throws(
    () => rollouts.batch(student, teacher, wrong, 0),
    /MiniLLMRollouts.batch: expected windows \[3, 8\], got \[2,8\]/,
  );
  tf.dispose(Object.values(wrong));
  [rollouts, again, redo].forEach((r) => r.dispose());
  dispose(student, teacher);
});

Deno.test("checkMiniLLM names the bad field", () => {
  const cases: [object, RegExp][] = [
    [{ promptLength: 0 }, /miniLLM.promptLength must be an integer in \[1, contextLength = 8\]/],
    [{ promptLength: 2, teacherMix: 1.5 }, /miniLLM.teacherMix must be in \[0, 1\]/],
    [{ promptLength: 2, discount: -0.1 }, /miniLLM.discount must be in \[0, 1\]/],
    [{ promptLength: 2, ppoEpochs: 0 }, /miniLLM.ppoEpochs must be a positive integer/],
    [{ promptLength: 2, whiten: "yes" }, /miniLLM.whiten must be true or false/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => checkMiniLLM(options as never, 8), message);
  }
});

/** Mean token-level KL(q ‖ p) on the student's own samples (fixed prompts and seed). */
async function reverseKLOnSamples(student: GPT, teacher: GPT): Promise<number> {
  const value = tf.tidy(() => {
    const prompts = tf.tile(tf.tensor2d([[1, 5], [7, 2], [3, 3], [9, 0]], undefined, "int32"), [
      8,
      1,
    ]);
    const sequence = generate(student, prompts, { newTokens: 7, seed: 99 });
    const inputs = tf.slice(sequence, [0, 0], [32, 8]);
    return reverseKL(teacher.logits(inputs), student.logits(inputs), {
      mask: outputMask(32, 8, 2),
    });
  });
  const out = (await value.data())[0];
  value.dispose();
  return out;
}

Deno.test("MiniLLM distillation lowers the reverse KL on the student's samples, leaks nothing, resumes mid-rollout", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, nLayer: 2, seed: 1 });
  teacher.params.wte.assign(tf.mul(teacher.params.wte, 6)); // a peaked teacher to move towards
  const options: MiniLLMOptions = { promptLength: 2, ppoEpochs: 2 };
  const task = (student: GPT) =>
    languageModelTask({
      student,
      teacher,
      objective: getLoss("minillm"),
      batcher: batcher(3),
      miniLLM: new MiniLLMRollouts(options, { seed: 3, batchSize: 3, contextLength: 8 }),
    });
  const student = createGPT({ ...tiny, seed: 2 });
  const before = await reverseKLOnSamples(student, teacher);
  await train({ task: task(student), steps: 80, schedule: constantLr(1e-2), clipNorm: 1 });
  const after = await reverseKLOnSamples(student, teacher);
  assert.ok(after < 0.5 * before, `reverse KL on samples ${before} → ${after}`);
  dispose(student);

  const straight = await trainTiny({ task, steps: 8 });
  assert.ok(straight.sink.rows.every((r) => Number.isFinite(r.loss as number)));
  assert.equal(straight.counts.at(-1), straight.counts[0], "tensor count flat");
  const dir = await Deno.makeTempDir();
  await trainTiny({ task, steps: 3, dir, every: 3 }); // step 3 falls inside rollout 1 (2 and 3)
  const resumed = await trainTiny({ task, steps: 8, dir, every: 3 });
  assert.equal(resumed.result.resumedFrom, 3);
  assert.deepEqual(resumed.weights, straight.weights);
  await Deno.remove(dir, { recursive: true });
  dispose(teacher);
});

Deno.test("languageModelTask pairs MiniLLM's rollouts with its objective", async () => {
  await initBackend("cpu", { log: false });
  const student = createGPT({ ...tiny, seed: 2 });
  const rollouts = new MiniLLMRollouts({ promptLength: 2 }, {
    seed: 1,
    batchSize: 3,
    contextLength: 8,
  });
  const task = (objective: string, extra: object = {}) =>
    languageModelTask({
      student,
      teacher: student,
      objective: getLoss(objective),
      batcher: batcher(),
      ...extra,
    });
  assert.throws(() => task("minillm"), /objective "minillm" trains on rollouts; give miniLLM/);
  assert.throws(
    () => task("fkl", { miniLLM: rollouts }),
    /miniLLM rollouts need an objective that trains on them \(minillm\), got "fkl"/,
  );
  assert.throws(
    () => task("minillm", { miniLLM: rollouts, onPolicy: { fraction: 0, promptLength: 2 } }),
    /give at most one of onPolicy, adaptiveOffPolicy, miniLLM/,
  );
  rollouts.dispose();
  dispose(student);
});
