import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { adamw64 } from "../../tests/reference/models64.ts";
import { initBackend } from "../backend.ts";
import { augmentImages, ImageBatcher, selectImages, TokenBatcher } from "../data/mod.ts";
import { getLoss, type Objective } from "../losses/mod.ts";
import {
  createCNN,
  createGPT,
  createMLP,
  generate,
  type GPT,
  type ImageClassifier,
} from "../models/mod.ts";
import { hashSeed } from "../data/rng.ts";
import {
  AdamW,
  averageProbabilities,
  classifierTask,
  clipByGlobalNorm,
  constantLr,
  evaluateAttentionRelations,
  evaluateAttentionTransfer,
  evaluateClassifier,
  evaluateEnsemble,
  evaluateGenerations,
  evaluateLanguageModel,
  expectedCalibrationError,
  languageModelTask,
  MemorySink,
  predictFeatures,
  predictProbabilities,
  scoreProbabilities,
  type TeacherLogitTable,
  teacherLogitTable,
  train,
  warmupCosine,
  warmupStepsFor,
} from "./mod.ts";

const tiny = { vocabSize: 17, contextLength: 8, nLayer: 1, nHead: 2, dModel: 16 };

Deno.test("AdamW matches a float64 reference for 3 steps (decayed matrix, undecayed bias)", async () => {
  await initBackend("cpu", { log: false });
  const w0 = [[0.5, -1.2], [2.0, 0.1]];
  const b0 = [0.3, -0.7];
  const w = tf.variable(tf.tensor2d(w0), true, "adamw_test_w");
  const b = tf.variable(tf.tensor1d(b0), true, "adamw_test_b");
  const opt = new AdamW({ w, b }, { beta1: 0.8, beta2: 0.9, epsilon: 1e-6, weightDecay: 0.1 });
  const gw = [[0.1, -0.2, 0.3, 0.05], [-0.4, 0.1, 0.0, 2.0], [0.2, 0.2, -0.1, -0.3]];
  const gb = [[1, -1], [0.5, 0.25], [-2, 0.1]];
  const lrs = [0.1, 0.05, 0.2];
  for (let s = 0; s < 3; s++) {
    tf.tidy(() => opt.apply({ w: tf.tensor2d(gw[s], [2, 2]), b: tf.tensor1d(gb[s]) }, lrs[s]));
  }
  const o = { lr: lrs, beta1: 0.8, beta2: 0.9, eps: 1e-6 };
  const refW = adamw64(w0.flat(), gw, { ...o, weightDecay: 0.1 });
  const refB = adamw64(b0, gb, { ...o, weightDecay: 0 });
  Array.from(w.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - refW[i]) < 1e-6, `w[${i}]`));
  Array.from(b.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - refB[i]) < 1e-6, `b[${i}]`));
  assert.equal(opt.step, 3);
  assert.throws(() => new AdamW({ w }, { beta1: 1 }), /beta1 and beta2 must be in \[0, 1\)/);
  assert.throws(() => opt.apply({}, NaN), /lr must be/);
  opt.dispose();
});

Deno.test("schedules and global-norm clipping give known values", () => {
  const lr = warmupCosine({ peakLr: 1, totalSteps: 10, warmupSteps: 2, minLrRatio: 0.1 });
  assert.equal(lr(0), 0.5);
  assert.equal(lr(1), 1);
  assert.equal(lr(2), 1);
  assert.ok(Math.abs(lr(6) - (0.1 + 0.45 * (1 + Math.cos(Math.PI / 2)))) < 1e-12);
  assert.ok(Math.abs(lr(10) - 0.1) < 1e-12);
  assert.throws(() => warmupCosine({ peakLr: 1, totalSteps: 5, warmupSteps: 6 }), /warmupSteps/);
  assert.throws(() => constantLr(0), /lr must be > 0/);
  // The studies' warm-up: 5% of the steps, rounded half up, at least one.
  assert.deepEqual([1, 10, 29, 30, 300, 4800].map(warmupStepsFor), [1, 1, 1, 2, 15, 240]);
  assert.throws(() => warmupStepsFor(0), /totalSteps must be a positive integer, got 0/);
  assert.throws(() => warmupStepsFor(2.5), /got 2.5/);
  tf.tidy(() => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) };
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    assert.ok(Math.abs(norm.dataSync()[0] - 5) < 1e-6);
    assert.ok(Math.abs(clipped.a.dataSync()[0] - 0.6) < 1e-6);
    assert.ok(Math.abs(clipped.b.dataSync()[0] - 0.8) < 1e-6);
    const loose = clipByGlobalNorm(grads, 10);
    assert.ok(Math.abs(loose.grads.b.dataSync()[0] - 4) < 1e-6, "no scaling under the limit");
  });
});

Deno.test("ECE has a known answer", () => {
  // Two examples at confidence 0.9 (one right), two at 0.6 (both right), 10 bins.
  const probs = Float32Array.of(0.9, 0.1, 0.9, 0.1, 0.6, 0.4, 0.4, 0.6);
  const labels = Int32Array.of(0, 1, 0, 1);
  const ece = expectedCalibrationError(probs, labels, 2, 10);
  assert.ok(Math.abs(ece - (2 / 4 * Math.abs(0.5 - 0.9) + 2 / 4 * Math.abs(1 - 0.6))) < 1e-6);
});

Deno.test("a GPT overfits one tiny batch (loss < 0.05)", async () => {
  await initBackend("wasm", { log: false });
  const tokens = Int32Array.from({ length: 9 }, (_, i) => (i * 5) % 17);
  const student = createGPT({ ...tiny, seed: 1 });
  const sink = new MemorySink();
  const result = await train({
    task: languageModelTask({
      student,
      objective: getLoss("sft"),
      batcher: new TokenBatcher(tokens, { batchSize: 2, contextLength: 8, seed: 0 }),
    }),
    steps: 150,
    schedule: constantLr(1e-2),
    optimizer: { weightDecay: 0 },
    sink,
  });
  assert.ok(result.finalLoss < 0.05, `final loss ${result.finalLoss}`);
  assert.equal(sink.rows.length, 150);
  assert.ok((sink.rows[0].loss as number) > 2, "starts near log(17)");
  const evalTokens = new Int32Array(17).map((_, i) => (i * 5) % 17);
  const ev = await evaluateLanguageModel(student, evalTokens, {
    contextLength: 8,
    teacher: student,
  });
  assert.equal(ev.tokens, 16);
  assert.ok(Math.abs(ev.teacherKL!) < 1e-6, "KL to itself is 0");
});

Deno.test("tensor count is flat over 200 distillation steps (TAID, accumulation, clipping, eval)", async () => {
  await initBackend("wasm", { log: false });
  const tokens = Int32Array.from({ length: 300 }, (_, i) => (i * 3 + (i >> 2)) % 17);
  const teacher = createGPT({ ...tiny, seed: 1 });
  const student = createGPT({ ...tiny, seed: 2, dropout: 0.1 });
  const counts: number[] = [];
  await train({
    task: languageModelTask({
      student,
      teacher,
      objective: getLoss("taid", { totalSteps: 200 }),
      batcher: new TokenBatcher(tokens, { batchSize: 2, contextLength: 8, seed: 1 }),
    }),
    steps: 200,
    schedule: warmupCosine({ peakLr: 1e-3, totalSteps: 200, warmupSteps: 10 }),
    clipNorm: 1,
    accumulation: 2,
    evaluate: {
      every: 50,
      run: async () => ({
        ce: (await evaluateLanguageModel(student, tokens, { maxWindows: 4 })).crossEntropy,
      }),
    },
    onRow: (row) => row.kind === "train" && counts.push(tf.memory().numTensors),
  });
  assert.equal(counts.length, 200);
  assert.equal(counts[199], counts[0], `tensors went from ${counts[0]} to ${counts[199]}`);
});

/**
 * 120 steps of `objective` from `teacher` into `student` at a constant 1e-2 (weight decay 0.1):
 * each step's loss and the tensor count after it.
 */
async function distilAttention(
  teacher: GPT,
  student: GPT,
  objective: Objective,
  batcher: TokenBatcher,
): Promise<{ losses: number[]; counts: number[] }> {
  const counts: number[] = [];
  const sink = new MemorySink();
  await train({
    task: languageModelTask({ student, teacher, objective, batcher }),
    steps: 120,
    schedule: constantLr(1e-2),
    optimizer: { weightDecay: 0.1 },
    sink,
    onRow: (row) => row.kind === "train" && counts.push(tf.memory().numTensors),
  });
  return { losses: sink.rows.map((r) => r.loss as number), counts };
}

Deno.test("MiniLM distillation: the student's last-layer attention moves to the teacher's", async () => {
  await initBackend("wasm", { log: false });
  const tokens = Int32Array.from({ length: 300 }, (_, i) => (i * 7 + (i >> 3)) % 17);
  const teacher = createGPT({ ...tiny, nLayer: 2, dModel: 24, seed: 5 });
  const student = createGPT({ ...tiny, seed: 6 });
  const batcher = new TokenBatcher(tokens, { batchSize: 4, contextLength: 8, seed: 2 });
  const untouched = ["h0.attn.wo", "h0.mlp.w1", "lnf.g"].map((k) => student.params[k].dataSync());
  const gap = (model: typeof student) =>
    evaluateAttentionTransfer(teacher, model, tokens, { contextLength: 8, batchSize: 5 });
  const self = await gap(createGPT({ ...tiny, nLayer: 2, dModel: 24, seed: 5 }));
  assert.ok(self.attention < 1e-6 && self.valueRelation < 1e-6, "a copy of the teacher: 0");
  assert.equal(self.windows, 37);
  const before = await gap(student);
  const broken = createGPT({ ...tiny, seed: 8 });
  broken.params["h0.attn.wqkv"].assign(tf.fill(broken.params["h0.attn.wqkv"].shape, NaN));
  await assert.rejects(() => gap(broken), /a model produced NaN\/Inf attention or values/);
  Object.values(broken.params).forEach((v) => v.dispose());
  const { losses, counts } = await distilAttention(teacher, student, getLoss("minilm"), batcher);
  assert.ok(losses[119] < 0.3 * losses[0], `MiniLM loss ${losses[0]} → ${losses[119]}`);
  assert.equal(counts[119], counts[0], `tensors went from ${counts[0]} to ${counts[119]}`);
  const after = await gap(student);
  assert.ok(
    after.attention < 0.5 * before.attention,
    `L_AT ${before.attention} → ${after.attention}`,
  );
  assert.ok(after.valueRelation < before.valueRelation, "L_VR on held-out windows");
  // L_AT + L_VR reach neither the last block's output projection and MLP nor the final norm.
  ["h0.attn.wo", "h0.mlp.w1", "lnf.g"].forEach((k, i) =>
    assert.deepEqual(student.params[k].dataSync(), untouched[i], `${k} has no gradient`)
  );
  const otherHeads = createGPT({ ...tiny, nHead: 4, seed: 7 });
  assert.throws(
    () =>
      languageModelTask({ student, teacher: otherHeads, objective: getLoss("minilm"), batcher }),
    /compares attention head by head; the teacher has 4 heads, the student 2/,
  );
  assert.throws(
    () => languageModelTask({ student, teacher, objective: getLoss("sp"), batcher }),
    /languageModelTask: objective "sp" compares image classifiers' penultimate features/,
  );
  assert.throws(
    () =>
      classifierTask({
        student: createMLP({ hidden: [3], classes: 2, seed: 1 }),
        teacher: createMLP({ hidden: [3], classes: 2, seed: 2 }),
        objective: getLoss("minilm"),
        batcher: new ImageBatcher(
          { images: new Float32Array(2 * 784), labels: Int32Array.of(0, 1), count: 2 },
          { batchSize: 2, seed: 0 },
        ),
      }),
    /compares self-attention, which image classifiers do not have/,
  );
});

Deno.test("MiniLMv2 distillation: a student with other head counts learns the teacher's relations", async () => {
  await initBackend("wasm", { log: false });
  const tokens = Int32Array.from({ length: 300 }, (_, i) => (i * 7 + (i >> 3)) % 17);
  // Teacher: 4 heads of 6; student: 2 heads of 8. Four relation heads of 6 and of 4.
  const teacher = createGPT({ ...tiny, nLayer: 2, nHead: 4, dModel: 24, seed: 5 });
  const student = createGPT({ ...tiny, seed: 6 });
  const batcher = new TokenBatcher(tokens, { batchSize: 4, contextLength: 8, seed: 2 });
  const gap = (model: typeof student) =>
    evaluateAttentionRelations(teacher, model, tokens, { relationHeads: 4, batchSize: 5 });
  const self = await gap(createGPT({ ...tiny, nLayer: 2, nHead: 4, dModel: 24, seed: 5 }));
  assert.ok(Math.max(self.queryQuery, self.keyKey, self.valueValue) < 1e-6, "a copy: 0");
  assert.equal(self.windows, 37);
  const before = await gap(student);
  const objective = getLoss("minilmv2", { relationHeads: 4 });
  const { losses, counts } = await distilAttention(teacher, student, objective, batcher);
  assert.ok(losses[119] < 0.5 * losses[0], `MiniLMv2 loss ${losses[0]} → ${losses[119]}`);
  assert.equal(counts[119], counts[0], `tensors went from ${counts[0]} to ${counts[119]}`);
  const after = await gap(student);
  for (const term of ["queryQuery", "keyKey", "valueValue"] as const) {
    assert.ok(after[term] < 0.7 * before[term], `${term}: ${before[term]} → ${after[term]}`);
  }
  await assert.rejects(
    () => evaluateAttentionRelations(teacher, student, tokens, { relationHeads: 5 }),
    /relationHeads 5 must divide the teacher's width 24/,
  );
});

Deno.test("MiniLMv2 from a teacher's lower layer (teacherLayer): the student's last layer learns that layer's relations", async () => {
  await initBackend("wasm", { log: false });
  const tokens = Int32Array.from({ length: 300 }, (_, i) => (i * 7 + (i >> 3)) % 17);
  const teacher = createGPT({ ...tiny, nLayer: 3, nHead: 4, dModel: 24, seed: 5 });
  // Blocks with weights far from the initial 0.02 scale, so that each layer's relations differ.
  Object.entries(teacher.params).filter(([name, v]) => name.startsWith("h") && v.rank === 2)
    .forEach(([, v], i) => v.assign(tf.randomNormal(v.shape, 0, 0.3, "float32", 40 + i)));
  // A known answer: a 1-block model with the teacher's embeddings and first block has, as its
  // last layer, the teacher's layer 1; against the teacher's last layer it is not a copy.
  const firstBlock = createGPT({ ...tiny, nLayer: 1, nHead: 4, dModel: 24, seed: 9 });
  for (const [name, v] of Object.entries(firstBlock.params)) v.assign(teacher.params[name]);
  const relations = (model: GPT, teacherLayer?: number) =>
    evaluateAttentionRelations(teacher, model, tokens, {
      relationHeads: 4,
      batchSize: 5,
      ...(teacherLayer === undefined ? {} : { teacherLayer }),
    });
  const sum = (r: { queryQuery: number; keyKey: number; valueValue: number }) =>
    r.queryQuery + r.keyKey + r.valueValue;
  assert.ok(sum(await relations(firstBlock, 1)) < 1e-6, "layer 1 against the first block: 0");
  assert.ok(sum(await relations(firstBlock)) > 1e-2, "the last layer differs");
  const transfer = await evaluateAttentionTransfer(teacher, firstBlock, tokens, {
    teacherLayer: 1,
    batchSize: 5,
  });
  assert.ok(transfer.attention < 1e-6 && transfer.valueRelation < 1e-6, "L_AT, L_VR at layer 1");
  Object.values(firstBlock.params).forEach((v) => v.dispose());
  for (const bad of [0, 4, 1.5]) {
    await assert.rejects(
      () => relations(teacher, bad),
      /evaluateAttentionRelations: teacherLayer must be an integer in \[1, 3\]/,
    );
  }

  const student = createGPT({ ...tiny, seed: 6 });
  const batcher = new TokenBatcher(tokens, { batchSize: 4, contextLength: 8, seed: 2 });
  const before = await relations(student, 2);
  const objective = getLoss("minilmv2", { relationHeads: 4, teacherLayer: 2 });
  const { losses, counts } = await distilAttention(teacher, student, objective, batcher);
  assert.ok(losses[119] < 0.75 * losses[0], `MiniLMv2 loss ${losses[0]} → ${losses[119]}`);
  assert.equal(counts[119], counts[0], `tensors went from ${counts[0]} to ${counts[119]}`);
  const after = await relations(student, 2);
  // Measured: 1.53 → 0.74 at layer 2; 1.05 at layer 3, 1.32 at layer 1.
  assert.ok(sum(after) < 0.6 * sum(before), `layer-2 relations ${sum(before)} → ${sum(after)}`);
  for (const other of [1, 3]) {
    const r = sum(await relations(student, other));
    assert.ok(sum(after) < r, `closer to layer 2 (${sum(after)}) than to layer ${other} (${r})`);
  }
  assert.throws(
    () =>
      languageModelTask({
        student,
        teacher,
        objective: getLoss("minilmv2", { relationHeads: 4, teacherLayer: 4 }),
        batcher,
      }),
    /languageModelTask \(objective "minilmv2"\): teacherLayer must be an integer in \[1, 3\]/,
  );
});

Deno.test("evaluateGenerations scores the model's own samples with both models, as computed by hand", async () => {
  await initBackend("cpu", { log: false });
  const student = createGPT({ ...tiny, seed: 4 });
  const teacher = createGPT({ ...tiny, nLayer: 2, seed: 5 });
  teacher.params.wte.assign(tf.mul(teacher.params.wte, 5));
  const tokens = Int32Array.from({ length: 60 }, (_, i) => (i * 7 + (i >> 3)) % tiny.vocabSize);
  const P = 3;
  const options = { promptLength: P, maxWindows: 5, batchSize: 3, seed: 8 };
  const got = await evaluateGenerations(student, teacher, tokens, options);
  // By hand: windows 0–4 in batches of 3 and 2, each continued with batch k's seed, scored by
  // both models' float64 log-softmax at the drawn tokens, over the T + 1 − P drawn positions.
  let [teacherNLL, modelNLL, reverseKL, n, rouge] = [0, 0, 0, 0, 0];
  // ROUGE-L F1 against the window's true continuation: an LCS by plain recursion (both have
  // T + 1 − P = 6 tokens, so F1 = LCS / 6).
  const lcs = (a: number[], b: number[]): number =>
    a.length === 0 || b.length === 0
      ? 0
      : a[0] === b[0]
      ? 1 + lcs(a.slice(1), b.slice(1))
      : Math.max(lcs(a.slice(1), b), lcs(a, b.slice(1)));
  for (const [k, starts] of [[0, [0, 8, 16]], [1, [24, 32]]] as const) {
    const prompts = tf.tensor2d(
      starts.map((s) => Array.from(tokens.subarray(s, s + P))),
      undefined,
      "int32",
    );
    const sequence = await generate(student, prompts, {
      newTokens: 8 + 1 - P,
      seed: hashSeed(8, "evaluate-generations", k),
    }).array();
    const x = tf.tensor2d(sequence.map((r) => r.slice(0, 8)), undefined, "int32");
    const [lq, lp] = [await student.logits(x).array(), await teacher.logits(x).array()];
    const logProb = (z: number[], id: number) => {
      const max = Math.max(...z);
      return z[id] - max - Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
    };
    sequence.forEach((row, b) => {
      rouge += lcs(row.slice(P), Array.from(tokens.subarray(starts[b] + P, starts[b] + 9))) / 6;
      for (let t = P - 1; t < 8; t++) {
        const [q, p] = [logProb(lq[b][t], row[t + 1]), logProb(lp[b][t], row[t + 1])];
        teacherNLL -= p;
        modelNLL -= q;
        reverseKL += q - p;
        n++;
      }
    });
  }
  assert.equal(got.tokens, n);
  const near = (a: number, e: number, what: string) =>
    assert.ok(Math.abs(a - e / n) < 1e-4, `${what}: ${a} vs ${e / n}`);
  near(got.teacherNLL, teacherNLL, "teacherNLL");
  near(got.modelNLL, modelNLL, "modelNLL");
  near(got.reverseKL, reverseKL, "reverseKL");
  assert.ok(Math.abs(got.rougeL - rouge / 5) < 1e-12, `rougeL: ${got.rougeL} vs ${rouge / 5}`);
  assert.ok(got.reverseKL > 0.1, `a student unlike its teacher: ${got.reverseKL}`);
  // Scored by itself, a model's estimate of KL(q ‖ q) is exactly 0.
  const self = await evaluateGenerations(teacher, teacher, tokens, options);
  assert.equal(self.reverseKL, 0);
  assert.equal(self.teacherNLL, self.modelNLL);
  assert.deepEqual(await evaluateGenerations(student, teacher, tokens, options), got);
  await assert.rejects(
    () => evaluateGenerations(student, teacher, tokens, { promptLength: 9 }),
    /evaluateGenerations.promptLength must be an integer in \[1, contextLength = 8\]/,
  );
  await assert.rejects(
    () =>
      evaluateGenerations(student, createGPT({ ...tiny, vocabSize: 18, seed: 1 }), tokens, options),
    /evaluateGenerations: vocabulary sizes differ/,
  );
  for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
});

Deno.test("a non-finite loss stops training with a clear error before the update", async () => {
  await initBackend("cpu", { log: false });
  const student = createGPT({ ...tiny, seed: 1 });
  const before = student.params.wte.dataSync().slice();
  const nan: Objective = {
    name: "nan",
    needsTeacher: false,
    loss: ({ studentLogits }) => studentLogits.sum().mul(NaN) as tf.Scalar,
  };
  const tokens = Int32Array.from({ length: 50 }, (_, i) => i % 17);
  await assert.rejects(
    train({
      task: languageModelTask({
        student,
        objective: nan,
        batcher: new TokenBatcher(tokens, { batchSize: 1, contextLength: 8, seed: 0 }),
      }),
      steps: 3,
      schedule: constantLr(1e-3),
    }),
    /loss is NaN at step 0 .*objective "nan"/,
  );
  assert.deepEqual(student.params.wte.dataSync(), before);
});

Deno.test("tasks reject mismatched inputs: vocabulary, ids, context, missing teacher", async () => {
  await initBackend("cpu", { log: false });
  const student = createGPT({ ...tiny, seed: 1 });
  const tokens = Int32Array.from({ length: 50 }, (_, i) => i % 17);
  const batcher = new TokenBatcher(tokens, { batchSize: 1, contextLength: 8, seed: 0 });
  assert.throws(
    () => languageModelTask({ student, objective: getLoss("fkl"), batcher }),
    /needs a teacher/,
  );
  const other = createGPT({ ...tiny, vocabSize: 20, seed: 1 });
  assert.throws(
    () => languageModelTask({ student, teacher: other, objective: getLoss("fkl"), batcher }),
    /vocabulary sizes differ/,
  );
  const bad = new TokenBatcher(Int32Array.from({ length: 50 }, (_, i) => i), {
    batchSize: 1,
    contextLength: 8,
    seed: 0,
  });
  assert.throws(
    () => languageModelTask({ student, objective: getLoss("sft"), batcher: bad }),
    /token ids must be in \[0, 17\), the data has \[0, 49\]/,
  );
  const long = new TokenBatcher(tokens, { batchSize: 1, contextLength: 9, seed: 0 });
  assert.throws(
    () => languageModelTask({ student, objective: getLoss("sft"), batcher: long }),
    /contextLength 9 exceeds/,
  );
});

Deno.test("an MLP student distils from a teacher on images and is evaluated", async () => {
  await initBackend("wasm", { log: false });
  const n = 64;
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 4;
    for (let p = 0; p < 784; p++) {
      images[i * 784 + p] = p % 4 === labels[i] ? 0.9 : 0.1 * ((i * p) % 3);
    }
  }
  const split = { images, labels, count: n };
  const teacher = createMLP({ hidden: [16], classes: 4, seed: 1 });
  await train({
    task: classifierTask({
      student: teacher,
      objective: getLoss("sft"),
      batcher: new ImageBatcher(split, { batchSize: 16, seed: 1 }),
    }),
    steps: 30,
    schedule: constantLr(1e-2),
  });
  const student = createMLP({ hidden: [8], classes: 4, seed: 2, auxHead: true });
  const sink = new MemorySink();
  await train({
    task: classifierTask({
      student,
      teacher,
      objective: getLoss("dual_head", { temperature: 2 }),
      batcher: new ImageBatcher(split, { batchSize: 16, seed: 2 }),
    }),
    steps: 40,
    schedule: constantLr(1e-2),
    sink,
  });
  assert.ok((sink.rows.at(-1)!.loss as number) < (sink.rows[0].loss as number));
  const ev = await evaluateClassifier(student, split, { teacher });
  assert.equal(ev.accuracy, 1);
  assert.equal(ev.agreement, 1);
  assert.ok(ev.ece >= 0 && ev.ece < 0.5);
  // teacherKL: mean over examples of Σ_c p_c·log(p_c/q_c), here in float64 from both models' rows.
  const [p, q] = [
    await predictProbabilities(teacher, split),
    await predictProbabilities(student, split),
  ];
  let kl = 0;
  p.forEach((pc, c) => kl += pc * Math.log(pc / q[c]));
  assert.ok(ev.teacherKL! > 1e-3 && Math.abs(ev.teacherKL! - kl / n) < 1e-6 * (1 + kl / n));
  const self = await evaluateClassifier(teacher, split, { teacher });
  assert.ok(Math.abs(self.teacherKL!) < 1e-9);
  assert.equal((await evaluateClassifier(student, split)).teacherKL, undefined);
});

Deno.test("ensembles average their members' probabilities; scoreProbabilities' known answers", async () => {
  await initBackend("wasm", { log: false });
  // Three rows, three classes: member A is right on rows 0 and 1, member B on rows 1 and 2; their
  // average is right on all three (row 2: (0.4 + 0.6) / 2 = 0.5 on the label, against 0.45).
  const labels = new Int32Array([0, 1, 2]);
  const a = new Float32Array([0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.5, 0.4]);
  const b = new Float32Array([0.3, 0.6, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6]);
  const mean = averageProbabilities([a, b]);
  [0.55, 0.35, 0.1, 0.15, 0.75, 0.1, 0.15, 0.35, 0.5].forEach((v, i) =>
    assert.ok(Math.abs(mean[i] - v) < 1e-7, `mean[${i}]`)
  );
  assert.equal(scoreProbabilities(a, labels, 3).accuracy, 2 / 3);
  assert.equal(scoreProbabilities(b, labels, 3).accuracy, 2 / 3);
  const both = scoreProbabilities(mean, labels, 3, a);
  assert.equal(both.accuracy, 1);
  const ce = -(Math.log(0.55) + Math.log(0.75) + Math.log(0.5)) / 3;
  assert.ok(Math.abs(both.crossEntropy - ce) < 1e-6);
  assert.equal(both.agreement, 2 / 3);
  assert.throws(() => averageProbabilities([]), /no members/);
  assert.throws(() => averageProbabilities([a, b.slice(1)]), /members\[1\] has 8 values/);
  assert.throws(() => scoreProbabilities(a, new Int32Array([0, 1]), 3), /expected 2 × 3/);
  assert.throws(() => scoreProbabilities(a, labels, 3, b.slice(1)), /teacherProbs has 8 values/);
  // evaluateEnsemble on real models: one member is that model's evaluation; two average.
  const n = 30;
  const images = new Float32Array(n * 784).map((_, i) => ((i * 7919) % 101) / 101);
  const split = { images, labels: new Int32Array(n).map((_, i) => i % 4), count: n };
  const m1 = createMLP({ hidden: [8], classes: 4, seed: 1 });
  const m2 = createMLP({ hidden: [8], classes: 4, seed: 2 });
  const solo = await evaluateEnsemble([m1], split);
  const single = await evaluateClassifier(m1, split);
  assert.equal(solo.accuracy, single.accuracy);
  assert.ok(Math.abs(solo.crossEntropy - single.crossEntropy) < 1e-6);
  const pair = await evaluateEnsemble([m1, m2], split);
  const expected = scoreProbabilities(
    averageProbabilities([
      await predictProbabilities(m1, split),
      await predictProbabilities(m2, split),
    ]),
    split.labels,
    4,
  );
  assert.deepEqual(pair, expected);
  await assert.rejects(() => evaluateEnsemble([], split), /no members/);
  for (const m of [m1, m2]) Object.values(m.params).forEach((v) => v.dispose());
});

Deno.test("a teacher-logit table trains the student as running the teacher every step does", async () => {
  await initBackend("wasm", { log: false });
  const n = 40;
  const images = new Float32Array(n * 784).map((_, i) => ((i * 7919) % 101) / 101);
  const labels = new Int32Array(n).map((_, i) => (i * 3) % 5);
  const split = { images, labels, count: n };
  const teacher = createMLP({ hidden: [12], classes: 5, seed: 3 });
  const table = await teacherLogitTable(teacher, split);
  assert.equal(table.classes, 5);
  assert.equal(table.logits.length, n * 5);
  // Batches of 16 from 40 examples: steps straddle epochs, so rows come from reshuffled orders.
  const run = async (source: { teacher: typeof teacher } | { teacherLogits: typeof table }) => {
    const student = createMLP({ hidden: [8], classes: 5, seed: 4 });
    const sink = new MemorySink();
    await train({
      task: classifierTask({
        student,
        ...source,
        objective: getLoss("kd", { temperature: 3, ceWeight: 0.2, kdWeight: 0.8 }),
        batcher: new ImageBatcher(split, { batchSize: 16, seed: 5 }),
        temperature: 2,
      }),
      steps: 8,
      schedule: constantLr(1e-2),
      sink,
    });
    const weights = Object.values(student.params).map((v) => Array.from(v.dataSync()));
    Object.values(student.params).forEach((v) => v.dispose());
    return { losses: sink.rows.map((r) => r.loss as number), weights };
  };
  const live = await run({ teacher });
  const cached = await run({ teacherLogits: table });
  assert.equal(cached.losses.length, 8);
  cached.losses.forEach((l, i) => assert.ok(Math.abs(l - live.losses[i]) < 1e-5, `step ${i}`));
  cached.weights.flat().forEach((w, i) => assert.ok(Math.abs(w - live.weights.flat()[i]) < 1e-5));
  // A wrong teacher's table changes the run: the table is what the loss reads.
  const other = await teacherLogitTable(createMLP({ hidden: [12], classes: 5, seed: 9 }), split);
  const changed = await run({ teacherLogits: other });
  assert.ok(Math.abs(changed.losses[0] - live.losses[0]) > 1e-3);

  const student = createMLP({ hidden: [8], classes: 5, seed: 4 });
  const batcher = new ImageBatcher(split, { batchSize: 16, seed: 5 });
  const objective = getLoss("kd");
  const bad = (teacherLogits: typeof table) => () =>
    classifierTask({ student, objective, batcher, teacherLogits });
  assert.throws(
    bad({ logits: table.logits.subarray(5), classes: 5 }),
    /teacherLogits must hold \[40/,
  );
  const withNaN = table.logits.slice();
  withNaN[17] = NaN;
  assert.throws(bad({ logits: withNaN, classes: 5 }), /non-finite value \(NaN\) at example 3/);
  assert.throws(
    () => classifierTask({ student, objective, batcher, teacher, teacherLogits: table }),
    /one of teacher, selfTeacher or teacherLogits/,
  );
  Object.values(student.params).forEach((v) => v.dispose());
  Object.values(teacher.params).forEach((v) => v.dispose());
});

Deno.test("predictFeatures: the penultimate features of every example, in batches", async () => {
  await initBackend("cpu", { log: false });
  const n = 7;
  const images = new Float32Array(n * 784).map((_, i) => ((i * 31) % 89) / 89);
  const split = { images, labels: new Int32Array(n), count: n };
  const model = createMLP({ hidden: [6, 5], classes: 3, seed: 2 });
  const batched = await predictFeatures(model, split, 3);
  const whole = tf.tidy(() =>
    model.forward(tf.tensor4d(images, [n, 28, 28, 1]), { features: true }).features!.dataSync()
  );
  assert.equal(batched.length, n * 5);
  batched.forEach((v, i) => assert.ok(Math.abs(v - whole[i]) < 1e-6));
  await assert.rejects(
    () => predictFeatures(model, { ...split, count: 0 }),
    /predictFeatures: the split is empty/,
  );
  Object.values(model.params).forEach((v) => v.dispose());
});

/**
 * Trains `student` with a fresh `objective` for `steps` from a frozen teacher or its table;
 * asserts that no tensor is left behind; returns the losses, the number of the objective's heads
 * and whether every head moved. Frees the student and the objective.
 */
async function trainWithHeads(
  name: string,
  student: ImageClassifier,
  objective: Objective,
  source: { teacher: ImageClassifier } | { teacherLogits: TeacherLogitTable },
  batcher: ImageBatcher,
  steps: number,
): Promise<{ losses: number[]; moved: boolean; heads: number }> {
  const heads = (objective.variables?.() ?? []).map((v) => Array.from(v.dataSync()));
  const sink = new MemorySink();
  const before = tf.memory().numTensors;
  await train({
    task: classifierTask({ student, ...source, objective, batcher }),
    steps,
    schedule: constantLr(1e-2),
    sink,
  });
  assert.equal(tf.memory().numTensors, before, `${name}: no tensors left behind`);
  const moved = (objective.variables?.() ?? []).every((v, i) =>
    Array.from(v.dataSync()).some((w, j) => w !== heads[i][j])
  );
  Object.values(student.params).forEach((v) => v.dispose());
  objective.dispose?.();
  return { losses: sink.rows.map((r) => r.loss as number), moved, heads: heads.length };
}

Deno.test("representation KD: the task passes both models' features, from the teacher or its table, and trains the heads", async () => {
  await initBackend("wasm", { log: false });
  const n = 40;
  const images = new Float32Array(n * 784).map((_, i) => ((i * 7919) % 97) / 97);
  const labels = new Int32Array(n).map((_, i) => (i * 3) % 5);
  const split = { images, labels, count: n };
  const teacher = createMLP({ hidden: [12], classes: 5, seed: 3 });
  const table = await teacherLogitTable(teacher, split, { features: true });
  assert.equal(table.featureDim, 12);
  assert.equal(table.features!.length, n * 12);
  const run = (
    name: string,
    source: { teacher: typeof teacher } | { teacherLogits: typeof table },
  ) =>
    trainWithHeads(
      name,
      createMLP({ hidden: [8], classes: 5, seed: 4 }),
      getLoss(
        name,
        name === "crd" ? { studentDim: 8, teacherDim: 12, seed: 1, kdWeight: 0.5 } : {},
      ),
      source,
      new ImageBatcher(split, { batchSize: 16, seed: 5 }),
      6,
    );
  for (const name of ["rkd", "crd"]) {
    const live = await run(name, { teacher });
    const cached = await run(name, { teacherLogits: table });
    assert.equal(cached.losses.length, 6);
    cached.losses.forEach((l, i) => assert.ok(Math.abs(l - live.losses[i]) < 1e-4, `${name} ${i}`));
    assert.ok(live.moved, `${name}: the heads train`);
  }
  const student = createMLP({ hidden: [8], classes: 5, seed: 4 });
  const logitsOnly = await teacherLogitTable(teacher, split);
  assert.throws(
    () =>
      classifierTask({
        student,
        objective: getLoss("sp"),
        batcher: new ImageBatcher(split, { batchSize: 16, seed: 5 }),
        teacherLogits: logitsOnly,
      }),
    /the objective compares features, so teacherLogits must also hold the teacher's \[40 examples/,
  );
  for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
});

Deno.test("middle-layer objectives (AT, NST, VID, FitNets, FT on blocks): a CNN student trains from the teacher or its table", async () => {
  await initBackend("wasm", { log: false });
  const n = 24;
  const images = new Float32Array(n * 784).map((_, i) => ((i * 7919) % 101) / 101);
  const labels = new Int32Array(n).map((_, i) => (i * 3) % 5);
  const split = { images, labels, count: n };
  const teacher = createCNN({ channels: [6, 8], featureDim: 10, classes: 5, seed: 3 });
  const configs: Record<string, Record<string, unknown>> = {
    at: { kdWeight: 1 },
    nst: { teacherChannels: [6, 8], kdWeight: 1 },
    vid_maps: { studentChannels: [2, 3], teacherChannels: [6, 8], seed: 2 },
    fitnet_maps: { studentChannels: [2, 3], teacherChannels: [6, 8], seed: 2 },
    // Factor transfer with its paraphraser untrained (its first stage is runVision's).
    ft: { studentChannels: [2, 3], teacherChannels: [6, 8], seed: 2, initSteps: 0 },
  };
  // AT keeps each block's normalised map; NST and VID the raw outputs, one table for both.
  const raw = 14 * 14 * 6 + 7 * 7 * 8;
  const widths = { at: 14 * 14 + 7 * 7, nst: raw, vid_maps: raw, fitnet_maps: raw, ft: raw };
  const tables: Record<string, TeacherLogitTable> = {};
  for (const [name, config] of Object.entries(configs)) {
    const objective = getLoss(name, config);
    const table = tables[name] = await teacherLogitTable(teacher, split, {
      mapTargets: objective.teacherMapTargets,
    });
    objective.dispose?.();
    assert.equal(table.mapTargetWidth, widths[name as keyof typeof widths], name);
    assert.equal(table.features, undefined);
    const run = (source: { teacher: typeof teacher } | { teacherLogits: typeof table }) =>
      trainWithHeads(
        name,
        createCNN({ channels: [2, 3], featureDim: 4, classes: 5, seed: 4 }),
        getLoss(name, config),
        source,
        new ImageBatcher(split, { batchSize: 8, seed: 5 }),
        4,
      );
    const live = await run({ teacher });
    const cached = await run({ teacherLogits: table });
    assert.equal(cached.losses.length, 4);
    cached.losses.forEach((l, i) =>
      assert.ok(
        Math.abs(l - live.losses[i]) < 1e-4 * Math.max(1, Math.abs(live.losses[i])),
        `${name} ${i}`,
      )
    );
    // VID's regressors and variances (4 variables per block), the hint's regressor and FT's
    // translator (3 conv layers) train.
    assert.equal(live.heads, { vid_maps: 8, fitnet_maps: 2, ft: 6 }[name] ?? 0, name);
    assert.ok(live.moved, `${name}: the heads train`);
  }
  const objective = getLoss("at", configs.at);
  const table = tables.at;
  const batcher = new ImageBatcher(split, { batchSize: 8, seed: 5 });
  const mlp = createMLP({ hidden: [8], classes: 5, seed: 4 });
  assert.throws(
    () => classifierTask({ student: mlp, teacher, objective, batcher }),
    /objective "at" compares the blocks' spatial maps, so the student must be a CNN, got a mlp/,
  );
  const threeBlocks = createCNN({ channels: [2, 3, 4], featureDim: 4, classes: 5, seed: 4 });
  assert.throws(
    () => classifierTask({ student: threeBlocks, teacher, objective, batcher }),
    /same spatial sizes: student 14×14,7×7,3×3, teacher 14×14,7×7/,
  );
  const student = createCNN({ channels: [2, 3], featureDim: 4, classes: 5, seed: 4 });
  assert.throws(
    () =>
      classifierTask({
        student,
        objective,
        batcher,
        teacherLogits: { logits: table.logits, classes: 5 },
      }),
    /the objective compares block outputs, so teacherLogits must also hold the \[24 examples/,
  );
  for (const m of [student, mlp, threeBlocks, teacher]) {
    Object.values(m.params).forEach((v) => v.dispose());
  }
});

Deno.test("CRD's memory banks are checkpointed: a stopped and resumed run equals an uninterrupted one", async () => {
  await initBackend("wasm", { log: false });
  const n = 40;
  const images = new Float32Array(n * 784).map((_, i) => ((i * 7919) % 89) / 89);
  const labels = new Int32Array(n).map((_, i) => (i * 3) % 5);
  const split = { images, labels, count: n };
  const teacher = createMLP({ hidden: [12], classes: 5, seed: 3 });
  const table = await teacherLogitTable(teacher, split, { features: true });
  const run = async (dir: string, steps: number) => {
    const student = createMLP({ hidden: [8], classes: 5, seed: 4 });
    const objective = getLoss("crd_nce", {
      studentDim: 8,
      teacherDim: 12,
      seed: 2,
      dataSize: n,
      negatives: 16,
      embedDim: 6,
    });
    const sink = new MemorySink();
    await train({
      task: classifierTask({
        student,
        teacherLogits: table,
        objective,
        batcher: new ImageBatcher(split, { batchSize: 8, seed: 5 }),
      }),
      steps,
      schedule: constantLr(1e-2),
      sink,
      checkpoint: { dir, every: 3 },
    });
    const values = (vs: Record<string, tf.Variable>) =>
      Object.values(vs).map((v) => Array.from(v.dataSync()));
    const out = {
      losses: sink.rows.map((r) => r.loss as number),
      weights: values(student.params),
      buffers: values(objective.buffers!()),
      state: objective.state!(),
    };
    Object.values(student.params).forEach((v) => v.dispose());
    objective.dispose!();
    return out;
  };
  const [straight, stopped] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const whole = await run(straight, 9);
    const first = await run(stopped, 3);
    const rest = await run(stopped, 9);
    assert.deepEqual([...first.losses, ...rest.losses], whole.losses);
    assert.deepEqual(rest.weights, whole.weights);
    assert.deepEqual(rest.buffers, whole.buffers, "banks and Z resume exactly");
    assert.deepEqual(rest.state, { draws: 9 });
    assert.ok(existsSync(join(stopped, "checkpoint", "buffers.safetensors")));
  } finally {
    await Deno.remove(straight, { recursive: true });
    await Deno.remove(stopped, { recursive: true });
  }
  Object.values(teacher.params).forEach((v) => v.dispose());
});

Deno.test("classifier views: the teacher sees the student's view, an independent one or the clean image; mixup has no labels", async () => {
  await initBackend("wasm", { log: false });
  const n = 24;
  const images = new Float32Array(n * 784).map((_, i) => ((i * 7919) % 103) / 103);
  const labels = new Int32Array(n).map((_, i) => i % 3);
  const split = { images, labels, count: n };
  const teacher = createMLP({ hidden: [8], classes: 3, seed: 1 });
  const student = createMLP({ hidden: [8], classes: 3, seed: 2 });
  const batcher = new ImageBatcher(split, { batchSize: 8, seed: 4 });
  const objective = getLoss("fkl");
  const views = { maxShift: 2 };
  const task = (teacherView?: "same" | "independent" | "clean", v: object = views) =>
    classifierTask({
      student,
      teacher,
      objective,
      batcher,
      augment: { views: v, teacher: teacherView },
    });
  const read = async (t: tf.Tensor | undefined) => Array.from(await t!.data());
  const logitsOf = (pixels: Float32Array) =>
    tf.tidy(() => teacher.logits(tf.tensor4d(pixels, [8, 28, 28, 1])));
  const index = 3;
  const clean = selectImages(split, batcher.indices(index)).images;
  // The student's view is drawn from (batcher seed, "view", index, 0), an independent teacher's
  // from (…, 1): pure functions of the index, so a resumed run sees the same views.
  const studentView = augmentImages(clean, 8, views, hashSeed(4, "view", index, 0));
  const teacherView = augmentImages(clean, 8, views, hashSeed(4, "view", index, 1));
  const expect = {
    same: await read(logitsOf(studentView)),
    independent: await read(logitsOf(teacherView)),
    clean: await read(logitsOf(clean)),
  };
  for (const who of ["same", "independent", "clean"] as const) {
    const b = task(who).batch(index);
    assert.deepEqual(await read(b.x), Array.from(studentView));
    assert.deepEqual(
      await read(b.y),
      Array.from(selectImages(split, batcher.indices(index)).labels),
    );
    const got = await read(b.teacherLogits);
    got.forEach((v, i) => assert.ok(Math.abs(v - expect[who][i]) < 1e-6, `${who} ${i}`));
    tf.dispose(Object.values(b));
  }
  assert.notDeepEqual(studentView, clean);
  assert.ok(expect.same.some((v, i) => Math.abs(v - expect.independent[i]) > 1e-3));
  // The default is "same"; a fixed teacher's table gives the clean logits too.
  const byDefault = task().batch(index);
  assert.deepEqual(await read(byDefault.teacherLogits), expect.same);
  const table = await teacherLogitTable(teacher, split);
  const fixed = classifierTask({
    student,
    teacherLogits: table,
    objective,
    batcher,
    augment: { views, teacher: "clean" },
  }).batch(index);
  (await read(fixed.teacherLogits)).forEach((v, i) =>
    assert.ok(Math.abs(v - expect.clean[i]) < 1e-6)
  );
  tf.dispose([...Object.values(byDefault), ...Object.values(fixed)]);

  // Mixup: the mixed view, no labels; an objective that needs labels says so.
  const mixViews = { maxShift: 2, mixup: 1 };
  const mixed = task("same", mixViews).batch(index);
  assert.deepEqual(
    await read(mixed.x),
    Array.from(augmentImages(clean, 8, mixViews, hashSeed(4, "view", index, 0))),
  );
  assert.equal(mixed.y, undefined);
  const sft = classifierTask({
    student,
    objective: getLoss("sft"),
    batcher,
    augment: { views: mixViews },
  });
  const sftBatch = sft.batch(0);
  assert.throws(() => tf.tidy(() => sft.loss(sftBatch, 0)), /sft: inputs.labels is required/);
  tf.dispose([...Object.values(mixed), ...Object.values(sftBatch)]);

  // Training on views leaks no tensor, and lowers the loss.
  const sink = new MemorySink();
  const before = tf.memory().numTensors;
  await train({ task: task("same", mixViews), steps: 30, schedule: constantLr(1e-2), sink });
  assert.equal(tf.memory().numTensors, before);
  assert.ok((sink.rows.at(-1)!.loss as number) < (sink.rows[0].loss as number));

  assert.throws(
    () => classifierTask({ student, teacherLogits: table, objective, batcher, augment: { views } }),
    /teacherLogits hold the teacher's logits on the clean images; with augment.teacher = "same"/,
  );
  assert.throws(() => task("clean", mixViews), /with mixup the teacher must see the mixed images/);
  assert.throws(
    () => task("other" as "same"),
    /augment.teacher must be "same", "independent" or "clean", got "other"/,
  );
  assert.throws(
    () => task("same", { maxShift: 40 }),
    /augment.views: maxShift must be an integer in \[0, 27\], got 40/,
  );
  assert.throws(
    () =>
      classifierTask({
        student,
        objective: getLoss("ps_kd", { epochs: 2, stepsPerEpoch: 3 }),
        batcher,
        selfTeacher: { stepsPerEpoch: 3 },
        augment: { views },
      }),
    /augment is not supported with selfTeacher/,
  );
  for (const m of [student, teacher]) Object.values(m.params).forEach((v) => v.dispose());
});

/** Runs the resumable fixture; kills it (SIGKILL) once it prints `step <killAt>`. */
async function runFixture(backend: string, root: string, killAt?: number): Promise<boolean> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(import.meta.dirname!, "../../tests/fixtures/resumable_run.ts"),
      backend,
      root,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let killed = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    if (killAt !== undefined && !killed && text.includes(`step ${killAt}\n`)) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  if (!killed && !status.success) throw new Error(`fixture failed: ${stderr}`);
  return killed;
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`a run killed mid-way and resumed equals an uninterrupted run bit for bit (${backend})`, async () => {
    const clean = await Deno.makeTempDir();
    const killed = await Deno.makeTempDir();
    await runFixture(backend, clean);
    assert.ok(await runFixture(backend, killed, 12), "the run was killed");
    await runFixture(backend, killed);
    const dirOf = (root: string) => join(root, [...Deno.readDirSync(root)][0].name);
    const [a, b] = [dirOf(clean), dirOf(killed)];
    const summary = JSON.parse(await Deno.readTextFile(join(b, "summary.json")));
    const from = summary.resumedFrom;
    assert.ok(from >= 10 && from < 20 && from % 5 === 0, `resumed from a checkpoint (${from})`);
    assert.deepEqual(
      await Deno.readFile(join(b, "final.safetensors")),
      await Deno.readFile(join(a, "final.safetensors")),
    );
    const rows = (dir: string) => pl.readParquet(join(dir, "metrics.parquet")).toRecords();
    const ra = rows(a);
    assert.equal(ra.length, 20 + 5, "20 train rows and 5 eval rows");
    assert.deepEqual(rows(b), ra);
    assert.ok(
      ra.some((r) => typeof r.taid_t === "number" && (r.taid_t as number) > 0.4),
      "TAID's t is logged",
    );
    await Deno.remove(clean, { recursive: true });
    await Deno.remove(killed, { recursive: true });
  });
}
