import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { TokenBatcher } from "../data/mod.ts";
import { hashSeed, Rng } from "../data/rng.ts";
import { getLoss, paddedRows, sparseKL, type Sparsifier, sparsifyLogits } from "../losses/mod.ts";
import { createGPT } from "../models/mod.ts";
import { languageModelTask, TeacherTargets } from "./mod.ts";
import { dispose, tiny, tokens, trainTiny } from "../../tests/fixtures/tiny_lm.ts";

const L = tiny.contextLength;
// 400 tokens: ⌊399 / 8⌋ = 49 aligned windows.
const aligned = (seed = 1) =>
  new TokenBatcher(tokens, { batchSize: 3, contextLength: L, seed, aligned: true });
const sample: Sparsifier = { kind: "sample", samples: 6 };

Deno.test("TokenBatcher aligned: windows start at multiples of contextLength, reach every window, depend on (seed, step)", () => {
  const b = aligned(4);
  const seen = new Set<number>();
  for (let step = 0; step < 200; step++) {
    for (const s of b.starts(step)) {
      assert.equal(s % L, 0);
      assert.ok(s + L + 1 <= tokens.length);
      seen.add(s / L);
    }
  }
  assert.equal(seen.size, 49);
  assert.deepEqual(b.starts(7), aligned(4).starts(7));
});

Deno.test("TeacherTargets.build: every position's sparse targets from the teacher's logits of its window", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const targets = await TeacherTargets.build(teacher, tokens, {
    contextLength: L,
    sparsifier: sample,
    seed: 3,
    batchSize: 7,
  });
  assert.equal(targets.chunks, 49);
  // Independently: all 49 windows in one forward, each row drawn from its own seeded stream.
  const starts = Int32Array.from({ length: 49 }, (_, c) => c * L);
  const inputs = tf.tensor2d(
    Array.from(starts).flatMap((s) => Array.from(tokens.subarray(s, s + L))),
    [49, L],
    "int32",
  );
  const logits = await teacher.logits(inputs).data() as Float32Array;
  const want = sparsifyLogits(
    logits,
    tiny.vocabSize,
    sample,
    (r) => new Rng(hashSeed(3, "teacher-targets", r)),
  );
  assert.deepEqual(Array.from(targets.rows.offsets), Array.from(want.offsets));
  assert.deepEqual(Array.from(targets.rows.ids), Array.from(want.ids));
  targets.rows.probs.forEach((p, i) => assert.ok(Math.abs(p - want.probs[i]) < 1e-6));
  // A batch of windows reads their rows, padded.
  const batch = targets.batch([16, 0]);
  const rowIds = [
    ...Array.from({ length: L }, (_, t) => 2 * L + t),
    ...Array.from({ length: L }, (_, t) => t),
  ];
  const padded = paddedRows(want, rowIds);
  assert.deepEqual(batch.ids.shape, [2, L, padded.k]);
  assert.deepEqual(Array.from(await batch.ids.data()), Array.from(padded.ids));
  assert.throws(() => targets.batch([3]), /window start 3 is not one of the cached windows/);
  assert.throws(() => targets.batch([49 * L]), /not one of the cached windows/);
  // The stats count what is stored: 2-byte ids and, sampling at τ = 1, 1-byte counts.
  const stats = targets.stats();
  assert.equal(stats.positions, 49 * L);
  assert.equal(stats.entriesPerPosition, want.ids.length / (49 * L));
  assert.equal(stats.bytesPerPosition, (want.ids.length * 3 + 4 * (49 * L + 1)) / (49 * L));
  assert.ok(stats.teacherMass > 0 && stats.teacherMass <= 1);
  // Saved and loaded, the same cache, the files as large as the stats say.
  const dir = await Deno.makeTempDir();
  targets.save(dir);
  assert.equal(Deno.statSync(`${dir}/probs.bin`).size, want.ids.length);
  const bytes = ["offsets", "ids", "probs"].reduce(
    (a, f) => a + Deno.statSync(`${dir}/${f}.bin`).size,
    0,
  );
  assert.equal(bytes / (49 * L), stats.bytesPerPosition);
  const loaded = TeacherTargets.load(dir);
  assert.deepEqual(loaded.meta, targets.meta);
  assert.deepEqual(loaded.rows, targets.rows);
  // Top-K's probabilities, and sampling at τ ≠ 1, stay float32; a cache written before counts
  // existed (no meta.probs) reads as float32.
  for (
    const sparsifier of [{ kind: "top_k", k: 3 }, {
      kind: "sample",
      samples: 6,
      temperature: 2,
    }] as Sparsifier[]
  ) {
    const other = await TeacherTargets.build(teacher, tokens, { contextLength: L, sparsifier });
    other.save(dir);
    assert.equal(Deno.statSync(`${dir}/probs.bin`).size, 4 * other.rows.ids.length);
    assert.deepEqual(TeacherTargets.load(dir).rows, other.rows);
    const { probs: _, ...legacy } = other.meta;
    Deno.writeTextFileSync(`${dir}/meta.json`, JSON.stringify(legacy));
    assert.deepEqual(TeacherTargets.load(dir).rows, other.rows);
  }
  Deno.writeFileSync(`${dir}/probs.bin`, new Uint8Array(8));
  assert.throws(() => TeacherTargets.load(dir), /incomplete or corrupt/);
  await Deno.remove(dir, { recursive: true });
  tf.dispose([inputs, batch.ids, batch.probs]);
  await assert.rejects(
    () => TeacherTargets.build(teacher, tokens, { contextLength: 9, sparsifier: sample }),
    /contextLength must be an integer in \[1, 8\]/,
  );
  await assert.rejects(
    () =>
      TeacherTargets.build(teacher, tokens.subarray(0, 8), {
        contextLength: L,
        sparsifier: sample,
      }),
    /8 tokens hold no window/,
  );
  await assert.rejects(
    () =>
      TeacherTargets.build(teacher, Int32Array.from([0, 17, 1]), {
        contextLength: 2,
        sparsifier: sample,
      }),
    /token ids must be in \[0, 17\)/,
  );
  dispose(teacher);
});

Deno.test("sparse_kd task: the loss is sparseKL on the cached targets; with every token kept, the dense KL task's", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const student = createGPT({ ...tiny, seed: 2 });
  const build = (sparsifier: Sparsifier) =>
    TeacherTargets.build(teacher, tokens, { contextLength: L, sparsifier });
  const sampled = await build(sample);
  const task = languageModelTask({
    student,
    objective: getLoss("sparse_kd"),
    batcher: aligned(),
    teacherTargets: sampled,
  });
  const batch = task.batch(5);
  const got = (await task.loss(batch, 5).data())[0];
  const starts = aligned().starts(5);
  const want = tf.tidy(() =>
    sparseKL(student.logits(batch.inputs!), sampled.batch(starts)).dataSync()[0]
  );
  assert.ok(Math.abs(got - want) < 1e-6, `${got} vs ${want}`);
  assert.equal(batch.teacherLogits, undefined); // the teacher does not run
  tf.dispose(Object.values(batch));
  // Top-K with K = V, renormalised: the dense forward KL, through the whole task.
  const all = await build({ kind: "top_k", k: tiny.vocabSize });
  const sparseTask = languageModelTask({
    student,
    objective: getLoss("sparse_kd"),
    batcher: aligned(),
    teacherTargets: all,
  });
  const dense = languageModelTask({
    student,
    teacher,
    objective: getLoss("fkl"),
    batcher: aligned(),
  });
  for (const step of [0, 3]) {
    const [a, b] = [sparseTask.batch(step), dense.batch(step)];
    const [x, y] = [
      (await sparseTask.loss(a, step).data())[0],
      (await dense.loss(b, step).data())[0],
    ];
    assert.ok(Math.abs(x - y) < 1e-5, `step ${step}: ${x} vs ${y}`);
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  }
  // Mismatches are errors naming what to change.
  const unaligned = new TokenBatcher(tokens, { batchSize: 3, contextLength: L, seed: 1 });
  assert.throws(
    () =>
      languageModelTask({
        student,
        objective: getLoss("sparse_kd"),
        batcher: unaligned,
        teacherTargets: sampled,
      }),
    /the batcher must draw aligned windows of that length from the same stream \(aligned: false/,
  );
  assert.throws(
    () =>
      languageModelTask({
        student,
        objective: getLoss("sparse_kd"),
        batcher: new TokenBatcher(tokens.subarray(0, 200), {
          batchSize: 3,
          contextLength: L,
          seed: 1,
          aligned: true,
        }),
        teacherTargets: sampled,
      }),
    /cover 49 windows of 8 tokens/,
  );
  assert.throws(
    () => languageModelTask({ student, objective: getLoss("sparse_kd"), batcher: aligned() }),
    /learns from cached teacher targets; give teacherTargets/,
  );
  assert.throws(
    () =>
      languageModelTask({
        student,
        teacher,
        objective: getLoss("fkl"),
        batcher: aligned(),
        teacherTargets: sampled,
      }),
    /teacherTargets need an objective that learns from them \(sparse_kd\), got "fkl"/,
  );
  dispose(teacher, student);
});

Deno.test("sparse_kd trains without the teacher, lowers the loss, and leaks no tensor", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const targets = await TeacherTargets.build(teacher, tokens, {
    contextLength: L,
    sparsifier: sample,
  });
  dispose(teacher);
  const { sink, counts } = await trainTiny({
    steps: 30,
    task: (student) =>
      languageModelTask({
        student,
        objective: getLoss("sparse_kd"),
        batcher: aligned(),
        teacherTargets: targets,
      }),
  });
  const losses = sink.rows.filter((r) => r.kind === "train").map((r) => r.loss as number);
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)), `${losses}`);
  assert.ok(counts.slice(2).every((c) => c === counts[2]), `tensor counts ${counts}`);
});
