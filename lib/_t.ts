import * as tf from "@tensorflow/tfjs";
import { initBackend } from "./backend.ts";
import { createGPT } from "./models/mod.ts";
import { crossEntropy } from "./losses/mod.ts";
await initBackend(Deno.args[0] ?? "wasm");
const m = createGPT({
  vocabSize: 4096,
  contextLength: 128,
  nLayer: 4,
  nHead: 4,
  dModel: 256,
  seed: 1,
});
const tok = tf.randomUniformInt([16, 128], 0, 4096, "int32");
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() =>
    crossEntropy(m.logits(tok).reshape([-1, 4096]) as tf.Tensor2D, tok.reshape([-1]))
  );
  value.dataSync();
  Object.values(grads).forEach((g) => g.dispose());
  value.dispose();
  console.log("step ms", performance.now() - t0, tf.memory().numTensors);
}
const prof = await tf.profile(() => {
  const { value, grads } = tf.variableGrads(() =>
    crossEntropy(m.logits(tok).reshape([-1, 4096]) as tf.Tensor2D, tok.reshape([-1]))
  );
  value.dataSync();
  Object.values(grads).forEach((g) => g.dispose());
  value.dispose();
});
const agg = new Map<string, number>();
for (const k of prof.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log([...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14));
