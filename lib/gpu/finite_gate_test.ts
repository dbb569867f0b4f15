/**
 * The device-side step gate: `finiteGate` against known answers, and AdamW's gated update (fused
 * on webgpu, composite on cpu): a closed gate leaves values and moments exactly as they were even
 * with NaN gradients; an open one equals the ungated update.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { AdamW } from "../train/adamw.ts";
import { finiteGate } from "./finite_gate.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";

gpuTest("finiteGate: 1 when every value is finite, 0 on NaN or ±Inf, chained", async () => {
  await initBackend("webgpu", { log: false });
  const read = async (t: tf.Tensor) => {
    const [v] = await t.data();
    t.dispose();
    return v;
  };
  const cases: [number[], number][] = [
    [[1, -2, 3e38, -3e38, 0, -0, 1e-45], 1],
    [[1, NaN, 2], 0],
    [[Infinity], 0],
    [[0.5, -Infinity], 0],
  ];
  for (const [values, want] of cases) {
    const x = tf.tensor1d(values);
    assert.equal(await read(finiteGate(x)), want, JSON.stringify(values));
    x.dispose();
  }
  // Chained: a closed gate stays closed; an open one follows the values.
  const good = tf.tensor2d([[1, 2], [3, 4]]), bad = tf.tensor1d([NaN]);
  const closed = finiteGate(bad);
  assert.equal(await read(finiteGate(good, closed)), 0);
  const open = finiteGate(good);
  assert.equal(await read(finiteGate(good, open)), 1);
  assert.equal(await read(finiteGate(bad, open)), 0);
  assert.throws(() => finiteGate(tf.tensor1d([], "float32")), /non-empty float32/);
  assert.throws(() => finiteGate(good, good), /previous must be float32 \[1\]/);
  tf.dispose([good, bad, closed, open]);
  await initBackend("cpu", { log: false });
  assert.throws(() => finiteGate(tf.scalar(1)), /needs the webgpu backend/);
});

/**
 * AdamW on a matrix and a bias: one update, then (if `second` is given) another gated by
 * `second.gate` with finite or NaN/Inf gradients; returns w, b and one moment of each.
 */
async function adamwState(second?: { gate?: number; nanGrad: boolean }) {
  const w = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.25]]));
  const b = tf.variable(tf.tensor1d([0.1, -0.2]));
  const optimizer = new AdamW({ w, b }, { weightDecay: 0.1 });
  const grads = [{ w: tf.tensor2d([[0.1, 0.2], [-0.3, 0.4]]), b: tf.tensor1d([0.5, -0.5]) }];
  optimizer.apply(grads[0], 1e-2);
  const gate = second?.gate === undefined ? undefined : tf.tensor1d([second.gate]);
  if (second) {
    grads.push(
      second.nanGrad
        ? { w: tf.tensor2d([[NaN, 1], [1, 1]]), b: tf.tensor1d([Infinity, 1]) }
        : { w: tf.tensor2d([[0.3, -0.1], [0.2, 0.1]]), b: tf.tensor1d([-0.1, 0.2]) },
    );
    optimizer.apply(grads[1], 1e-2, gate);
  }
  const moments = await optimizer.moments();
  const out = {
    w: Array.from(await w.data()),
    b: Array.from(await b.data()),
    m: Array.from(moments["m.w"].data),
    v: Array.from(moments["v.b"].data),
  };
  optimizer.dispose();
  tf.dispose([w, b, ...grads.flatMap((g) => Object.values(g)), ...(gate ? [gate] : [])]);
  return out;
}

for (const backend of ["webgpu", "cpu"]) {
  gpuTest(`AdamW's gate on ${backend}: closed keeps everything, open equals ungated`, async () => {
    await initBackend(backend, { log: false });
    const ungated = await adamwState({ nanGrad: false });
    const open = await adamwState({ gate: 1, nanGrad: false });
    assert.deepEqual(open, ungated);
    // A closed gate with NaN/Inf gradients: the state after the first update, unchanged.
    const closed = await adamwState({ gate: 0, nanGrad: true });
    const first = await adamwState();
    assert.deepEqual(closed, first);
    assert.notDeepEqual(ungated.w, first.w, "an open second update does change w");
    await initBackend("cpu", { log: false });
  });
}
