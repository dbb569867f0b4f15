/**
 * The training path on the webgpu backend (software adapter here): device-side reduction
 * gradients, deferred input checks instead of synchronous reads, and a full distillation run
 * (TAID through the fused kernel, accumulation, clipping, async evaluation, checkpoints) that
 * matches the same run on cpu.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { TokenBatcher } from "../data/mod.ts";
import { flushDeferredChecks, pendingChecks } from "../deferred_checks.ts";
import {
  crossEntropy,
  forwardKL,
  getLoss,
  type LayerAttention,
  type Objective,
  pld,
} from "../losses/mod.ts";
import { deviceOptimalPermutation, teacherOptimalPermutation } from "../losses/pld.ts";
import { createGPT } from "../models/mod.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import {
  constantLr,
  evaluateLanguageModel,
  languageModelTask,
  train,
  warmupCosine,
} from "../train/mod.ts";
import { twoTeacherTask } from "../../tests/fixtures/two_teachers.ts";
import { deviceGradientsRegistered, setDeviceGradients } from "./device_gradients.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";

/** Gradients of reductions over several axes, on the active backend. */
async function reductionGrads(): Promise<Float32Array[]> {
  const x = tf.tensor3d(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [2, 3, 4]);
  const c = (shape: number[]) =>
    tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 1), shape);
  const cases: ((x: tf.Tensor) => tf.Tensor)[] = [
    (x) => tf.sum(x),
    (x) => tf.mean(x),
    (x) => tf.sum(tf.mul(tf.sum(x, 1), c([2, 4]))),
    (x) => tf.sum(tf.mul(tf.mean(x, [0, 2], true), c([1, 3, 1]))),
    (x) => tf.sum(tf.mul(tf.mean(x, -1), c([2, 3]))),
  ];
  const out: Float32Array[] = [];
  for (const f of cases) {
    const g = tf.grad(f)(x);
    out.push(await g.data() as Float32Array);
    g.dispose();
  }
  x.dispose();
  return out;
}

gpuTest("device-side Sum and Mean gradients equal tfjs's own", async () => {
  await initBackend("cpu", { log: false });
  const expected = await reductionGrads();
  await initBackend("webgpu", { log: false });
  assert.ok(deviceGradientsRegistered());
  const got = await reductionGrads();
  assert.equal(setDeviceGradients(false), true);
  const restored = await reductionGrads(); // tfjs's own gradients again
  assert.equal(setDeviceGradients(true), false);
  assert.ok(deviceGradientsRegistered());
  restored.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-6)));
  got.forEach((g, i) =>
    g.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-6, `case ${i}[${j}]`))
  );
  await initBackend("cpu", { log: false });
});

gpuTest("addN sums any number of inputs on webgpu (tfjs's kernel binds at most 7)", async () => {
  await initBackend("webgpu", { log: false });
  for (const n of [2, 7, 8, 15, 40]) {
    const xs = Array.from({ length: n }, (_, i) => tf.fill([3], i + 1));
    const sum = tf.addN(xs);
    assert.deepEqual(Array.from(await sum.data()), [0, 0, 0].map(() => n * (n + 1) / 2), `n=${n}`);
    tf.dispose([...xs, sum]);
  }
  await initBackend("cpu", { log: false });
});

gpuTest("a synchronous read of GPU data is a clear error; host data still reads", async () => {
  await initBackend("webgpu", { log: false });
  const host = tf.range(0, 2000); // never uploaded: still on the host
  assert.equal(host.dataSync()[1999], 1999);
  // ≥ 1000 elements, so tfjs runs the add on the GPU (smaller host inputs stay on the CPU).
  const onGpu = tf.add(host, 1);
  assert.throws(
    () => onGpu.dataSync(),
    /not available on the webgpu backend under Deno.*await tensor\.data\(\)/,
  );
  assert.equal((await onGpu.data())[1999], 2000);
  tf.dispose([host, onGpu]);
  await initBackend("cpu", { log: false });
});

gpuTest("on webgpu, input checks are deferred and flushed with the first failure", async () => {
  await initBackend("webgpu", { log: false });
  const teacher = tf.tensor2d([[0, NaN, 1], [1, 2, 3]]);
  const student = tf.zeros([2, 3]);
  const loss = forwardKL(teacher, student); // no synchronous read: does not throw here
  assert.equal(pendingChecks(), 1);
  await assert.rejects(() => flushDeferredChecks(), /forwardKL: teacherLogits contain NaN or Inf/);
  assert.equal(pendingChecks(), 0);
  await flushDeferredChecks(); // nothing left
  tf.dispose([teacher, student, loss]);
  await initBackend("cpu", { log: false });
});

gpuTest("checks queued on webgpu are still read after switching to another backend", async () => {
  await initBackend("webgpu", { log: false });
  const t = tf.tensor2d([[0, 1, 2]]), s = tf.tensor2d([[Infinity, 0, 0]]);
  const loss = forwardKL(t, s); // the bad student is found only at the flush
  await initBackend("cpu", { log: false });
  await assert.rejects(() => flushDeferredChecks(), /studentLogits contain NaN or Inf/);
  tf.dispose([t, s, loss]);
});

gpuTest("PLD's permutation and label checks work without synchronous reads", async () => {
  // Ties in the teacher's logits (0.5 twice, 2 twice) must keep index order, as on the host.
  const teacherRows = [[0.5, 2, 0.5, -1, 2], [3, 0, 0, 1, -2], [0, 0, 0, 0, 0]];
  const labels = [4, 1, 2];
  const student = [[0.1, -0.3, 0.7, 0.2, -1], [1, 2, 0, -0.5, 0.3], [0.2, 0.1, 0, -0.1, 0.4]];
  const run = async () => {
    const t = tf.tensor2d(teacherRows), s = tf.tensor2d(student), y = tf.tensor1d(labels, "int32");
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => pld(t, x, { labels: y }))(s);
    const out = [await value.data(), await grad.data()];
    tf.dispose([t, s, y, value, grad]);
    return out;
  };
  await initBackend("cpu", { log: false });
  const cpu = await run();
  await initBackend("webgpu", { log: false });
  const order = deviceOptimalPermutation(tf.tensor2d(teacherRows), tf.tensor1d(labels, "int32"));
  assert.deepEqual(await order.array(), teacherOptimalPermutation(teacherRows, labels));
  const gpu = await run();
  await flushDeferredChecks();
  for (let k = 0; k < 2; k++) {
    gpu[k].forEach((v, i) => assert.ok(Math.abs(v - cpu[k][i]) < 1e-5, `pld ${k}[${i}]`));
  }
  // Labels computed on the device are checked at the next flush.
  const bad = tf.add(tf.tensor1d([0, 1, 2], "int32"), 3); // 3, 4, 5: 5 is out of range
  const loss = crossEntropy(tf.zeros([3, 5]) as tf.Tensor2D, bad);
  await assert.rejects(
    () => flushDeferredChecks(),
    /labels must be integer class ids in \[0, 5\), got values in \[3, 5\]/,
  );
  tf.dispose([order, bad, loss]);
  await initBackend("cpu", { log: false });
});

/**
 * An attention objective's loss and its gradient for the attention projection of a fresh 2-head
 * GPT student (width 8) on two windows of 8 tokens, on cpu and then on webgpu, which it leaves as
 * the backend. `teacher` builds the teacher's last layer (freed after each backend's run).
 */
async function attentionLossOnBothBackends(
  objective: Objective,
  teacher: () => Omit<LayerAttention, "causal">,
): Promise<{ cpu: Float32Array[]; gpu: Float32Array[] }> {
  const run = async () => {
    const student = createGPT({
      vocabSize: 23,
      contextLength: 8,
      nLayer: 1,
      nHead: 2,
      dModel: 8,
      seed: 2,
    });
    const tokens = tf.tensor2d(
      [[1, 5, 22, 0, 7, 7, 3, 2], [4, 4, 9, 10, 11, 12, 0, 1]],
      [2, 8],
      "int32",
    );
    const t = teacher();
    const { value, grads } = tf.variableGrads(() => {
      const s = student.forward(tokens, { attentionOfLayer: -1 }).layerAttention!;
      return objective.loss({
        studentLogits: tf.zeros([2, 8, 23]),
        teacherAttention: { ...t, causal: true },
        studentAttention: { ...s, causal: true },
      });
    }, Object.values(student.params));
    const out = [
      await value.data() as Float32Array,
      await grads[student.params["h0.attn.wqkv"].name].data() as Float32Array,
    ];
    tf.dispose([tokens, t, value, ...Object.values(grads)]);
    Object.values(student.params).forEach((v) => v.dispose());
    return out;
  };
  await initBackend("cpu", { log: false });
  const cpu = await run();
  await initBackend("webgpu", { log: false });
  const gpu = await run();
  await flushDeferredChecks();
  return { cpu, gpu };
}

/** Asserts each value of `gpu` is within `tolerance` (relative above 1) of `cpu`'s. */
function assertBackendsAgree(
  { cpu, gpu }: { cpu: Float32Array[]; gpu: Float32Array[] },
  tolerance: number,
  what: string,
): void {
  cpu.forEach((expected, k) =>
    gpu[k].forEach((v, i) =>
      assert.ok(
        Math.abs(v - expected[i]) < tolerance * Math.max(1, Math.abs(expected[i])),
        `${what} ${k}[${i}]: ${v} vs ${expected[i]}`,
      )
    )
  );
}

gpuTest(
  "MiniLM's loss and gradients on webgpu match cpu; its input check is deferred",
  async () => {
    // A teacher far from the fresh student's near-uniform attention: sharp causal maps.
    const results = await attentionLossOnBothBackends(getLoss("minilm"), () =>
      tf.tidy(() => {
        const future = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([8, 8]), -1, 0)), -1e9);
        return {
          probabilities: tf.softmax(
            tf.add(tf.randomNormal([2, 2, 8, 8], 0, 3, "float32", 5), future),
          ),
          values: tf.randomNormal([2, 2, 8, 5], 0, 1, "float32", 6),
        };
      }));
    assert.ok(results.cpu[0][0] > 0.01, `a loss that can differ: ${results.cpu[0][0]}`);
    assertBackendsAgree(results, 1e-5, "minilm");
    const attention = tf.softmax(tf.randomNormal([1, 2, 4, 4], 0, 1, "float32", 3));
    const values = tf.randomNormal([1, 2, 4, 3], 0, 1, "float32", 4);
    const nan = tf.div(values, tf.zerosLike(values)); // Inf and NaN, found only at the flush
    const loss = getLoss("minilm").loss({
      studentLogits: tf.zeros([4, 5]),
      teacherAttention: { probabilities: attention, values, causal: false },
      studentAttention: { probabilities: attention, values: nan, causal: false },
    });
    await assert.rejects(() => flushDeferredChecks(), /studentValues holds \d+ NaN\/Inf entries/);
    tf.dispose([attention, values, nan, loss]);
    await initBackend("cpu", { log: false });
  },
);

gpuTest(
  "MiniLMv2's loss and gradients on webgpu match cpu (other head counts); its check is deferred",
  async () => {
    // A teacher with 4 heads of 4 (width 16) against the student's 2 heads of 4 (width 8).
    const part = (seed: number) => tf.randomNormal([2, 4, 8, 4], 0, 2, "float32", seed);
    const results = await attentionLossOnBothBackends(
      getLoss("minilmv2", { relationHeads: 4 }),
      () => ({
        probabilities: tf.ones([2, 4, 8, 8]),
        values: part(6),
        queries: part(7),
        keys: part(8),
      }),
    );
    assert.ok(results.cpu[0][0] > 0.01, `a loss that can differ: ${results.cpu[0][0]}`);
    assert.ok(results.cpu[1].some((g) => Math.abs(g) > 1e-4), "a gradient that can differ");
    assertBackendsAgree(results, 1e-4, "minilmv2");
    const x = tf.randomNormal([1, 2, 4, 3], 0, 1, "float32", 4);
    const nan = tf.div(x, tf.zerosLike(x)); // Inf and NaN, found only at the flush
    const layer = (values: tf.Tensor) => ({
      probabilities: tf.ones([1, 2, 4, 4]),
      values,
      queries: x,
      keys: x,
      causal: false,
    });
    const loss = getLoss("minilmv2", { relationHeads: 2 }).loss({
      studentLogits: tf.zeros([4, 5]),
      teacherAttention: layer(x),
      studentAttention: layer(nan),
    });
    await assert.rejects(() => flushDeferredChecks(), /student\.values holds \d+ NaN\/Inf entries/);
    tf.dispose([x, nan, loss]);
    await initBackend("cpu", { log: false });
  },
);

/** A short TAID distillation of a tiny GPT with every trainer feature on; returns losses and eval. */
async function distil(backend: string, dir: string) {
  await initBackend(backend, { log: false });
  const tiny = { vocabSize: 37, contextLength: 8, nLayer: 1, nHead: 2, dModel: 16 };
  const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 37);
  const teacher = createGPT({ ...tiny, seed: 1 });
  const student = createGPT({ ...tiny, seed: 2 });
  const losses: number[] = [];
  const counts: number[] = [];
  const evals: number[] = [];
  await train({
    task: languageModelTask({
      student,
      teacher,
      objective: getLoss("taid", { totalSteps: 12 }),
      batcher: new TokenBatcher(tokens, { batchSize: 4, contextLength: 8, seed: 3 }),
    }),
    steps: 12,
    schedule: warmupCosine({ peakLr: 3e-3, totalSteps: 12, warmupSteps: 2 }),
    clipNorm: 1,
    accumulation: 2,
    checkpoint: { dir, every: 6 },
    evaluate: {
      every: 6,
      run: async () => {
        const ev = await evaluateLanguageModel(student, tokens, { maxWindows: 4, teacher });
        evals.push(ev.crossEntropy);
        return { ce: ev.crossEntropy, kl: ev.teacherKL! };
      },
    },
    onRow: (row) => {
      if (row.kind === "train") {
        losses.push(row.loss as number), counts.push(tf.memory().numTensors);
      }
    },
  });
  return { losses, counts, evals };
}

gpuTest("a TAID distillation run on webgpu matches the same run on cpu", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cpu = await distil("cpu", `${root}/cpu`);
    const gpu = await distil("webgpu", `${root}/gpu`);
    assert.equal(gpu.losses.length, 12);
    gpu.losses.forEach((l, i) =>
      assert.ok(
        Math.abs(l - cpu.losses[i]) < 1e-4 * Math.max(1, Math.abs(cpu.losses[i])),
        `step ${i}: ${l} vs ${cpu.losses[i]}`,
      )
    );
    gpu.evals.forEach((e, i) => assert.ok(Math.abs(e - cpu.evals[i]) < 1e-4, `eval ${i}`));
    assert.equal(gpu.counts.at(-1), gpu.counts[0], "tensor count is flat on webgpu");
    // The checkpoint (weights and AdamW moments read asynchronously) equals cpu's to float32 noise.
    const cp = await loadCheckpoint(`${root}/gpu`);
    const cc = await loadCheckpoint(`${root}/cpu`);
    assert.equal(cp!.state.step, 12);
    for (const [name, t] of Object.entries(cc!.params)) {
      const d = cp!.params[name].data;
      t.data.forEach((v, i) => assert.ok(Math.abs(v - d[i]) < 1e-4, `${name}[${i}]`));
    }
    assert.deepEqual(Object.keys(cp!.moments).sort(), Object.keys(cc!.moments).sort());
  } finally {
    await Deno.remove(root, { recursive: true });
    await initBackend("cpu", { log: false });
  }
});

/** Ten steps of a two-teacher PHI-S student with AdaLoss; losses, per-teacher terms, Ada state. */
async function multiTeacher(backend: string) {
  await initBackend(backend, { log: false });
  const n = 32;
  const x = Float32Array.from({ length: n * 784 }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const teacher = (width: number, scale: number) =>
    Float32Array.from({ length: n * width }, (_, i) => scale * Math.cos(i * 1.3 + width));
  const big = teacher(12, 100), small = teacher(8, 0.01);
  const { task, heads, dispose } = twoTeacherTask(x, big, small, 16);
  const rows: number[][] = [];
  await train({
    task,
    steps: 10,
    schedule: constantLr(3e-3),
    onRow: (row) =>
      rows.push([
        row.loss as number,
        row.multi_teacher_loss_big as number,
        row.multi_teacher_loss_small as number,
      ]),
  });
  const ada = (await heads.state() as { ada: { averages: Record<string, number> } }).ada.averages;
  // The big teacher's head with its inverse normaliser folded in, computed on this backend.
  const folded = heads.foldedFinalLayer("big");
  const fold = [...await folded.kernel.data(), ...await folded.bias.data()];
  tf.dispose([folded.kernel, folded.bias]);
  dispose();
  return { rows, ada, fold };
}

gpuTest("a PHI-S multi-teacher student with AdaLoss trains on webgpu as on cpu", async () => {
  const cpu = await multiTeacher("cpu");
  const gpu = await multiTeacher("webgpu");
  assert.equal(gpu.rows.length, 10);
  gpu.rows.forEach((r, i) =>
    r.forEach((v, j) =>
      assert.ok(
        Number.isFinite(v) &&
          Math.abs(v - cpu.rows[i][j]) < 1e-3 * Math.max(1, Math.abs(cpu.rows[i][j])),
        `step ${i} field ${j}: ${v} vs ${cpu.rows[i][j]}`,
      )
    )
  );
  for (const key of ["big", "small"]) {
    assert.ok(Math.abs(gpu.ada[key] - cpu.ada[key]) < 1e-3 * Math.abs(cpu.ada[key]), `ada ${key}`);
  }
  const scale = Math.max(...cpu.fold.map(Math.abs));
  assert.equal(gpu.fold.length, cpu.fold.length);
  gpu.fold.forEach((v, i) =>
    assert.ok(
      Math.abs(v - cpu.fold[i]) < 1e-3 * scale,
      `folded head [${i}]: ${v} vs ${cpu.fold[i]}`,
    )
  );
  await initBackend("cpu", { log: false });
});

/**
 * Ten steps of distillation with `objective` ("fkl", or "taid" with t moving on the device) on
 * webgpu, reading every `readEvery` steps; the loss is NaN at step `nanAt` if given. Returns the
 * rows, tensor counts, the error if any, the embedding and the objective's state.
 */
async function distilRun(objective: "fkl" | "taid", readEvery: number, steps = 10, nanAt?: number) {
  await initBackend("webgpu", { log: false });
  const tiny = { vocabSize: 37, contextLength: 8, nLayer: 1, nHead: 2, dModel: 16 };
  const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 37);
  const teacher = createGPT({ ...tiny, seed: 1 });
  const student = createGPT({ ...tiny, seed: 2 });
  // TAID with a large α, so that t leaves its linear floor within ten steps.
  const chosen = objective === "taid"
    ? getLoss("taid", { totalSteps: 40, alpha: 0.2 })
    : getLoss("fkl");
  const base = languageModelTask({
    student,
    teacher,
    objective: chosen,
    batcher: new TokenBatcher(tokens, { batchSize: 4, contextLength: 8, seed: 3 }),
  });
  const task = {
    ...base,
    loss: (batch: Parameters<typeof base.loss>[0], index: number) =>
      index === nanAt ? tf.mul(base.loss(batch, index), NaN) as tf.Scalar : base.loss(batch, index),
  };
  const rows: number[][] = [];
  const counts: number[] = [];
  let error: Error | undefined;
  try {
    await train({
      task,
      steps,
      schedule: constantLr(3e-3),
      clipNorm: 1,
      readEvery,
      evaluate: { every: 6, run: () => ({ seen: rows.length }) },
      onRow: (row) => {
        if (row.kind === "train") {
          rows.push([row.step, row.loss as number, row.gradNorm as number]);
          if (objective === "taid") rows.at(-1)!.push(row.taid_t as number);
        } else rows.push([row.step, -1, row.seen as number]);
        counts.push(tf.memory().numTensors);
      },
    });
  } catch (e) {
    error = e as Error;
  }
  const wte = await student.params.wte.data();
  const state = await chosen.state?.() as Record<string, number> | undefined;
  chosen.dispose?.();
  return { rows, counts, error, wte, state };
}

for (const objective of ["fkl", "taid"] as const) {
  gpuTest(
    `reading back every 4 steps trains exactly as reading every step (${objective})`,
    async () => {
      const every = await distilRun(objective, 1);
      const windowed = await distilRun(objective, 4);
      assert.equal(windowed.error, undefined);
      // Same rows in the same order (the evaluation at step 6 sees the 6 train rows before it).
      assert.deepEqual(windowed.rows.map((r) => r[0]), every.rows.map((r) => r[0]));
      assert.deepEqual(windowed.rows[6], [6, -1, 6]);
      windowed.rows.forEach((r, i) =>
        r.forEach((x, j) => assert.ok(Math.abs(x - every.rows[i][j]) < 1e-6, `row ${i}[${j}]`))
      );
      assert.deepEqual(windowed.wte, every.wte);
      assert.deepEqual(windowed.state, every.state);
      assert.equal(windowed.counts.at(-1), windowed.counts[0], "tensor count is flat");
      if (objective === "taid") {
        // t is logged with every step and leaves the linear floor 0.4 + 0.6·k/40.
        const ts = every.rows.filter((r) => r[1] !== -1).map((r) => r[3]);
        assert.equal(ts.length, 10);
        assert.ok(ts[9] > 0.4 + 0.6 * 9 / 40 + 1e-3, `t = ${ts}`);
      } else {
        await assert.rejects(
          distilRun(objective, 0).then((r) => Promise.reject(r.error)),
          /readEvery must be/,
        );
      }
      await initBackend("cpu", { log: false });
    },
  );

  gpuTest(
    `a NaN inside a read window stops the run with the weights of the step before (${objective})`,
    async () => {
      // Steps 4 and 5 form one window (read for the evaluation after six steps); step 4 is NaN, so
      // neither step 4 nor step 5 (finite, but behind the chained gate) may update anything.
      const stopped = await distilRun(objective, 4, 10, 4);
      assert.match(
        stopped.error?.message ?? "",
        new RegExp(`the loss is NaN at step 4 .*objective "${objective}"`),
      );
      assert.deepEqual(stopped.rows.map((r) => r[0]), [1, 2, 3, 4]);
      const clean = await distilRun(objective, 4, 4);
      assert.deepEqual(stopped.wte, clean.wte);
      // TAID's t, momentum and previous loss stayed where the clean run left them.
      const { step: _s, ...held } = stopped.state ?? {};
      const { step: _c, ...kept } = clean.state ?? {};
      assert.deepEqual(held, kept);
      await initBackend("cpu", { log: false });
    },
  );
}
