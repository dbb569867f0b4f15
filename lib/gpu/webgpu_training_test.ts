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
import { forwardKL, getLoss } from "../losses/mod.ts";
import { createGPT } from "../models/mod.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { evaluateLanguageModel, languageModelTask, train, warmupCosine } from "../train/mod.ts";
import { deviceGradientsRegistered } from "./device_gradients.ts";

const gpuTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

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
