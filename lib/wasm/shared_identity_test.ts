/** The buffer-sharing Identity on wasm: values, ownership and reference counts. */
import * as tf from "@tensorflow/tfjs";
import nodeAssert from "node:assert/strict";
import { initBackend } from "../backend.ts";

interface DataMap {
  dataIdMap: { has(dataId: object): boolean; get(dataId: object): { refCount: number } };
}

Deno.test("wasm Identity shares the buffer, counts references, and frees it with the last tensor", async () => {
  await initBackend("wasm", { log: false });
  const backend = tf.backend() as unknown as DataMap;
  const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const dataId = x.dataId as object;
  const y = tf.clone(x);
  nodeAssert.equal(y.dataId, x.dataId, "no copy");
  nodeAssert.equal(backend.dataIdMap.get(dataId).refCount, 2);
  x.dispose();
  nodeAssert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6], "the clone outlives x");
  // A variable made from y, then assigned: y keeps its values (assign swaps buffers).
  const v = tf.variable(y);
  v.assign(tf.zeros([2, 3]));
  nodeAssert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6]);
  y.dispose();
  nodeAssert.ok(!backend.dataIdMap.has(dataId), "freed with the last reference");
  v.dispose();
  // customGrad's saved inputs (clones) leave nothing behind after the gradient.
  const before = tf.memory().numTensors;
  const square = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([a]);
    return {
      value: tf.square(a),
      gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => tf.mul(dy, tf.mul(s, 2)),
    };
  });
  const a = tf.tensor1d([1, -2, 3]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(square(t) as tf.Tensor))(a);
  nodeAssert.deepEqual(Array.from(g.dataSync()), [2, -4, 6]);
  tf.dispose([a, g]);
  nodeAssert.equal(tf.memory().numTensors, before);
});
