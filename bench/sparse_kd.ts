/**
 * Benchmark of sparse KD (`lib/losses/sparse_kd.ts`, `lib/losses/sparse_targets.ts`): the
 * forward+backward time of `sparseKL` over K stored tokens per position against the dense forward
 * KL (`forwardKL`, the fused kernels) on the same logits, and the host's cost of building targets
 * (`sparsifyLogits`: Top-K and sampling, per 1,000 positions) and of padding a batch of them
 * (`paddedRows`). Also cross-entropy, which runs the same loss with one stored token
 * (`crossEntropyRows`), against autodiff through a log-softmax and a one-hot product (the path
 * it replaced, `−tokenLogProbs`). On wasm (one thread) by default. Writes
 * `bench/results/sparse_kd.json`.
 *
 * Usage: `deno task bench sparse_kd [--shapes 1024x1024,4096x8192] [--ks 12,64] [--repeats 10]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { Rng } from "../lib/data/rng.ts";
import {
  crossEntropyRows,
  forwardKL,
  paddedRows,
  sparseKL,
  sparsifyLogits,
  tokenLogProbs,
} from "../lib/losses/mod.ts";
import { parseArgs } from "../tools/args.ts";
import { writeBenchResult } from "./harness.ts";
import { timeCalls } from "./timing.ts";

/** Median ms of one forward+backward of `loss` in the student logits `s`. */
async function stepMs(loss: (s: tf.Tensor) => tf.Scalar, s: tf.Tensor, repeats: number) {
  const step = async () => {
    const g = tf.grad(loss)(s);
    await g.data();
    g.dispose();
  };
  // Five warm-up calls: V8 optimises the host loops of the sparse path after a few calls.
  return (await timeCalls(step, repeats, 5)).median;
}

if (import.meta.main) {
  const { options } = parseArgs(Deno.args, ["shapes", "ks", "repeats", "backends"]);
  const repeats = Number(options.repeats ?? 10);
  const backend = String(options.backends ?? "wasm");
  const info = await initBackend(backend, { log: true });
  const shapes = String(options.shapes ?? "1024x1024,4096x8192").split(",").map((x) =>
    x.split("x").map(Number)
  );
  const ks = String(options.ks ?? "12,64").split(",").map(Number);
  const losses = [];
  for (const [n, v] of shapes) {
    const t = tf.randomNormal([n, v], 0, 2, "float32", 1);
    const s = tf.randomNormal([n, v], 0, 2, "float32", 2);
    const dense = await stepMs(
      (x) => forwardKL(t, x, { validate: false }) as tf.Scalar,
      s,
      repeats,
    );
    losses.push({ loss: "forwardKL (dense)", n, v, k: v, ms_median: dense });
    console.log(`[${n}, ${v}] dense forward KL: ${dense.toFixed(1)} ms`);
    for (const k of ks) {
      const ids = tf.randomUniform([n, k], 0, v, "int32", 3);
      const probs = tf.fill([n, k], 1 / k);
      const ms = await stepMs(
        (x) => sparseKL(x, { ids, probs }, { validate: false }) as tf.Scalar,
        s,
        repeats,
      );
      losses.push({ loss: "sparseKL", n, v, k, ms_median: ms, ratio_vs_dense: ms / dense });
      console.log(
        `[${n}, ${v}] sparseKL K=${k}: ${ms.toFixed(1)} ms (${(ms / dense).toFixed(2)}×)`,
      );
      tf.dispose([ids, probs]);
    }
    const labels = tf.randomUniform([n], 0, v, "int32", 4) as tf.Tensor1D;
    const ce = await stepMs(
      (x) => tf.mean(crossEntropyRows(x as tf.Tensor2D, labels)) as tf.Scalar,
      s,
      repeats,
    );
    const composite = await stepMs(
      (x) => tf.neg(tf.mean(tokenLogProbs(x, labels))) as tf.Scalar,
      s,
      repeats,
    );
    losses.push({
      loss: "crossEntropyRows",
      n,
      v,
      k: 1,
      ms_median: ce,
      ratio_vs_dense: ce / dense,
    });
    losses.push({
      loss: "cross-entropy by autodiff (log-softmax · one-hot)",
      n,
      v,
      k: 1,
      ms_median: composite,
      ratio_vs_dense: composite / dense,
    });
    console.log(
      `[${n}, ${v}] cross-entropy: ${ce.toFixed(1)} ms; by autodiff ${composite.toFixed(1)} ms`,
    );
    tf.dispose([t, s, labels]);
  }
  // Host side: building targets from teacher logits, and padding a batch of them.
  const host = [];
  for (const v of [1024, 8192]) {
    const rows = 1000;
    const logits = Float32Array.from({ length: rows * v }, (_, i) => Math.sin(i * 12.9898) * 4);
    for (
      const sparsifier of [
        { kind: "top_k" as const, k: 12 },
        { kind: "top_k" as const, k: 50 },
        { kind: "sample" as const, samples: 16 },
        { kind: "sample" as const, samples: 64 },
      ]
    ) {
      const { median } = await timeCalls(
        () => sparsifyLogits(logits, v, sparsifier, (r) => new Rng(r)),
        repeats,
        1,
      );
      host.push({ what: "sparsifyLogits per 1000 positions", v, sparsifier, ms_median: median });
      console.log(`sparsifyLogits V=${v} ${JSON.stringify(sparsifier)}: ${median.toFixed(1)} ms`);
    }
    const sparse = sparsifyLogits(logits, v, { kind: "sample", samples: 64 }, (r) => new Rng(r));
    const rowIds = Int32Array.from({ length: rows }, (_, i) => i);
    const { median } = await timeCalls(() => paddedRows(sparse, rowIds), repeats, 1);
    host.push({ what: "paddedRows of 1000 positions (S = 64)", v, ms_median: median });
  }
  await writeBenchResult("sparse_kd", {
    backend,
    adapter: info.adapter,
    repeats,
    losses,
    host,
  });
}
