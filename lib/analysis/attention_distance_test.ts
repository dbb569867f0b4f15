import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { randomRows } from "../../tests/reference/losses64.ts";
import { at64, attentionMap64 } from "../../tests/reference/representation64.ts";
import { createCNN, createMLP } from "../models/mod.ts";
import { attentionTargets, attentionTransfer } from "../representation/mod.ts";
import { predictAttention } from "../train/mod.ts";
import { attentionMapDistance } from "./mod.ts";

Deno.test("attentionMapDistance: attention transfer's loss over a split, against float64", () => {
  const n = 4, p = 2;
  // Blocks of 3×3 and 2×2 positions; 2 and 3 channels for A, 4 and 1 for B.
  const blocksA = [randomRows(n * 9, 2, 1), randomRows(n * 4, 3, 2)];
  const blocksB = [randomRows(n * 9, 4, 3), randomRows(n * 4, 1, 4)];
  const flat = (blocks: number[][][]) => {
    const maps = blocks.map((rows) => attentionMap64(rows, n, p));
    return Float64Array.from(
      Array.from({ length: n }, (_, i) => maps.flatMap((m) => m[i])).flat(),
    );
  };
  const got = attentionMapDistance(flat(blocksA), flat(blocksB), [9, 4]);
  const expected = at64(blocksB, blocksA, n, p);
  assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
  assert.equal(attentionMapDistance(flat(blocksA), flat(blocksA), [9, 4]), 0);
  assert.throws(() => attentionMapDistance([1, 2], [1, 2], []), /sizes must be a non-empty list/);
  assert.throws(
    () => attentionMapDistance(new Float64Array(25), new Float64Array(25), [9, 4]),
    /a must hold n ≥ 1 rows of Σ sizes = 13 values, got 25/,
  );
  assert.throws(
    () => attentionMapDistance(new Float64Array(26), new Float64Array(13), [9, 4]),
    /same examples, got 26 and 13 values/,
  );
  const nan = new Float64Array(13);
  nan[10] = NaN;
  assert.throws(
    () => attentionMapDistance(nan, new Float64Array(13), [9, 4]),
    /NaN or Inf in block 1/,
  );
});

Deno.test("predictAttention: two CNNs' maps on a split give attentionTransfer's value", async () => {
  await initBackend("cpu", { log: false });
  const count = 7;
  const images = new Float32Array(count * 784).map((_, i) => ((i * 7919) % 97) / 97);
  const split = { images, labels: new Int32Array(count), count };
  const a = createCNN({ channels: [3, 4], featureDim: 5, seed: 1 });
  const b = createCNN({ channels: [2, 6], featureDim: 5, seed: 2 });
  const [mapsA, mapsB] = [await predictAttention(a, split, 2, 3), await predictAttention(b, split)];
  assert.equal(mapsA.length, count * (14 * 14 + 7 * 7));
  const direct = tf.tidy(() => {
    const x = tf.tensor4d(images, [count, 28, 28, 1]);
    return attentionTransfer(
      attentionTargets(b.forward(x, { maps: true }).maps!),
      a.forward(x, { maps: true }).maps!,
    ).dataSync()[0];
  });
  const distance = attentionMapDistance(mapsA, mapsB, [14 * 14, 7 * 7]);
  assert.ok(Math.abs(distance - direct) < 1e-6 * Math.max(1, direct), `${distance} vs ${direct}`);
  const mlp = createMLP({ hidden: [4], seed: 1 });
  await assert.rejects(() => predictAttention(mlp, split), /must be a CNN .*got a mlp/);
  await assert.rejects(() => predictAttention(a, { ...split, count: 0 }), /the split is empty/);
  for (const m of [a, b, mlp]) Object.values(m.params).forEach((v) => v.dispose());
});
