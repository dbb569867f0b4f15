import * as tf from "@tensorflow/tfjs";
import { initBackend } from "./backend.ts";
await initBackend("wasm");
const a = tf.randomNormal([2048, 4096]) as tf.Tensor2D,
  b = tf.randomNormal([2048, 256]) as tf.Tensor2D,
  c = tf.randomNormal([4096, 256]) as tf.Tensor2D;
const time = (label: string, f: () => tf.Tensor) => {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) {
    const r = f();
    r.dataSync();
    r.dispose();
  }
  console.log(label, ((performance.now() - t0) / 3).toFixed(1), "ms");
};
time("aT b (flag)", () => tf.matMul(a, b, true, false));
time("aT b (explicit)", () => tf.tidy(() => tf.matMul(a.transpose(), b)));
time("transpose a", () => a.transpose());
time("b cT (flag)", () => tf.matMul(b, c, false, true));
time("b cT (explicit)", () => tf.tidy(() => tf.matMul(b, c.transpose())));
time("a c plain", () => tf.matMul(a, c));
const q = tf.randomNormal([64, 128, 64]) as tf.Tensor3D;
time("q kT batched flag", () => tf.matMul(q, q, false, true));
time("q kT batched explicit", () => tf.tidy(() => tf.matMul(q, q.transpose([0, 2, 1]))));
