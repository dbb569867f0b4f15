import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../backend.ts";
import { conv2dSame64, gelu64, gpt64, matmul64 } from "../../tests/reference/models64.ts";
import {
  blockVariables,
  conv2dSame,
  createCNN,
  createGPT,
  createMLP,
  decodeSafetensors,
  embedding,
  encodeSafetensors,
  gelu,
  loadModel,
  mapSides,
  matMul,
  readParams,
  saveModel,
  sign,
} from "./mod.ts";

const BACKENDS = ["cpu", "wasm"] as const;
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const tiny = { vocabSize: 23, contextLength: 8, nLayer: 2, nHead: 2, dModel: 8, seed: 3 };

for (const backend of BACKENDS) {
  Deno.test(`GPT logits match the float64 reference (${backend}, tied and untied)`, async () => {
    await initBackend(backend, { log: false });
    for (const tieWeights of [true, false]) {
      const model = createGPT({ ...tiny, tieWeights });
      const weights = await readParams(model.params);
      const w64 = Object.fromEntries(
        Object.entries(weights).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }]),
      );
      const seqs = [[1, 5, 22, 0, 7, 7, 3], [4, 4, 4, 9, 10, 11, 12]];
      const logits = tf.tidy(() => model.logits(tf.tensor2d(seqs, [2, 7], "int32")).arraySync());
      for (let b = 0; b < 2; b++) {
        const ref = gpt64(w64, { ...model.config, tieWeights }, seqs[b]);
        assert.ok(maxAbs(logits[b].flat(), ref) < 1e-5, `batch ${b} tie=${tieWeights}`);
      }
      Object.values(model.params).forEach((v) => v.dispose());
    }
  });

  Deno.test(`GPT is causal: changing a future token leaves earlier logits unchanged (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const model = createGPT(tiny);
    const a = [3, 1, 4, 1, 5, 9, 2, 6];
    const b = [...a];
    b[5] = 20;
    const [la, lb] = tf.tidy(() =>
      [a, b].map((s) => model.logits(tf.tensor2d([s], [1, 8], "int32")).arraySync()[0])
    );
    for (let t = 0; t < 5; t++) assert.deepEqual(la[t], lb[t], `position ${t}`);
    assert.ok(maxAbs(la[5], lb[5]) > 1e-4, "the changed position itself must change");
  });

  Deno.test(`custom embedding, matMul and conv2d gradients equal tfjs's autodiff on cpu (${backend})`, async () => {
    await initBackend("cpu", { log: false });
    const table = tf.randomNormal([6, 3], 0, 1, "float32", 1) as tf.Tensor2D;
    const ids = tf.tensor2d([[0, 5, 5], [2, 0, 1]], [2, 3], "int32");
    const r = tf.randomNormal([2, 3, 3], 0, 1, "float32", 2);
    const x = tf.randomNormal([2, 5, 4, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 2], 0, 1, "float32", 4) as tf.Tensor4D;
    const rc = tf.randomNormal([2, 5, 4, 2], 0, 1, "float32", 5);
    const a = tf.randomNormal([4, 7], 0, 1, "float32", 6) as tf.Tensor2D;
    const c = tf.randomNormal([5, 7], 0, 1, "float32", 7) as tf.Tensor2D;
    const ref = {
      emb: tf.grad((t) => tf.gather(t, ids.reshape([-1])).reshape([2, 3, 3]).mul(r).sum())(table),
      conv: tf.grads((xs, fs) =>
        tf.conv2d(xs as tf.Tensor4D, fs as tf.Tensor4D, 1, "same").mul(rc).sum()
      )([x, f]),
      mm: tf.grads((as, cs) => tf.matMul(as, cs, false, true).square().sum())([a, c]),
    };
    await initBackend(backend, { log: false });
    const got = {
      emb: tf.grad((t) => embedding(t as tf.Tensor2D, ids).mul(r).sum())(table),
      conv: tf.grads((xs, fs) => conv2dSame(xs as tf.Tensor4D, fs as tf.Tensor4D).mul(rc).sum())([
        x,
        f,
      ]),
      mm: tf.grads((as, cs) => matMul(as, cs, false, true).square().sum())([a, c]),
    };
    assert.ok(maxAbs(got.emb.dataSync(), ref.emb.dataSync()) < 1e-5);
    for (let i = 0; i < 2; i++) {
      assert.ok(maxAbs(got.conv[i].dataSync(), ref.conv[i].dataSync()) < 1e-4, `conv grad ${i}`);
      assert.ok(maxAbs(got.mm[i].dataSync(), ref.mm[i].dataSync()) < 1e-4, `matMul grad ${i}`);
    }
    // Forward values against the float64 references too.
    const conv64 = conv2dSame64(
      { shape: x.shape, data: Array.from(x.dataSync()) },
      { shape: f.shape, data: Array.from(f.dataSync()) },
    );
    assert.ok(maxAbs(conv2dSame(x, f).dataSync(), conv64.data) < 1e-4);
    const mm64 = matmul64(Array.from(a.dataSync()), Array.from(c.transpose().dataSync()), 4, 7, 5);
    assert.ok(maxAbs(matMul(a, c, false, true).dataSync(), mm64) < 1e-4);
  });
}

for (const backend of BACKENDS) {
  Deno.test(`sign is exact at any magnitude (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const x = tf.tensor1d([1e-8, -1e-8, 0, -3, 2e-30, -2e-30, 5, 1.1e-7, NaN]);
    const y = sign(x);
    assert.deepEqual(Array.from(y.dataSync()), [1, -1, 0, -1, 1, -1, 1, 1, 0]);
    tf.dispose([x, y]);
  });

  Deno.test(`gelu: float64 tanh-form values, finite-difference gradients, extremes (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const xs = [-60, -12, -5, -3, -1.5, -1, -0.3, -1e-3, 0, 1e-3, 0.3, 1, 1.5, 3, 5, 12, 60];
    const weights = xs.map((_, i) => 1 + (i % 3));
    const x = tf.tensor1d(xs);
    const w = tf.tensor1d(weights);
    const [y, g] = tf.tidy(() => [gelu(x), tf.grad((v) => gelu(v).mul(w).sum())(x)]);
    const yv = y.dataSync();
    const gv = g.dataSync();
    xs.forEach((v, i) => {
      const h = 1e-6;
      const fd = weights[i] * (gelu64(v + h) - gelu64(v - h)) / (2 * h);
      assert.ok(Math.abs(yv[i] - gelu64(v)) <= 1e-6 * (1 + Math.abs(v)), `y(${v}) ${yv[i]}`);
      assert.ok(Math.abs(gv[i] - fd) < 2e-5, `y'(${v}) ${gv[i]} vs ${fd}`);
    });
    // Far outside any activation: finite values and gradients, the asymptotes x and 0.
    const big = tf.tensor1d([-1e30, -1e13, 1e13, 1e30]);
    const [yb, gb] = tf.tidy(() => [gelu(big), tf.grad((v) => gelu(v).sum())(big)]);
    assert.deepEqual(
      Array.from(yb.dataSync()).map((v) => Math.abs(v)),
      [0, 0, 1e13, 1e30].map(
        (v) => Math.fround(v),
      ),
    );
    assert.deepEqual(Array.from(gb.dataSync()).map((v) => v + 0), [0, 0, 1, 1]); // −0 → 0
    tf.dispose([x, w, y, g, big, yb, gb]);
  });
}

Deno.test("GPT rejects bad input with clear errors", async () => {
  await initBackend("cpu", { log: false });
  const model = createGPT(tiny);
  assert.throws(
    () => model.logits(tf.tensor2d([[1, 23]], [1, 2], "int32")),
    /token ids must be in \[0, 23\)/,
  );
  assert.throws(() => model.logits(tf.tensor2d([[-1, 2]], [1, 2], "int32")), /token ids/);
  assert.throws(
    () => model.logits(tf.zeros([1, 9], "int32")),
    /sequence length 9 exceeds contextLength 8/,
  );
  assert.throws(() => model.logits(tf.zeros([1, 3])), /int32/);
  assert.throws(() => model.logits(tf.zeros([0, 3], "int32")), /empty/);
  assert.throws(() => createGPT({ ...tiny, dModel: 9 }), /divisible by nHead/);
  assert.throws(() => createGPT({ ...tiny, nLayer: 0 }), /nLayer must be a positive integer/);
});

Deno.test("GPT returns hidden states and attention maps; parameters are counted", async () => {
  await initBackend("cpu", { log: false });
  const model = createGPT(tiny);
  const D = 8, V = 23, T = 8;
  const expected = V * D + T * D +
    2 * (4 * D + 3 * D * D + 3 * D + D * D + D + 8 * D * D + 4 * D + D) + 2 * D;
  assert.equal(model.parameterCount, expected);
  const untied = createGPT({ ...tiny, tieWeights: false });
  assert.equal(untied.parameterCount, expected + D * V);
  tf.tidy(() => {
    const out = model.forward(tf.tensor2d([[1, 2, 3]], [1, 3], "int32"), {
      hiddenStates: true,
      attentions: true,
    });
    assert.equal(out.hiddenStates!.length, 3);
    assert.deepEqual(out.hiddenStates![2].shape, [1, 3, 8]);
    assert.equal(out.attentions!.length, 2);
    assert.deepEqual(out.attentions![0].shape, [1, 2, 3, 3]);
    const att = out.attentions![1].arraySync()[0][1];
    assert.ok(Math.abs(att[0].reduce((a, b) => a + b, 0) - 1) < 1e-5, "rows sum to 1");
    assert.ok(att[0][1] < 1e-12 && att[0][2] < 1e-12, "no weight on future positions");
  });
  // The same seed gives the same weights; another seed does not.
  const again = await readParams(createGPT(tiny).params);
  assert.deepEqual((await readParams(model.params)).wte.data, again.wte.data);
  const other = await readParams(createGPT({ ...tiny, seed: 4 }).params);
  assert.notDeepEqual(other.wte.data, again.wte.data);
});

Deno.test("GPT's attention, queries, keys and values of a chosen block (MiniLM's inputs) match float64", async () => {
  await initBackend("cpu", { log: false });
  const model = createGPT(tiny);
  const weights = await readParams(model.params);
  const w64 = Object.fromEntries(
    Object.entries(weights).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }]),
  );
  const seqs = [[1, 5, 22, 0, 7], [4, 4, 9, 10, 11]];
  // Block 0 as 0 and -2 (from the end), block 1 (the last) as -1.
  for (const [attentionOfLayer, layer] of [[0, 0], [-2, 0], [-1, 1]]) {
    const out = tf.tidy(() => {
      const o = model.forward(tf.tensor2d(seqs, [2, 5], "int32"), {
        attentionOfLayer,
        attentions: true,
      });
      const { probabilities, values, queries, keys } = o.layerAttention!;
      assert.deepEqual(probabilities.shape, [2, 2, 5, 5]);
      for (const x of [values, queries, keys]) assert.deepEqual(x.shape, [2, 2, 5, 4]);
      assert.deepEqual(probabilities.dataSync(), o.attentions![layer].dataSync());
      return {
        p: probabilities.arraySync(),
        v: values.arraySync(),
        q: queries.arraySync(),
        k: keys.arraySync(),
      };
    });
    for (let b = 0; b < 2; b++) {
      const ref = {
        layer,
        attention: [] as number[][][],
        values: [] as number[][][],
        queries: [] as number[][][],
        keys: [] as number[][][],
      };
      gpt64(w64, { ...model.config, tieWeights: true }, seqs[b], ref);
      const at = `block ${attentionOfLayer}, batch ${b}`;
      assert.ok(maxAbs(out.p[b].flat(2), ref.attention.flat(2)) < 1e-5, `attention, ${at}`);
      assert.ok(maxAbs(out.v[b].flat(2), ref.values.flat(2)) < 1e-5, `values, ${at}`);
      assert.ok(maxAbs(out.q[b].flat(2), ref.queries.flat(2)) < 1e-5, `queries, ${at}`);
      assert.ok(maxAbs(out.k[b].flat(2), ref.keys.flat(2)) < 1e-5, `keys, ${at}`);
    }
  }
  const tokens = tf.tensor2d([[1]], [1, 1], "int32");
  assert.equal(tf.tidy(() => model.forward(tokens).layerAttention), undefined);
  for (const bad of [2, -3, 0.5, NaN]) {
    assert.throws(
      () => model.forward(tokens, { attentionOfLayer: bad }),
      /attentionOfLayer must be an integer block index in \[-2, 1\] \(2 blocks/,
    );
  }
  tokens.dispose();
  Object.values(model.params).forEach((v) => v.dispose());
});

Deno.test("GPT dropout: deterministic per seed, identity without a seed", async () => {
  await initBackend("cpu", { log: false });
  const model = createGPT({ ...tiny, dropout: 0.2 });
  const x = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
  const a = model.forward(x, { dropoutSeed: 7 }).logits.dataSync();
  const b = model.forward(x, { dropoutSeed: 7 }).logits.dataSync();
  const c = model.forward(x, { dropoutSeed: 8 }).logits.dataSync();
  const plain = model.forward(x).logits.dataSync();
  assert.deepEqual(a, b);
  assert.ok(maxAbs(a, c) > 1e-4);
  assert.ok(maxAbs(a, plain) > 1e-4);
});

Deno.test("MLP and CNN: shapes, features, auxiliary head, bad input", async () => {
  await initBackend("cpu", { log: false });
  const mlp = createMLP({ hidden: [32, 16], seed: 1, auxHead: true });
  const cnn = createCNN({ channels: [4, 8], featureDim: 12, seed: 1 });
  assert.equal(mlp.parameterCount, 784 * 32 + 32 + 32 * 16 + 16 + 2 * (16 * 10 + 10));
  assert.equal(cnn.parameterCount, 9 * 4 + 4 + 9 * 4 * 8 + 8 + 7 * 7 * 8 * 12 + 12 + 12 * 10 + 10);
  tf.tidy(() => {
    const x = tf.randomUniform([3, 28, 28, 1]);
    const m = mlp.forward(x, { features: true });
    assert.deepEqual(m.logits.shape, [3, 10]);
    assert.deepEqual(m.features!.shape, [3, 16]);
    assert.deepEqual(m.auxLogits!.shape, [3, 10]);
    const c = cnn.forward(x.reshape([3, 784]), { features: true });
    assert.deepEqual(c.features!.shape, [3, 12]);
    assert.equal(c.auxLogits, undefined);
    assert.equal(c.maps, undefined);
    // The block outputs: after ReLU and pooling, the last one is what the dense layer reads.
    const { maps, logits } = cnn.forward(x, { maps: true });
    assert.deepEqual(maps!.map((m) => m.shape), [[3, 14, 14, 4], [3, 7, 7, 8]]);
    assert.ok(maps!.every((m) => m.min().dataSync()[0] >= 0));
    const fromMap = tf.relu(
      tf.matMul(maps![1].reshape([3, 7 * 7 * 8]), cnn.params["fc.w"]).add(cnn.params["fc.b"]),
    );
    const head = tf.matMul(fromMap, cnn.params["head.w"]).add(cnn.params["head.b"]);
    assert.ok(tf.max(tf.abs(head.sub(logits))).dataSync()[0] < 1e-5);
    // The blocks before their ReLU: the max-pooled conv outputs, against float64, with
    // maps = relu(preMaps) exactly (pooling and ReLU commute).
    const { preMaps } = cnn.forward(x, { preactivations: true, maps: true });
    assert.deepEqual(preMaps!.map((m) => m.shape), [[3, 14, 14, 4], [3, 7, 7, 8]]);
    assert.ok(preMaps![0].min().dataSync()[0] < 0, "some neurons are inactive");
    preMaps!.forEach((pre, j) => assert.deepEqual(tf.relu(pre).dataSync(), maps![j].dataSync()));
    const conv = conv2dSame64(
      { shape: [3, 28, 28, 1], data: Array.from(x.dataSync()) },
      { shape: [3, 3, 1, 4], data: Array.from(cnn.params["conv0.w"].dataSync()) },
    ).data;
    const bias = cnn.params["conv0.b"].dataSync();
    const at = (b: number, i: number, j: number, c: number) =>
      conv[((b * 28 + i) * 28 + j) * 4 + c] + bias[c];
    const pre0 = preMaps![0].arraySync() as number[][][][];
    for (const [b, i, j, c] of [[0, 0, 0, 0], [1, 5, 9, 3], [2, 13, 13, 2], [2, 7, 0, 1]]) {
      const expected = Math.max(
        at(b, 2 * i, 2 * j, c),
        at(b, 2 * i + 1, 2 * j, c),
        at(b, 2 * i, 2 * j + 1, c),
        at(b, 2 * i + 1, 2 * j + 1, c),
      );
      assert.ok(Math.abs(pre0[b][i][j][c] - expected) < 1e-5, `preMaps[0][${b},${i},${j},${c}]`);
    }
  });
  assert.deepEqual(Object.keys(blockVariables(cnn)), ["conv0.w", "conv0.b", "conv1.w", "conv1.b"]);
  assert.deepEqual(blockVariables(mlp), {});
  assert.throws(
    () => mlp.forward(tf.zeros([1, 784]), { preactivations: true }),
    /MLP: forward\(x, \{ preactivations: true \}\) needs spatial maps/,
  );
  assert.deepEqual(mapSides(cnn), [14, 7]);
  assert.deepEqual(mapSides(createCNN({ channels: [2, 2, 2], seed: 1 })), [14, 7, 3]);
  assert.deepEqual(mapSides(mlp), []);
  assert.throws(() => mlp.forward(tf.zeros([1, 784]), { maps: true }), /an MLP does not have/);
  assert.throws(() => mlp.logits(tf.zeros([2, 27, 28, 1])), /\[B, 28, 28, 1\] or \[B, 784\]/);
  assert.throws(() => cnn.logits(tf.zeros([0, 784])), /empty batch/);
  assert.throws(() => createMLP({ hidden: [], seed: 1 }), /hidden must be a non-empty list/);
});

Deno.test("safetensors round trip and model save/load", async () => {
  await initBackend("cpu", { log: false });
  const bytes = encodeSafetensors(
    {
      b: { shape: [2], data: Float32Array.of(1, -2) },
      a: { shape: [1, 3], data: Float32Array.of(0.5, 1e-8, 3) },
    },
    { note: "x" },
  );
  const header = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(header % 8, 0, "header padded to 8 bytes as the format requires");
  const back = decodeSafetensors(bytes);
  assert.deepEqual(Array.from(back.tensors.a.data), Array.from(Float32Array.of(0.5, 1e-8, 3)));
  assert.deepEqual(back.tensors.b.shape, [2]);
  assert.equal(back.metadata.note, "x");
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 20)), /truncated/);

  const dir = await Deno.makeTempDir();
  for (
    const model of [
      createGPT(tiny),
      createCNN({ channels: [2], featureDim: 4, seed: 5, auxHead: true }),
    ]
  ) {
    const sub = join(dir, model.kind);
    await saveModel(sub, model);
    const loaded = await loadModel(sub);
    assert.equal(loaded.kind, model.kind);
    const a = await readParams(model.params);
    const b = await readParams(loaded.params);
    for (const name of Object.keys(a)) assert.deepEqual(b[name].data, a[name].data, name);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("building a model or training before initBackend names the call to make", async () => {
  const script = `
    import "${new URL("../backend.ts", import.meta.url)}";
    import { createGPT } from "${new URL("./mod.ts", import.meta.url)}";
    import { train } from "${new URL("../train/mod.ts", import.meta.url)}";
    const errors = [];
    try { createGPT({ vocabSize: 8, contextLength: 4, nLayer: 1, nHead: 1, dModel: 4, seed: 1 }); }
    catch (e) { errors.push(e.message); }
    try { await train({ steps: 0 }); } catch (e) { errors.push(e.message); }
    console.log(JSON.stringify(errors));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=js", script],
    env: { XDG_RUNTIME_DIR: "/tmp" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const [model, trainer] = JSON.parse(stdout.trim().split("\n").pop()!);
  assert.match(
    model,
    /^ParamBuilder \(building a model\): no tfjs backend is set yet.*initBackend/,
  );
  assert.match(trainer, /^train: no tfjs backend is set yet.*initBackend/);
});
