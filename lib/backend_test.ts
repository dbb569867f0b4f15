import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "./backend.ts";

function matmulOn(a: number[][], b: number[][]): Float32Array {
  return tf.tidy(() => tf.matMul(tf.tensor2d(a), tf.tensor2d(b)).dataSync() as Float32Array);
}

function reference(a: number[][], b: number[][]): Float64Array {
  const n = a.length, m = b[0].length, k = b.length;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      for (let l = 0; l < k; l++) out[i * m + j] += a[i][l] * b[l][j];
    }
  }
  return out;
}

function randomMatrix(rows: number, cols: number, seed: number): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: rows }, () => Array.from({ length: cols }, next));
}

const a = randomMatrix(33, 47, 1);
const b = randomMatrix(47, 29, 2);
const expected = reference(a, b);

function assertClose(actual: ArrayLike<number>, want: ArrayLike<number>, tol: number) {
  assert.equal(actual.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(actual[i] - want[i]) <= tol, `index ${i}: ${actual[i]} vs ${want[i]}`);
  }
}

Deno.test("cpu and wasm give the same matmul, matching float64", async () => {
  const cpu = await initBackend("cpu", { log: false });
  assert.equal(cpu.name, "cpu");
  const onCpu = matmulOn(a, b);
  const wasm = await initBackend("wasm", { log: false });
  assert.equal(wasm.name, "wasm");
  assert.equal(wasm.simd, true);
  const onWasm = matmulOn(a, b);
  assertClose(onCpu, expected, 1e-4);
  assertClose(onWasm, onCpu, 1e-4);
});

Deno.test({
  name: "webgpu runs a matmul on the software adapter and matches cpu",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const info = await initBackend("webgpu", { log: false });
    assert.equal(info.name, "webgpu");
    assert.equal(info.fallbackAdapter, true, `expected llvmpipe here, got ${info.adapter}`);
    const onGpu = await tf.matMul(tf.tensor2d(a), tf.tensor2d(b)).data();
    assertClose(onGpu, expected, 1e-4);
    await initBackend("cpu", { log: false });
  },
});

Deno.test("auto never picks the software WebGPU adapter", async () => {
  const info = await initBackend("auto", { log: false });
  assert.ok(info.name !== "webgpu" || !info.fallbackAdapter);
});

Deno.test("unknown backend names are a clear error", async () => {
  await assert.rejects(
    () => initBackend("cuda", { log: false }),
    /unknown backend "cuda".*expected one of/,
  );
});

Deno.test("KD_BACKEND is read and validated", async () => {
  Deno.env.set("KD_BACKEND", "tpu");
  try {
    await assert.rejects(() => initBackend(undefined, { log: false }), /from KD_BACKEND/);
    Deno.env.set("KD_BACKEND", "cpu");
    assert.equal((await initBackend(undefined, { log: false })).name, "cpu");
  } finally {
    Deno.env.delete("KD_BACKEND");
  }
});

Deno.test("the tensorflow backend, when absent, says how to get it", async () => {
  await assert.rejects(() => initBackend("tensorflow", { log: false }), /tfjs-node/);
});
