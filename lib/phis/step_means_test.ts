import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { StepMeans } from "./step_means.ts";

Deno.test("StepMeans: per-key means of the step's values, detached, owned by the caller", () => {
  const before = tf.memory().numTensors;
  const means = new StepMeans();
  const x = tf.scalar(3);
  // Recorded inside a gradient and a tidy: the copy is detached and survives both.
  const g = tf.grad((v: tf.Tensor) => {
    const loss = tf.mul(v, v) as tf.Scalar;
    means.record("a", loss);
    return loss;
  })(x);
  assert.equal(g.dataSync()[0], 6);
  tf.tidy(() => means.record("a", tf.scalar(1)));
  const b = tf.scalar(-2);
  means.record("b", b);
  const taken = means.take();
  assert.deepEqual(Object.keys(taken).sort(), ["a", "b"]);
  assert.equal(taken.a.dataSync()[0], 5); // (9 + 1) / 2
  assert.equal(taken.b.dataSync()[0], -2);
  assert.deepEqual(means.take(), {}, "take forgets the step's values");
  tf.dispose([x, g, b, ...Object.values(taken)]);
  tf.tidy(() => means.record("c", tf.scalar(4)));
  means.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
});
