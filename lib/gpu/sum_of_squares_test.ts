/**
 * The two-level Σx² on the webgpu backend (the software adapter in CI) against float64 sums, on
 * sizes around the chunk, and through the global gradient norm of `lib/train/clip.ts`.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { clipByGlobalNorm } from "../train/clip.ts";
import { fusedSumOfSquares, SUM_OF_SQUARES_CHUNK } from "./sum_of_squares.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 4 * (s / 2 ** 32) - 2;
  });
}

gpuTest("fused Σx² matches float64 sums on sizes around the chunk", async () => {
  await initBackend("webgpu", { log: false });
  const c = SUM_OF_SQUARES_CHUNK;
  for (const n of [1, 255, c - 1, c, c + 1, 3 * c + 17, 1_000_003]) {
    const xs = values(n, n);
    const want = xs.reduce((a, v) => a + v * v, 0);
    const x = tf.tensor2d(xs, [1, n]);
    const before = tf.memory().numTensors;
    const s = fusedSumOfSquares(x);
    assert.equal(tf.memory().numTensors, before + 1, "only the result is left");
    const got = (await s.data())[0];
    assert.ok(Math.abs(got - want) < 1e-5 * want, `n=${n}: ${got} vs ${want}`);
    tf.dispose([x, s]);
  }
  assert.equal((await fusedSumOfSquares(tf.zeros([0])).data())[0], 0);
  assert.throws(() => fusedSumOfSquares(tf.tensor1d([1], "int32")), /x must be float32/);
  await initBackend("cpu", { log: false });
  assert.throws(() => fusedSumOfSquares(tf.tensor1d([1])), /needs the webgpu backend/);
});

gpuTest("the global gradient norm and clipping agree on webgpu and cpu", async () => {
  const run = async (backend: string) => {
    await initBackend(backend, { log: false });
    const grads = {
      w: tf.tensor2d(values(300 * 70, 1), [300, 70]),
      b: tf.tensor1d(values(70, 2)),
      e: tf.tensor3d(values(2 * 3 * 9000, 3), [2, 3, 9000]),
    };
    const out = [];
    for (const maxNorm of [undefined, 5]) {
      const { grads: clipped, norm } = clipByGlobalNorm(grads, maxNorm);
      out.push((await norm.data())[0], ...(await clipped.b.data()));
      tf.dispose([norm, ...Object.values(clipped)]);
    }
    tf.dispose(Object.values(grads));
    return out;
  };
  const cpu = await run("cpu"), gpu = await run("webgpu");
  gpu.forEach((v, i) => assert.ok(Math.abs(v - cpu[i]) < 1e-5 * Math.max(1, Math.abs(cpu[i]))));
  await initBackend("cpu", { log: false });
});
