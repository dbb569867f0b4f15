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
