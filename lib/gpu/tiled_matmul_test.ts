/**
 * The tiled webgpu matmul on the software adapter against a float64 reference: ranks 2 and 3,
 * every transpose combination, batch broadcasting, sizes that are not multiples of the tile, and
 * the gradients of a product (which run through the same kernel with transpose flags).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import {
  DEFAULT_TILING,
  MIN_WORKGROUPS,
  setTiledMatMul,
  SPLIT_K_MIN_DEPTH,
  SPLIT_K_TARGET_WORKGROUPS,
  splitKCount,
  splitKFor,
  tiledMatMulCount,
  workgroupStorageBytes,
} from "./tiled_matmul.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** float64 C[b] = op(A[b])·op(B[b]); batch b of a side with one matrix is that matrix. */
function reference(
  a: Float32Array,
  b: Float32Array,
  [ba, bb, m, n, k]: number[],
  ta: boolean,
  tb: boolean,
): Float64Array {
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const oa = ba === 1 ? 0 : z * m * k, ob = bb === 1 ? 0 : z * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          s += a[oa + (ta ? p * m + i : i * k + p)] * b[ob + (tb ? j * k + p : p * n + j)];
        }
        out[z * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

const CASES: { ba: number; bb: number; m: number; n: number; k: number; rank: 2 | 3 }[] = [
  { ba: 1, bb: 1, m: 130, n: 70, k: 45, rank: 2 },
  { ba: 1, bb: 1, m: 64, n: 256, k: 17, rank: 2 },
  { ba: 3, bb: 3, m: 65, n: 33, k: 100, rank: 3 },
  { ba: 4, bb: 1, m: 40, n: 129, k: 31, rank: 3 },
  { ba: 1, bb: 2, m: 200, n: 60, k: 8, rank: 3 },
];

gpuTest(
  "the tiled matmul matches a float64 reference (ranks, transposes, broadcasts, edges)",
  async () => {
    await initBackend("webgpu", { log: false });
    try {
      for (
        const tile of [
          { tm: 4, tn: 4, bk: 16 },
          { tm: 8, tn: 8, bk: 8 },
          { tm: 2, tn: 4, bk: 32 },
          { tm: 8, tn: 8, bk: 8, vec4: true },
          { tm: 4, tn: 8, bk: 16, vec4: true },
          { tm: 8, tn: 4, bk: 4, vec4: true },
          { tm: 8, tn: 8, bk: 8, unroll: true },
          { tm: 4, tn: 2, bk: 32, unroll: true },
          { tm: 8, tn: 8, bk: 16, vec4: true, unroll: true },
          { tm: 4, tn: 8, bk: 8, vec4: true, unroll: true },
          { tm: 4, tn: 4, bk: 16, prefetch: true },
          { tm: 2, tn: 4, bk: 32, unroll: true, prefetch: true },
          { tm: 8, tn: 8, bk: 8, vec4: true, unroll: true, prefetch: true },
        ]
      ) {
        setTiledMatMul(true, tile, 1);
        for (const c of CASES) {
          for (const ta of [false, true]) {
            for (const tb of [false, true]) {
              const av = values(c.ba * c.m * c.k, 1), bv = values(c.bb * c.k * c.n, 2);
              const aShape = ta ? [c.k, c.m] : [c.m, c.k], bShape = tb ? [c.n, c.k] : [c.k, c.n];
              const a = tf.tensor(av, c.rank === 2 ? aShape : [c.ba, ...aShape]);
              const b = tf.tensor(bv, c.rank === 2 ? bShape : [c.bb, ...bShape]);
              const before = tiledMatMulCount();
              const product = tf.matMul(a, b, ta, tb);
              assert.equal(tiledMatMulCount(), before + 1, "the tiled kernel ran");
              const got = await product.data();
              const want = reference(av, bv, [c.ba, c.bb, c.m, c.n, c.k], ta, tb);
              const label = `${JSON.stringify(tile)} ${JSON.stringify(c)} ta=${ta} tb=${tb}`;
              assert.equal(got.length, want.length, label);
              let err = 0;
              for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
              assert.ok(err < 1e-5 * Math.sqrt(c.k), `${label}: max error ${err}`);
              tf.dispose([a, b, product]);
            }
          }
        }
      }
    } finally {
      setTiledMatMul(true, DEFAULT_TILING, MIN_WORKGROUPS); // also when a case fails
    }
    await initBackend("cpu", { log: false });
  },
);

Deno.test("split-K: automatic choice and range depths", () => {
  // Enough tiles: never split automatically.
  assert.deepEqual(splitKFor(SPLIT_K_TARGET_WORKGROUPS, 1 << 16, 8), { splits: 1, depth: 1 << 16 });
  // A linear head's dW at V = 8192 (512×8192 outputs = 256 tiles of 128², K = 4096 tokens): 2.
  assert.deepEqual(splitKFor(256, 4096, 8), { splits: 2, depth: 2048 });
  // dX of a V = 32000 head (4096×512 = 128 tiles, K = 32000): 4 ranges of 8000.
  assert.deepEqual(splitKFor(128, 32000, 8), { splits: 4, depth: 8000 });
  // One tile, long K: capped at 16 ranges; short K: ranges stay SPLIT_K_MIN_DEPTH deep.
  assert.equal(splitKFor(1, 1 << 20, 8).splits, 16);
  assert.equal(splitKFor(1, 4 * SPLIT_K_MIN_DEPTH, 8).splits, 4);
  assert.equal(splitKFor(4, 2 * SPLIT_K_MIN_DEPTH - 1, 8).splits, 1);
  // Fixed counts: depth is a whole number of K slices, no range is empty, one slice at least.
  assert.deepEqual(splitKFor(1000, 100, 8, 3), { splits: 3, depth: 40 });
  assert.deepEqual(splitKFor(1000, 17, 8, 5), { splits: 3, depth: 8 });
  assert.deepEqual(splitKFor(1000, 100, 8, 1), { splits: 1, depth: 104 });
  // The z dimension (batch·splits) stays within WebGPU's 65535.
  assert.equal(splitKFor(40000, 4096, 8, 4, 40000).splits, 1);
  for (const [tiles, k, bk, fixed] of [[7, 1234, 16, 0], [1, 99, 4, 7], [3, 5000, 32, 0]]) {
    const { splits, depth } = splitKFor(tiles, k, bk, fixed);
    assert.equal(depth % bk, 0);
    assert.ok(splits * depth >= k && (splits - 1) * depth < k, `${tiles} ${k} ${bk} ${fixed}`);
  }
});

gpuTest("split-K products match a float64 reference (fixed and automatic splits)", async () => {
  await initBackend("webgpu", { log: false });
  try {
    const cases = [
      // [batchA, batchB, m, n, k, splitK]: K not a multiple of BK, ranges of unequal length.
      [1, 1, 70, 90, 301, 3],
      [3, 3, 33, 65, 130, 2],
      [2, 1, 40, 20, 77, 5],
      [1, 1, 128, 128, 4 * SPLIT_K_MIN_DEPTH + 3, 0], // automatic: one tile, long K → 4 ranges
    ];
    for (
      const tile of [
        { tm: 8, tn: 8, bk: 8, vec4: true, unroll: true },
        { tm: 4, tn: 4, bk: 16 },
        { tm: 8, tn: 8, bk: 8, vec4: true, unroll: true, prefetch: true },
      ]
    ) {
      for (const [ba, bb, m, n, k, splitK] of cases) {
        setTiledMatMul(true, { ...tile, splitK }, 1);
        for (const [ta, tb] of [[false, false], [true, false], [false, true]]) {
          const av = values(ba * m * k, 8), bv = values(bb * k * n, 9);
          const aShape = ta ? [k, m] : [m, k], bShape = tb ? [n, k] : [k, n];
          const a = tf.tensor(av, ba === 1 && bb === 1 ? aShape : [ba, ...aShape]);
          const b = tf.tensor(bv, ba === 1 && bb === 1 ? bShape : [bb, ...bShape]);
          const [products, splitProducts] = [tiledMatMulCount(), splitKCount()];
          const numTensors = tf.memory().numTensors;
          const product = tf.matMul(a, b, ta, tb);
          assert.equal(tf.memory().numTensors, numTensors + 1, "the partials were disposed");
          assert.equal(tiledMatMulCount(), products + 1);
          assert.equal(splitKCount(), splitProducts + 1, `split ${k} by ${splitK}`);
          const got = await product.data();
          const want = reference(av, bv, [ba, bb, m, n, k], ta, tb);
          let err = 0;
          for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
          assert.ok(
            err < 1e-5 * Math.sqrt(k),
            `${JSON.stringify({ tile, ba, bb, m, n, k, splitK, ta, tb })}: ${err}`,
          );
          tf.dispose([a, b, product]);
        }
      }
    }
  } finally {
    setTiledMatMul(true, DEFAULT_TILING, MIN_WORKGROUPS);
  }
  await initBackend("cpu", { log: false });
});

gpuTest("matmul gradients through the tiled kernel equal cpu's", async () => {
  const run = async () => {
    const a = tf.tensor2d(values(96 * 80, 3), [96, 80]);
    const b = tf.tensor2d(values(80 * 72, 4), [80, 72]);
    const w = tf.tensor2d(values(96 * 72, 5), [96, 72]);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), w)))([
      a,
      b,
    ]);
    const out = [await ga.data(), await gb.data()];
    tf.dispose([a, b, w, ga, gb]);
    return out;
  };
  await initBackend("cpu", { log: false });
  const cpu = await run();
  await initBackend("webgpu", { log: false });
  setTiledMatMul(true, undefined, 1);
  const before = tiledMatMulCount();
  const gpu = await run();
  assert.equal(tiledMatMulCount() - before, 3, "forward and both gradients ran tiled");
  setTiledMatMul(true, undefined, MIN_WORKGROUPS);
  for (let g = 0; g < 2; g++) {
    gpu[g].forEach((v, i) => assert.ok(Math.abs(v - cpu[g][i]) < 1e-4, `grad ${g}[${i}]`));
  }
  assert.throws(() => setTiledMatMul(true, { tm: 3, tn: 4, bk: 16 }), /not supported/);
  assert.throws(() => setTiledMatMul(true, { tm: 2, tn: 4, bk: 32, vec4: true }), /for vec4/);
  await initBackend("cpu", { log: false });
});

gpuTest(
  "a tiling larger than the device's workgroup memory falls back to tfjs's kernel",
  async () => {
    await initBackend("webgpu", { log: false });
    const big = { tm: 8, tn: 8, bk: 32, vec4: true }; // 33,280 bytes with A's padding
    assert.equal(workgroupStorageBytes(big, false, false), 4 * 32 * (128 + 4 + 128));
    const limit = (tf.backend() as unknown as { device: GPUDevice }).device.limits
      .maxComputeWorkgroupStorageSize;
    const av = values(130 * 40, 6), bv = values(40 * 140, 7);
    const a = tf.tensor2d(av, [130, 40]), b = tf.tensor2d(bv, [40, 140]);
    try {
      setTiledMatMul(true, big, 1);
      const before = tiledMatMulCount();
      const product = tf.matMul(a, b);
      const tiled = tiledMatMulCount() - before;
      assert.equal(tiled, workgroupStorageBytes(big, false, false) <= limit ? 1 : 0);
      const want = reference(av, bv, [1, 1, 130, 140, 40], false, false);
      const got = await product.data();
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `C[${i}]`));
      product.dispose();
    } finally {
      setTiledMatMul(true, DEFAULT_TILING, MIN_WORKGROUPS);
      tf.dispose([a, b]);
    }
    await initBackend("cpu", { log: false });
  },
);
