import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { TokenBatcher } from "../data/mod.ts";
import { getLoss } from "../losses/mod.ts";
import { createGPT, generate } from "../models/mod.ts";
import {
  AdaptiveOffPolicy,
  type AdaptiveOffPolicyOptions,
  languageModelTask,
  offPolicySource,
  samplingThreshold,
  updateThreshold,
} from "./mod.ts";
import { batcher, dispose, tiny, tokens, trainTiny } from "../../tests/fixtures/tiny_lm.ts";

const run = { seed: 1, totalBatches: 100, batchSize: 3, contextLength: 8 };

Deno.test("DistiLLM's threshold rises by 0.1 only when the loss is ε above the reference", () => {
  // Losses exact in binary, ε = 0.25; the first loss sets the reference.
  const losses = [4, 3.5, 4.125, 4.25, 4.25, 4.5, 3, 4.75, 5];
  const want = [
    [0, 4],
    [0, 4],
    [0, 4],
    [0.1, 4.25], // 4.25 ≥ 4 + 0.25: rises, new reference
    [0.1, 4.25], // equal to the reference is not ε above it
    [0.2, 4.5],
    [0.2, 4.5], // a fall never lowers φ
    [0.30000000000000004, 4.75],
    [0.4, 5],
  ];
  let state: { threshold: number; reference?: number } = { threshold: 0 };
  losses.forEach((loss, i) => {
    state = updateThreshold(state, loss, 0.25);
    assert.deepEqual([state.threshold, state.reference], want[i], `validation ${i}`);
  });
  // ε = 0 (TAID's re-implementation): a loss equal to the reference raises φ; φ stops at 1.
  let flat: { threshold: number; reference?: number } = { threshold: 0 };
  for (let i = 0; i < 15; i++) flat = updateThreshold(flat, 2, 0);
  assert.equal(flat.threshold, 1);
});

Deno.test("offPolicySource follows DistiLLM's rule for each draw", () => {
  const at = (r: number, buffered: number, progress = 0.25) =>
    offPolicySource(r, { threshold: 0.4, progress, buffered, capacity: 10 });
  // Buffer not full: every r < φ generates.
  assert.equal(at(0.05, 3), "generated");
  assert.equal(at(0.39, 9), "generated");
  assert.equal(at(0.4, 3), "data");
  // Buffer full: r < φ·(1 − 0.25) = 0.3 generates, 0.3 ≤ r < 0.4 replays.
  assert.equal(at(0.29, 10), "generated");
  assert.equal(at(0.31, 10), "replayed");
  assert.equal(at(0.41, 10), "data");
  // φ = 0 never leaves the data.
  assert.equal(offPolicySource(0, { threshold: 0, progress: 0, buffered: 0, capacity: 1 }), "data");
  assert.equal(samplingThreshold(0.4, 0.25, "constant"), 0.2);
  assert.ok(Math.abs(samplingThreshold(0.4, 0.25, "increasing") - 0.1) < 1e-15);
  assert.ok(Math.abs(samplingThreshold(0.4, 0.25, "decreasing") - 0.3) < 1e-15);
});

Deno.test("each source is drawn at its rate, the same micro-batches every time", () => {
  const sampler = new AdaptiveOffPolicy({ promptLength: 2, capacity: 3 }, {
    ...run,
    totalBatches: 4000,
  });
  sampler.threshold = 0.4;
  const count = () => {
    const seen = { data: 0, generated: 0, replayed: 0 };
    for (let i = 0; i < 4000; i++) seen[sampler.source(i)]++;
    return seen;
  };
  // Empty buffer: φ = 0.4 of 4000 micro-batches generate (sd 31), none replays.
  const empty = count();
  assert.ok(Math.abs(empty.generated - 1600) < 5 * 31, JSON.stringify(empty));
  assert.equal(empty.replayed, 0);
  assert.deepEqual(count(), empty);
  sampler.threshold = 0;
  assert.equal(count().data, 4000);
});

Deno.test("windows: data, fresh greedy outputs into a FIFO buffer, and replayed rows", async () => {
  await initBackend("wasm", { log: false });
  const student = createGPT({ ...tiny, seed: 2 });
  const options: AdaptiveOffPolicyOptions = { promptLength: 3, temperature: 0, capacity: 6 };
  const sampler = new AdaptiveOffPolicy(options, run);
  const data = batcher().batch(0);
  const dataInputs = await data.inputs.array();

  // φ = 0: the data, with the output mask.
  const off = sampler.windows(student, batcher().batch(0), 0);
  assert.equal(off.source, "data");
  assert.deepEqual(await off.inputs.array(), dataInputs);
  assert.deepEqual((await off.mask.array())[0], [0, 0, 1, 1, 1, 1, 1, 1]);

  // φ = 1, buffer not full: greedy continuations of the data's prompts, kept in the buffer.
  sampler.threshold = 1;
  const prompts = tf.slice(data.inputs, [0, 0], [3, 3]);
  const greedy = await generate(student, prompts, { newTokens: 6, temperature: 0 }).array();
  const first = sampler.windows(student, batcher().batch(0), 1);
  assert.equal(first.source, "generated");
  const inputs = await first.inputs.array();
  const targets = await first.targets.array();
  for (let b = 0; b < 3; b++) {
    assert.deepEqual(inputs[b], greedy[b].slice(0, 8));
    assert.deepEqual(targets[b], greedy[b].slice(1, 9));
  }
  assert.equal(sampler.buffered, 3);

  // Two more generations (other prompts): the first one's rows leave the buffer (capacity 6).
  const second = sampler.windows(student, batcher().batch(5), 2);
  const third = sampler.windows(student, batcher().batch(9), 3);
  assert.equal(sampler.buffered, 6);
  const state = await sampler.state();
  const rows = Array.from({ length: 6 }, (_, i) => state.buffer.slice(i * 9, i * 9 + 9));
  const sequences = async (w: typeof first) => {
    const [x, y] = [await w.inputs.array(), await w.targets.array()];
    return x.map((row, b) => [...row, y[b][7]]);
  };
  assert.deepEqual(rows, [...await sequences(second), ...await sequences(third)]);
  assert.deepEqual({ generated: state.generated, replayed: state.replayed }, {
    generated: 3,
    replayed: 0,
  });

  // Buffer full, φ = 1 at the end of training (φ_s = 0): every batch replays 3 distinct rows.
  const late = run.totalBatches;
  const replay = sampler.windows(student, batcher().batch(7), late);
  assert.equal(replay.source, "replayed");
  const drawn = await sequences(replay);
  const keys = drawn.map((r) => r.join(","));
  assert.equal(new Set(keys).size, 3);
  for (const k of keys) assert.ok(rows.some((r) => r.join(",") === k), `row ${k} not buffered`);
  assert.deepEqual(await sequences(sampler.windows(student, batcher().batch(7), late)), drawn);
  assert.equal(sampler.replayed, 2);

  tf.dispose([data.inputs, data.targets, prompts, off.inputs, off.targets, off.mask]);
  for (const w of [first, second, third, replay]) tf.dispose([w.inputs, w.targets, w.mask]);
  sampler.dispose();
  dispose(student);
});

Deno.test("DistiLLM distillation trains, leaks nothing, and resumes with its buffer", async () => {
  await initBackend("wasm", { log: false });
  const teacher = createGPT({ ...tiny, seed: 1 });
  const steps = 16;
  const train_ = async (upTo: number, dir?: string) => {
    const sampler = new AdaptiveOffPolicy({ promptLength: 2, capacity: 6, lossEpsilon: 0.1 }, {
      ...run,
      seed: 3,
      totalBatches: steps,
    });
    const out = await trainTiny({
      task: (student) =>
        languageModelTask({
          student,
          teacher,
          objective: getLoss("skl", { alpha: 0.1 }),
          batcher: batcher(3),
          adaptiveOffPolicy: sampler,
        }),
      steps: upTo,
      // A validation loss that climbs by 0.125 per step: φ rises by 0.1 at every step up to 1.
      evaluate: {
        every: 1,
        atStart: true,
        run: (step) => ({ distillm_threshold: sampler.observeValidation(4 + step / 8) }),
      },
      dir,
      every: 7,
    });
    const state = await sampler.state();
    sampler.dispose();
    return { ...out, state };
  };
  const straight = await train_(steps);
  const evals = straight.sink.rows.filter((r) => r.kind === "eval");
  assert.deepEqual(evals.map((r) => r.step), Array.from({ length: steps + 1 }, (_, k) => k));
  assert.deepEqual(
    evals.map((r) => Math.round((r.distillm_threshold as number) * 10) / 10),
    evals.map((r) => Math.min(1, r.step / 10)),
  );
  assert.ok(straight.state.generated >= 2, JSON.stringify(straight.state));
  assert.ok(straight.state.replayed >= 1, JSON.stringify(straight.state));
  assert.ok(straight.sink.rows.every((r) => r.kind !== "train" || Number.isFinite(r.loss)));
  // The buffer is full (6 rows) from the second generation on: the count is flat after it.
  assert.equal(straight.counts.at(-1), straight.counts.at(-4), "tensor count flat");

  const dir = await Deno.makeTempDir();
  const part = await train_(14, dir); // checkpoints at 7 and 14, with replays before 14
  assert.equal(part.sink.rows.filter((r) => r.kind === "eval")[0].step, 0);
  const resumed = await train_(steps, dir);
  assert.equal(resumed.result.resumedFrom, 14);
  assert.equal(resumed.sink.rows.filter((r) => r.kind === "eval" && r.step === 0).length, 0);
  assert.deepEqual(resumed.state, straight.state);
  assert.deepEqual(resumed.weights, straight.weights);
  await Deno.remove(dir, { recursive: true });
  dispose(teacher);
});

Deno.test("adaptive off-policy options and inputs name what is wrong", async () => {
  await initBackend("cpu", { log: false });
  const make = (options: Partial<AdaptiveOffPolicyOptions>, r = run) => () =>
    new AdaptiveOffPolicy({ promptLength: 2, ...options }, r);
  assert.throws(make({ promptLength: 0 }), /adaptiveOffPolicy.promptLength .*contextLength = 8/);
  assert.throws(make({ promptLength: 9 }), /adaptiveOffPolicy.promptLength/);
  assert.throws(make({ temperature: -1 }), /adaptiveOffPolicy.temperature/);
  assert.throws(make({ lossEpsilon: NaN }), /adaptiveOffPolicy.lossEpsilon/);
  assert.throws(make({ capacity: 2 }), /adaptiveOffPolicy.capacity .*batch size \(3\)/);
  assert.throws(
    make({ replayRatio: "sometimes" as "constant" }),
    /adaptiveOffPolicy.replayRatio/,
  );
  assert.throws(make({ initialThreshold: 1.5 }), /adaptiveOffPolicy.initialThreshold/);
  assert.throws(make({}, { ...run, totalBatches: 0 }), /totalBatches must be a positive/);
  const sampler = make({})();
  assert.throws(() => sampler.observeValidation(NaN), /loss must be finite, got NaN/);
  assert.throws(
    () => sampler.load({ threshold: 0, reference: null, generated: 0, replayed: 0, buffer: [1] }),
    /1 tokens, not a multiple of contextLength \+ 1 = 9/,
  );
  const student = createGPT({ ...tiny, seed: 2 });
  const other = new TokenBatcher(tokens, { batchSize: 2, contextLength: 8, seed: 1 });
  assert.throws(
    () => sampler.windows(student, other.batch(0), 0),
    /expected windows \[3, 8\], got \[2,8\]/,
  );
  assert.throws(
    () =>
      languageModelTask({
        student,
        teacher: student,
        objective: getLoss("fkl"),
        batcher: batcher(),
        onPolicy: { fraction: 0.5, promptLength: 2 },
        adaptiveOffPolicy: sampler,
      }),
    /give at most one of onPolicy, adaptiveOffPolicy, miniLLM/,
  );
  dispose(student);
});
