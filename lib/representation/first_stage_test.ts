import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { trainFirstStage } from "./mod.ts";

Deno.test("first stage: AdamW on the stage's loss, the probe read before the first and last updates", async () => {
  await initBackend("cpu", { log: false });
  const w = tf.variable(tf.tensor1d([0]), true, "first_stage_w");
  const stage = {
    fn: "test",
    lossName: "the loss",
    params: { w },
    loss: () => tf.sum(tf.square(tf.sub(w, 3))) as tf.Scalar,
    probe: () => tf.sum(w) as tf.Scalar,
  };
  const tensors = tf.memory().numTensors;
  // One step: the first batch is the last, read once before its update (w = 0, loss 9).
  assert.deepEqual(await trainFirstStage(stage, { steps: 1, learningRate: 0.1 }), {
    initialLoss: 9,
    finalLoss: 9,
    initialProbe: 0,
    finalProbe: 0,
  });
  // Adam's first step moves w by the learning rate, whatever the gradient's scale.
  assert.ok(Math.abs(w.dataSync()[0] - 0.1) < 1e-6);
  tf.tidy(() => w.assign(tf.tensor1d([0])));
  const fit = await trainFirstStage(stage, { steps: 200, learningRate: 0.1, weightDecay: 0 });
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(fit.initialProbe, 0);
  assert.ok(fit.finalProbe > 2.5 && fit.finalLoss < 0.3, JSON.stringify(fit));
  // Without a probe the probes are NaN.
  const plain = await trainFirstStage({ ...stage, probe: undefined }, { steps: 2 });
  assert.ok(Number.isNaN(plain.initialProbe) && Number.isNaN(plain.finalProbe));
  w.dispose();
});

Deno.test("first stage: named errors", async () => {
  await initBackend("cpu", { log: false });
  const w = tf.variable(tf.tensor1d([1]));
  const stage = {
    fn: "Stage.train",
    lossName: "the stage's loss",
    params: { w },
    loss: (step: number) => tf.sum(tf.mul(w, step === 2 ? NaN : 1)) as tf.Scalar,
  };
  await assert.rejects(
    () => trainFirstStage(stage, { steps: 1.5 }),
    /Stage.train: steps must be a positive integer, got 1.5/,
  );
  await assert.rejects(
    () => trainFirstStage(stage, { learningRate: -1 }),
    /Stage.train: learningRate must be > 0, got -1/,
  );
  // A non-finite loss is caught where it is read: at the last step.
  const tensors = tf.memory().numTensors;
  await assert.rejects(
    () => trainFirstStage(stage, { steps: 3 }),
    /Stage.train: the stage's loss is NaN at step 2/,
  );
  assert.equal(tf.memory().numTensors, tensors);
  w.dispose();
});
