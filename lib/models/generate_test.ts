import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { Rng } from "../data/rng.ts";
import { gpt64 } from "../../tests/reference/models64.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";
import {
  createGPT,
  generate,
  generateMixed,
  type GPT,
  type KVCache,
  readParams,
  sampleCategorical,
} from "./mod.ts";

const BACKENDS = ["cpu", "wasm"] as const;
const tiny = { vocabSize: 23, contextLength: 8, nLayer: 2, nHead: 2, dModel: 8, seed: 3 };

/** Softmax of a row in float64. */
function softmax64(row: ArrayLike<number>, temperature = 1): number[] {
  const z = Array.from(row, (v) => v / temperature);
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

async function weights64(model: GPT) {
  const weights = await readParams(model.params);
  return Object.fromEntries(
    Object.entries(weights).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }]),
  );
}

const dispose = (model: GPT) => Object.values(model.params).forEach((v) => v.dispose());

for (const backend of BACKENDS) {
  Deno.test(`GPT lastPosition gives the last row of the full logits (${backend})`, async () => {
    await initBackend(backend, { log: false });
    for (const tieWeights of [true, false]) {
      const model = createGPT({ ...tiny, tieWeights });
      const tokens = tf.tensor2d([[1, 5, 22, 0, 7], [4, 4, 9, 10, 11]], undefined, "int32");
      const full = model.logits(tokens);
      const last = model.forward(tokens, { lastPosition: true }).logits;
      assert.deepEqual(last.shape, [2, 1, tiny.vocabSize]);
      const want = await tf.slice(full, [0, 4, 0], [2, 1, tiny.vocabSize]).data();
      const got = await last.data();
      want.forEach((v, i) => assert.ok(Math.abs(v - got[i]) < 1e-5, `tie=${tieWeights} [${i}]`));
      tf.dispose([tokens, full, last]);
      dispose(model);
    }
  });

  Deno.test(`GPT with a key/value cache gives the full pass's logits, chunk by chunk (${backend})`, async () => {
    await initBackend(backend, { log: false });
    for (const tieWeights of [true, false]) {
      const model = createGPT({ ...tiny, tieWeights });
      const tokens = tf.tensor2d(
        [[1, 5, 22, 0, 7, 3, 3], [4, 4, 9, 10, 11, 2, 0]],
        undefined,
        "int32",
      );
      const full = await model.logits(tokens).array();
      let cache: KVCache | undefined;
      let start = 0;
      for (const length of [3, 1, 2, 1]) {
        const chunk = tf.slice(tokens, [0, start], [2, length]);
        const out = model.forward(chunk, { cache, returnCache: true, attentions: true });
        assert.deepEqual(out.logits.shape, [2, length, tiny.vocabSize]);
        assert.deepEqual(out.cache!.keys[1].shape, [2 * tiny.nHead, start + length, 4]);
        assert.deepEqual(out.attentions![0].shape, [2, tiny.nHead, length, start + length]);
        // Causal: no attention from a query to a later key.
        const att = await out.attentions![0].array();
        for (let i = 0; i < length; i++) {
          for (let j = start + i + 1; j < start + length; j++) assert.ok(att[0][0][i][j] < 1e-6);
        }
        const got = await out.logits.array();
        for (let b = 0; b < 2; b++) {
          for (let t = 0; t < length; t++) {
            got[b][t].forEach((v, i) =>
              assert.ok(
                Math.abs(v - full[b][start + t][i]) < 1e-5,
                `tie=${tieWeights} position ${start + t}`,
              )
            );
          }
        }
        tf.dispose([chunk, out.logits, ...out.attentions!]);
        if (cache) tf.dispose([...cache.keys, ...cache.values]);
        cache = out.cache;
        start += length;
      }
      tf.dispose([...cache!.keys, ...cache!.values]);
      tokens.dispose();
      dispose(model);
    }
  });

  Deno.test(`GPT names a cache or an output projection that does not fit (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const model = createGPT(tiny);
    const five = tf.zeros([2, 5], "int32");
    const { cache } = model.forward(five, { returnCache: true });
    const cases: [tf.Tensor, KVCache, RegExp][] = [
      [
        tf.zeros([2, 4], "int32"),
        cache!,
        /cache length 5 \+ sequence length 4 exceeds contextLength 8/,
      ],
      [tf.zeros([3, 1], "int32"), cache!, /cache must hold 2 keys and values \[6, L, 4\]/],
      [tf.zeros([2, 1], "int32"), { keys: cache!.keys.slice(1), values: cache!.values }, /2 keys/],
      [tf.zeros([2, 1], "int32"), { keys: [], values: [] }, /cache must hold/],
    ];
    for (const [tokens, c, message] of cases) {
      assert.throws(() => model.forward(tokens, { cache: c }), message);
      tokens.dispose();
    }
    const wrong = tf.zeros([tiny.vocabSize, tiny.dModel]) as tf.Tensor2D;
    assert.throws(
      () => model.forward(five, { outputProjection: wrong }),
      /outputProjection must be \[8, 23\], got \[23,8\]/,
    );
    tf.dispose([five, wrong, ...cache!.keys, ...cache!.values]);
    assert.throws(() => model.forward(tf.zeros([2, 1], "int32"), { cache }), /disposed/);
    dispose(model);
  });

  Deno.test(`sampleCategorical inverts the float64 CDF at each uniform (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const [B, V] = [200, 37];
    const rng = new Rng(11);
    const logits = Float32Array.from({ length: B * V }, () => 3 * rng.gaussian());
    // Some tokens of zero probability in float32 (exp(-200) underflows): never drawn.
    for (let b = 0; b < B; b += 3) logits[b * V + (b % V)] = -200;
    const u = Float32Array.from({ length: B }, () => rng.next());
    const drawn = sampleCategorical(tf.tensor2d(logits, [B, V]), tf.tensor1d(u));
    assert.equal(drawn.dtype, "int32");
    const ids = await drawn.data();
    let compared = 0;
    for (let b = 0; b < B; b++) {
      const p = softmax64(logits.subarray(b * V, (b + 1) * V));
      let cdf = 0;
      let want = V - 1;
      let margin = Infinity;
      for (let i = 0; i < V; i++) {
        const next = cdf + p[i];
        margin = Math.min(margin, Math.abs(u[b] - next));
        if (u[b] < next && want === V - 1 && i < V - 1) want = i;
        cdf = next;
      }
      assert.ok(p[ids[b]] > 1e-30, `row ${b} drew a token of probability ${p[ids[b]]}`);
      if (margin < 1e-5) continue; // within float32 rounding of an interval boundary
      assert.equal(ids[b], want, `row ${b}, u = ${u[b]}`);
      compared++;
    }
    assert.ok(compared > 190, `${compared} rows compared`);
  });

  Deno.test(`generate with temperature 0 is the float64 model's argmax, token by token (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const model = createGPT(tiny);
    const w64 = await weights64(model);
    const prompts = [[1, 5, 22], [4, 4, 9]];
    // 9 new tokens from 3 take the sequence past the context (8): the window slides.
    const got = await generate(model, tf.tensor2d(prompts, undefined, "int32"), {
      newTokens: 9,
      temperature: 0,
    }).array();
    for (let b = 0; b < prompts.length; b++) {
      const seq = [...prompts[b]];
      while (seq.length < prompts[b].length + 9) {
        const window = seq.slice(-tiny.contextLength);
        const logits = gpt64(w64, { ...model.config }, window).slice(-tiny.vocabSize);
        seq.push(logits.indexOf(Math.max(...logits)));
      }
      assert.deepEqual(got[b], seq, `row ${b}`);
    }
    dispose(model);
  });

  Deno.test(`generate draws the first token from softmax(logits / T) (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const model = createGPT({ ...tiny, seed: 5 });
    // A freshly initialised GPT is nearly uniform; larger embeddings give a peaked distribution,
    // on which temperature matters.
    model.params.wte.assign(tf.mul(model.params.wte, 20));
    const w64 = await weights64(model);
    const prompt = [3, 14];
    const rows = 4000;
    for (const temperature of [1, 0.5]) {
      const p = softmax64(
        gpt64(w64, { ...model.config }, prompt).slice(-tiny.vocabSize),
        temperature,
      );
      const prompts = tf.tensor2d(Array.from({ length: rows }, () => prompt), undefined, "int32");
      const out = generate(model, prompts, { newTokens: 1, temperature, seed: 21 });
      const drawn = await tf.slice(out, [0, 2], [rows, 1]).data();
      assert.ok(Math.max(...p) > 0.2 && Math.max(...p) < 0.95, `max p ${Math.max(...p)}`);
      const counts = new Array(tiny.vocabSize).fill(0);
      drawn.forEach((id) => counts[id]++);
      for (let i = 0; i < tiny.vocabSize; i++) {
        const sd = Math.sqrt(rows * p[i] * (1 - p[i]));
        assert.ok(
          Math.abs(counts[i] - rows * p[i]) <= 5 * sd + 1,
          `T=${temperature} token ${i}: ${counts[i]} draws, expected ${(rows * p[i]).toFixed(1)}`,
        );
      }
      tf.dispose([prompts, out]);
    }
    dispose(model);
  });

  Deno.test(`generate is reproducible by seed, keeps the prompt, and leaks nothing (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const model = createGPT(tiny);
    const prompts = tf.tensor2d([[1, 2, 3], [7, 8, 9]], undefined, "int32");
    generate(model, prompts, { newTokens: 1 }).dispose(); // causal masks are kept per shape
    const before = tf.memory().numTensors;
    const a = generate(model, prompts, { newTokens: 6, seed: 1 });
    assert.equal(tf.memory().numTensors, before + 1);
    const b = generate(model, prompts, { newTokens: 6, seed: 1 });
    const c = generate(model, prompts, { newTokens: 6, seed: 2 });
    assert.equal(a.dtype, "int32");
    assert.deepEqual(a.shape, [2, 9]);
    const [va, vb, vc] = [await a.array(), await b.array(), await c.array()];
    assert.deepEqual(va, vb);
    assert.notDeepEqual(va, vc);
    assert.deepEqual(va.map((r) => r.slice(0, 3)), [[1, 2, 3], [7, 8, 9]]);
    assert.ok(va.flat().every((id) => id >= 0 && id < tiny.vocabSize));
    const none = generate(model, prompts, { newTokens: 0 });
    assert.deepEqual(await none.array(), await prompts.array());
    tf.dispose([a, b, c, none, prompts]);
    dispose(model);
  });
  Deno.test(`generateMixed draws from (1 − α)·q + α·p, token by token (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const student = createGPT({ ...tiny, seed: 5 });
    const teacher = createGPT({ ...tiny, seed: 6 });
    // Peaked and different distributions, so the mixture differs from either model's.
    student.params.wte.assign(tf.mul(student.params.wte, 20));
    teacher.params.wte.assign(tf.mul(teacher.params.wte, 20));
    const [s64, t64] = [await weights64(student), await weights64(teacher)];
    const rows = 4000;
    const alpha = 0.5;
    const prompt = [3, 14];
    const prompts = tf.tensor2d(Array.from({ length: rows }, () => prompt), undefined, "int32");
    const out = generateMixed(student, teacher, prompts, {
      newTokens: 2,
      teacherMix: alpha,
      seed: 9,
    });
    const drawn = await out.array();
    const last = (w: typeof s64, tokens: number[]) =>
      softmax64(gpt64(w, { ...student.config }, tokens).slice(-tiny.vocabSize));
    const mixture = (tokens: number[]) => {
      const [q, p] = [last(s64, tokens), last(t64, tokens)];
      return q.map((qi, i) => (1 - alpha) * qi + alpha * p[i]);
    };
    // The first drawn token against the float64 mixture.
    const p1 = mixture(prompt);
    const q1 = last(s64, prompt);
    const shift = p1.reduce((a, v, i) => a + Math.abs(v - q1[i]), 0);
    assert.ok(shift > 0.25, `mixture ≈ student: L1 ${shift}`);
    const counts = new Array(tiny.vocabSize).fill(0);
    drawn.forEach((row) => counts[row[2]]++);
    for (let i = 0; i < tiny.vocabSize; i++) {
      const sd = Math.sqrt(rows * p1[i] * (1 - p1[i]));
      assert.ok(
        Math.abs(counts[i] - rows * p1[i]) <= 5 * sd + 1,
        `token ${i}: ${counts[i]} draws, expected ${(rows * p1[i]).toFixed(1)}`,
      );
    }
    // The second token, given the most frequent first one (both caches advanced by one).
    const first = counts.indexOf(Math.max(...counts));
    const given = drawn.filter((row) => row[2] === first);
    const p2 = mixture([...prompt, first]);
    const second = new Array(tiny.vocabSize).fill(0);
    given.forEach((row) => second[row[3]]++);
    for (let i = 0; i < tiny.vocabSize; i++) {
      const sd = Math.sqrt(given.length * p2[i] * (1 - p2[i]));
      assert.ok(
        Math.abs(second[i] - given.length * p2[i]) <= 5 * sd + 1,
        `second token ${i}: ${second[i]} draws of ${given.length}, expected ` +
          `${(given.length * p2[i]).toFixed(1)}`,
      );
    }
    tf.dispose([prompts, out]);
    dispose(student);
    dispose(teacher);
  });

  Deno.test(`generateMixed at α = 0 and 1 is generate from one model, and leaks nothing (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const student = createGPT({ ...tiny, seed: 7 });
    const teacher = createGPT({ ...tiny, nLayer: 3, dModel: 16, seed: 8 });
    const prompts = tf.tensor2d([[1, 2, 3], [7, 8, 9]], undefined, "int32");
    // 9 new tokens run past the context of 8: the sliding window too.
    const options = { newTokens: 9, seed: 3 };
    for (const [alpha, model] of [[0, student], [1, teacher]] as const) {
      const mixed = generateMixed(student, teacher, prompts, { ...options, teacherMix: alpha });
      const alone = generate(model, prompts, options);
      assert.deepEqual(await mixed.array(), await alone.array(), `α = ${alpha}`);
      tf.dispose([mixed, alone]);
    }
    generateMixed(student, teacher, prompts, { ...options, teacherMix: 0.5 }).dispose();
    const before = tf.memory().numTensors;
    const a = generateMixed(student, teacher, prompts, { ...options, teacherMix: 0.5 });
    assert.equal(tf.memory().numTensors, before + 1);
    const b = generateMixed(student, teacher, prompts, { ...options, teacherMix: 0.5 });
    assert.deepEqual(await a.array(), await b.array());
    tf.dispose([a, b, prompts]);
    dispose(student);
    dispose(teacher);
  });
}

Deno.test("generate and sampleCategorical name the bad argument", async () => {
  await initBackend("cpu", { log: false });
  const model = createGPT(tiny);
  const ok = tf.tensor2d([[1, 2]], undefined, "int32");
  const cases: [() => unknown, RegExp][] = [
    [() => generate(model, tf.tensor2d([[1, 2]]), { newTokens: 1 }), /prompts must be .*int32/],
    [() => generate(model, tf.tensor1d([1], "int32"), { newTokens: 1 }), /prompts must be/],
    [() => generate(model, ok, { newTokens: -1 }), /newTokens must be a non-negative integer/],
    [() => generate(model, ok, { newTokens: 1.5 }), /newTokens/],
    [() => generate(model, ok, { newTokens: 1, temperature: -1 }), /temperature must be/],
    [() => generate(model, ok, { newTokens: 1, temperature: NaN }), /temperature must be/],
    [() => generate(model, ok, { newTokens: 1, seed: Infinity }), /seed must be/],
    [() => sampleCategorical(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([3])), /one number per row/],
    [
      () => generateMixed(model, model, ok, { newTokens: 1, teacherMix: 1.5 }),
      /generateMixed: teacherMix must be in \[0, 1\]/,
    ],
    [
      () => generateMixed(model, model, ok, { newTokens: 1, teacherMix: 0.5, temperature: 0 }),
      /generateMixed: temperature must be > 0/,
    ],
    [
      () =>
        generateMixed(model, createGPT({ ...tiny, vocabSize: 24 }), ok, {
          newTokens: 1,
          teacherMix: 0.5,
        }),
      /generateMixed: vocabulary sizes differ/,
    ],
    [
      () => generateMixed(model, model, tf.tensor2d([[1]]), { newTokens: 1, teacherMix: 0.5 }),
      /generateMixed: prompts must be/,
    ],
  ];
  for (const [run, message] of cases) assert.throws(run, message);
  dispose(model);
});

gpuTest("generate gives the same tokens on webgpu as on cpu (cache, sliding window)", async () => {
  const run = async (backend: string) => {
    await initBackend(backend, { log: false });
    const model = createGPT({ ...tiny, seed: 8 });
    model.params.wte.assign(tf.mul(model.params.wte, 10)); // peaked, so draws differ by seed
    const prompts = tf.tensor2d([[1, 5, 22], [4, 4, 9], [0, 0, 0]], undefined, "int32");
    const out = [];
    for (const [temperature, seed] of [[0, 0], [1, 3], [0.7, 4]]) {
      const tokens = generate(model, prompts, { newTokens: 10, temperature, seed });
      out.push(await tokens.array());
      tokens.dispose();
    }
    prompts.dispose();
    dispose(model);
    return out;
  };
  const cpu = await run("cpu");
  const webgpu = await run("webgpu");
  assert.deepEqual(webgpu, cpu);
  assert.notDeepEqual(cpu[1], cpu[2]);
});
