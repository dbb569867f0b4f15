import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { Rng } from "../data/rng.ts";
import { createGPT } from "../models/mod.ts";
import { calibration, languageModelCalibration } from "./mod.ts";
import { dispose, tiny, tokens } from "../../tests/fixtures/tiny_lm.ts";

Deno.test("calibration: ECE by hand, and against a direct sum over bins", () => {
  // 3 bins: [0, 1/3): 0.2 (wrong); [1/3, 2/3): 0.5, 0.6 (one right); [2/3, 1]: 1, 0.9, 0.8 (right).
  const c = calibration([0.2, 0.5, 0.6, 1, 0.9, 0.8], [0, 1, 0, 1, 1, 1], 3);
  const want = (1 / 6) * 0.2 + (2 / 6) * Math.abs(0.5 - 0.55) + (3 / 6) * Math.abs(1 - 0.9);
  assert.ok(Math.abs(c.ece - want) < 1e-12, `${c.ece} vs ${want}`);
  assert.deepEqual(c.bins.map((b) => b.count), [1, 2, 3]);
  assert.ok(Math.abs(c.accuracy - 4 / 6) < 1e-12 && Math.abs(c.confidence - 4 / 6) < 1e-12);
  // Random predictions: ECE equals Σ over bins of |Σ(correct − confidence)| / n.
  const rng = new Rng(5);
  const conf = Array.from({ length: 1000 }, () => rng.next());
  const right = conf.map((p) => (rng.next() < p * p ? 1 : 0)); // over-confident
  const r = calibration(conf, right, 10);
  let direct = 0;
  for (let b = 0; b < 10; b++) {
    let gap = 0;
    conf.forEach((p, i) => {
      if (p >= b / 10 && (b === 9 ? p <= 1 : p < (b + 1) / 10)) gap += right[i] - p;
    });
    direct += Math.abs(gap) / 1000;
  }
  assert.ok(Math.abs(r.ece - direct) < 1e-12);
  assert.ok(r.confidence > r.accuracy);
  assert.equal(calibration([0, 1], [0, 1], 4).ece, 0);
  assert.throws(() => calibration([], []), /no predictions/);
  assert.throws(() => calibration([0.5], [1, 0]), /1 confidences but 2 correct/);
  assert.throws(() => calibration([1.5], [1]), /confidences must be in \[0, 1\], got 1.5/);
  assert.throws(() => calibration([NaN], [1]), /confidences must be in \[0, 1\], got NaN/);
  assert.throws(() => calibration([0.5], [2]), /correct must hold 0 or 1/);
  assert.throws(() => calibration([0.5], [1], 0), /bins must be a positive integer/);
});

Deno.test("languageModelCalibration: top-1 probabilities and hits of the model's next-token predictions", async () => {
  await initBackend("wasm", { log: false });
  const model = createGPT({ ...tiny, seed: 3 });
  const L = tiny.contextLength;
  const c = await languageModelCalibration(model, tokens, {
    contextLength: L,
    maxWindows: 5,
    bins: 4,
  });
  // The same windows (evenly spaced, non-overlapping), scored in float64 from the logits.
  const stride = Math.floor(Math.floor(399 / L) / 5);
  const conf: number[] = [], right: number[] = [];
  for (let w = 0; w < 5; w++) {
    const s = w * stride * L;
    const logits = tf.tidy(() =>
      model.logits(tf.tensor2d(Array.from(tokens.subarray(s, s + L)), [1, L], "int32"))
    );
    const rows = (await logits.array() as number[][][])[0];
    logits.dispose();
    rows.forEach((z, t) => {
      const m = Math.max(...z);
      const sum = z.reduce((a, v) => a + Math.exp(v - m), 0);
      conf.push(1 / sum);
      right.push(z.indexOf(m) === tokens[s + t + 1] ? 1 : 0);
    });
  }
  const want = calibration(conf, right, 4);
  assert.equal(c.count, 5 * L);
  assert.equal(c.accuracy, want.accuracy);
  assert.ok(Math.abs(c.ece - want.ece) < 1e-5, `${c.ece} vs ${want.ece}`);
  dispose(model);
});
