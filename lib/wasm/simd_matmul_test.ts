/**
 * The wasm SIMD batched matmul against a float64 reference: every column path (blocks of 16, of
 * 4, single columns), transposes, batch broadcasting, rank-4 operands, gradients, memory growth;
 * and the module writer's LEB128 encodings.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { matmul64 } from "../../tests/reference/models64.ts";
import { swapLast } from "../models/ops.ts";
import { setSimdMatMul, SIMD_MATMUL_WASM, simdMatMulCount } from "./simd_matmul.ts";
import { sleb, uleb } from "./wasm_module.ts";

/** Row-major float64 product of batched operands given as flat arrays (batch 1 broadcasts). */
function batchedProduct64(
  a: Float32Array,
  b: Float32Array,
  shape: { batchA: number; batchB: number; m: number; k: number; n: number },
): number[] {
  const { batchA, batchB, m, k, n } = shape;
  const out: number[] = [];
  for (let i = 0; i < Math.max(batchA, batchB); i++) {
    const ai = Array.from(
      a.subarray((batchA === 1 ? 0 : i) * m * k, ((batchA === 1 ? 0 : i) + 1) * m * k),
    );
    const bi = Array.from(
      b.subarray((batchB === 1 ? 0 : i) * k * n, ((batchB === 1 ? 0 : i) + 1) * k * n),
    );
    out.push(...matmul64(ai, bi, m, k, n));
  }
  return out;
}

const maxRelative = (got: ArrayLike<number>, want: number[]) => {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  }
  return worst;
};

Deno.test("LEB128 encodings and a valid module", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.throws(() => uleb(-1), /integer ≥ 0/);
  assert.throws(() => sleb(2 ** 31), /32-bit/);
  assert.ok(WebAssembly.validate(SIMD_MATMUL_WASM as BufferSource));
});

Deno.test("SIMD batched matmul equals the float64 product (shapes, transposes, broadcasts)", async () => {
  await initBackend("wasm", { log: false });
  const cases = [
    { batchA: 3, batchB: 3, m: 1, k: 1, n: 1 },
    { batchA: 2, batchB: 2, m: 5, k: 7, n: 3 }, // single columns only
    { batchA: 4, batchB: 4, m: 17, k: 9, n: 37 }, // 16 + 16 + 4 + 1 columns
    { batchA: 64, batchB: 64, m: 64, k: 32, n: 64 }, // attention scores
    { batchA: 1, batchB: 3, m: 6, k: 20, n: 20 }, // a broadcasts
    { batchA: 5, batchB: 1, m: 8, k: 3, n: 16 }, // b broadcasts
  ];
  const before = simdMatMulCount();
  let seed = 10;
  for (const c of cases) {
    const a = tf.randomNormal([c.batchA, c.m, c.k], 0, 1, "float32", seed++);
    const b = tf.randomNormal([c.batchB, c.k, c.n], 0, 1, "float32", seed++);
    const want = batchedProduct64(a.dataSync() as Float32Array, b.dataSync() as Float32Array, c);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const got = tf.tidy(() =>
        tf.matMul(ta ? swapLast(a) : a, tb ? swapLast(b) : b, ta, tb).dataSync()
      );
      const err = maxRelative(got, want);
      assert.ok(err < 1e-5, `${JSON.stringify(c)} transposeA=${ta} transposeB=${tb}: ${err}`);
    }
    tf.dispose([a, b]);
  }
  assert.ok(simdMatMulCount() - before >= 20, "the SIMD kernel computed the batched products");

  // Rank 4, as attention would pass [B, H, T, d].
  const a4 = tf.randomNormal([2, 3, 4, 5], 0, 1, "float32", 1);
  const b4 = tf.randomNormal([2, 3, 5, 18], 0, 1, "float32", 2);
  const got4 = tf.matMul(a4, b4);
  assert.deepEqual(got4.shape, [2, 3, 4, 18]);
  const want4 = batchedProduct64(a4.dataSync() as Float32Array, b4.dataSync() as Float32Array, {
    batchA: 6,
    batchB: 6,
    m: 4,
    k: 5,
    n: 18,
  });
  assert.ok(maxRelative(got4.dataSync(), want4) < 1e-5);
  tf.dispose([a4, b4, got4]);
});

Deno.test("SIMD batched matmul: gradients, no leaks, memory growth, the off switch", async () => {
  await initBackend("wasm", { log: false });
  const [bt, m, k, n] = [4, 6, 5, 20];
  const a = tf.randomNormal([bt, m, k], 0, 1, "float32", 3);
  const b = tf.randomNormal([bt, k, n], 0, 1, "float32", 4);
  const r = tf.randomNormal([bt, m, n], 0, 1, "float32", 5);
  const tensors = tf.memory().numTensors;
  const [da, db] = tf.grads((x, y) => tf.matMul(x, y).mul(r).sum())([a, b]);
  // dA = R·Bᵀ and dB = Aᵀ·R, per batch, in float64.
  const av = a.dataSync(), bv = b.dataSync(), rv = r.dataSync();
  const wantA: number[] = [], wantB: number[] = [];
  for (let i = 0; i < bt; i++) {
    const ai = Array.from(av.subarray(i * m * k, (i + 1) * m * k));
    const bi = Array.from(bv.subarray(i * k * n, (i + 1) * k * n));
    const ri = Array.from(rv.subarray(i * m * n, (i + 1) * m * n));
    const biT = Array.from({ length: n * k }, (_, x) => bi[(x % k) * n + Math.floor(x / k)]);
    const aiT = Array.from({ length: k * m }, (_, x) => ai[(x % m) * k + Math.floor(x / m)]);
    wantA.push(...matmul64(ri, biT, m, n, k));
    wantB.push(...matmul64(aiT, ri, k, m, n));
  }
  assert.ok(maxRelative(da.dataSync(), wantA) < 1e-5, "dA");
  assert.ok(maxRelative(db.dataSync(), wantB) < 1e-5, "dB");
  tf.dispose([da, db]);
  assert.equal(tf.memory().numTensors, tensors, "no tensor left behind");

  // The kernel reads tfjs's memory object, so it stays right after the heap grows.
  const big = tf.zeros([64 * 1024 * 1024 / 4]);
  const want = tf.tidy(() => {
    setSimdMatMul(false);
    const y = tf.matMul(a, b).dataSync();
    setSimdMatMul(true);
    return y;
  });
  const count = simdMatMulCount();
  const got = tf.tidy(() => tf.matMul(a, b).dataSync());
  assert.equal(simdMatMulCount(), count + 1);
  assert.ok(maxRelative(got, Array.from(want)) < 1e-6);
  tf.dispose([a, b, r, big]);
});
