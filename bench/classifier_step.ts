/**
 * Benchmark of the vision notebook's student step (`notebooks/vision_kd.ipynb`, full scale):
 * - `logSumExp` (lib/losses/log_sum_exp.ts, analytic gradient) against `tf.logSumExp` (which
 *   differentiates through its max), forward + backward on a [128, 128] transport plan, both axes;
 * - one Sinkhorn KD loss (20 iterations, 40 log-sum-exps) forward + backward at [128, 10];
 * - a training step of the MLP student (hidden [32], batch 128) distilled from the CNN teacher
 *   (channels [16, 32] → 128) with Hinton KD and with SinKD, the teacher run on every micro-batch
 *   against its logits looked up in a table computed once (`teacherLogitTable`).
 * Writes `bench/results/classifier_step.json`.
 *
 * Usage: `deno task bench classifier_step [--backend wasm] [--steps 60]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "../tools/args.ts";
import { medianMs } from "./timing.ts";
import { backendInfo, initBackend } from "../lib/backend.ts";
import { ImageBatcher, type ImageSplit, Rng } from "../lib/data/mod.ts";
import { getLoss, logSumExp, sinkhornKD } from "../lib/losses/mod.ts";
import { createCNN, createMLP, type ImageClassifier } from "../lib/models/mod.ts";
import { classifierTask, constantLr, teacherLogitTable, train } from "../lib/train/mod.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { options } = parseArgs(Deno.args, ["backend", "steps"]);
await initBackend((options.backend as string | undefined) ?? "wasm", { log: false });
const steps = Number(options.steps ?? 60);

/** Forward + backward of `f` at `x`, read back. */
const gradOf = (f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor) => async () => {
  const g = tf.tidy(() => tf.grad((y: tf.Tensor) => tf.sum(f(y)))(x));
  await g.data();
  g.dispose();
};

const rng = new Rng(1);
/** A [rows, cols] tensor of N(0, scale²) values. */
const gaussian = (rows: number, cols: number, scale = 1) =>
  tf.tensor2d(Float32Array.from({ length: rows * cols }, () => scale * rng.gaussian()), [
    rows,
    cols,
  ]);
const plan = gaussian(128, 128);
const lseRows = [];
for (const axis of [0, 1]) {
  const ours = await medianMs(gradOf((x) => logSumExp(x, axis, true), plan));
  const theirs = await medianMs(gradOf((x) => tf.logSumExp(x, axis, true), plan));
  lseRows.push({ shape: [128, 128], axis, ms_ours: ours, ms_tfjs: theirs, speedup: theirs / ours });
  console.log(`logSumExp axis ${axis}: ours ${ours.toFixed(3)} ms, tfjs ${theirs.toFixed(3)} ms`);
}
const teacherRows = gaussian(128, 10, 3);
const studentRows = gaussian(128, 10, 3);
const sinkhornMs = await medianMs(gradOf((s) => sinkhornKD(teacherRows, s), studentRows));
console.log(`sinkhornKD fwd+bwd [128, 10]: ${sinkhornMs.toFixed(2)} ms`);

// Random images stand in for Fashion-MNIST: the step's cost does not depend on the pixels.
const count = 6000;
const split: ImageSplit = {
  images: Float32Array.from({ length: count * 784 }, () => rng.next()),
  labels: Int32Array.from({ length: count }, (_, i) => i % 10),
  count,
};
const teacher = createCNN({ channels: [16, 32], featureDim: 128, seed: 1 });
const tableStart = performance.now();
const table = await teacherLogitTable(teacher, split);
const tableSeconds = (performance.now() - tableStart) / 1000;
console.log(`teacher logit table over ${count} images: ${tableSeconds.toFixed(2)} s`);

async function msPerStep(objective: string, source: "live" | "table"): Promise<number> {
  const student: ImageClassifier = createMLP({ hidden: [32], seed: 2 });
  const stamps: number[] = [];
  await train({
    task: classifierTask({
      student,
      objective: getLoss(objective),
      batcher: new ImageBatcher(split, { batchSize: 128, seed: 3 }),
      ...(source === "live" ? { teacher } : { teacherLogits: table }),
    }),
    steps,
    schedule: constantLr(1e-3),
    onRow: () => void stamps.push(performance.now()),
  });
  Object.values(student.params).forEach((v) => v.dispose());
  return (stamps[steps - 1] - stamps[9]) / (steps - 10);
}
const stepRows = [];
for (const objective of ["kd", "sinkd"]) {
  const live = await msPerStep(objective, "live");
  const cached = await msPerStep(objective, "table");
  stepRows.push({ objective, ms_live_teacher: live, ms_table: cached, speedup: live / cached });
  console.log(
    `${objective} student step: live teacher ${live.toFixed(1)} ms, table ${cached.toFixed(1)} ms`,
  );
}

const result = {
  benchmark: "classifier_step",
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  tfjs: tf.version.tfjs,
  backend: backendInfo()?.name,
  cores: navigator.hardwareConcurrency,
  logSumExp: lseRows,
  sinkhornKD: { shape: [128, 10], iterations: 20, ms_fwd_bwd: sinkhornMs },
  teacherTable: { images: count, seconds: tableSeconds },
  studentStep: { batch: 128, student: "mlp [32]", teacher: "cnn [16, 32] → 128", rows: stepRows },
};
await Deno.writeTextFile(
  join(here, "results", "classifier_step.json"),
  JSON.stringify(result, null, 2) + "\n",
);
