/**
 * Benchmark of the PHI-S components: Hadamard construction for common ViT widths, fitting
 * normalisers (streaming moments + symmetric eigendecomposition, float64) at several widths, and
 * the multi-teacher student's training step at the notebook's full-scale configuration (CNN trunk
 * [16, 32] → 128, four adaptor heads of widths 64/128/40/96, batch 64). Writes
 * `bench/results/phis.json`.
 *
 * Usage: `deno task bench phis [--backend wasm]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "../tools/args.ts";
import { backendInfo, initBackend } from "../lib/backend.ts";
import { Rng } from "../lib/data/mod.ts";
import { matrix, symmetricEigen } from "../lib/linalg/mod.ts";
import { createCNN } from "../lib/models/mod.ts";
import { FeatureMoments, fitNormalizer, hadamard, MultiTeacherHeads } from "../lib/phis/mod.ts";
import { constantLr, train } from "../lib/train/mod.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { options } = parseArgs(Deno.args, ["backend"]);
await initBackend((options.backend as string | undefined) ?? "wasm", { log: false });
const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const out = f();
  return [out, (performance.now() - t0) / 1000];
};

const hadamardRows = [768, 1024, 1152, 1280, 1536, 2048].map((width) => ({
  width,
  seconds: time(() => hadamard(width))[1],
}));
for (const r of hadamardRows) console.log(`hadamard(${r.width}): ${r.seconds.toFixed(3)} s`);

const rng = new Rng(1);
const fitRows = [[128, 20000], [768, 4096], [1024, 4096]].map(([width, rows]) => {
  const x = matrix(
    rows,
    width,
    Float64Array.from({ length: rows * width }, () => rng.next() * 2 - 1),
  );
  const [moments, momentsSeconds] = time(() => new FeatureMoments(width).update(x));
  const [, eigenSeconds] = time(() => symmetricEigen(moments.covariance()));
  const [, phisSeconds] = time(() => fitNormalizer("phi-s", moments));
  const [, zcaSeconds] = time(() => fitNormalizer("zca-whiten", moments, { onWarning: () => {} }));
  console.log(
    `width ${width}, ${rows} rows: moments ${momentsSeconds.toFixed(2)} s, eigh ${
      eigenSeconds.toFixed(2)
    } s, ` +
      `fit phi-s ${phisSeconds.toFixed(2)} s, zca ${zcaSeconds.toFixed(2)} s`,
  );
  return {
    width,
    rows,
    momentsSeconds,
    eigenSeconds,
    phisFitSeconds: phisSeconds,
    zcaFitSeconds: zcaSeconds,
  };
});

// One multi-teacher training step at the full scale of notebooks/phis.ipynb.
const widths = { clip: 64, siglip: 128, dino: 40, sam: 96 };
const batch = 64;
const student = createCNN({ channels: [16, 32], featureDim: 128, seed: 1 });
const heads = new MultiTeacherHeads({
  teachers: Object.entries(widths).map(([name, w]) => ({
    name,
    normalizer: fitNormalizer(
      "phi-s",
      Array.from({ length: 4 * w }, () => Array.from({ length: w }, () => rng.next())),
    ),
  })),
  trunkDim: 128,
  hidden: 128,
  seed: 1,
});
const trunk = Object.fromEntries(
  Object.entries(student.params).filter(([k]) => !k.startsWith("head.")),
);
const steps = 40;
const stamps: number[] = [];
await train({
  task: {
    params: { ...trunk, ...heads.params },
    batch: () =>
      tf.tidy(() => ({
        x: tf.randomUniform([batch, 28, 28, 1]),
        ...Object.fromEntries(
          Object.entries(widths).map(([n, w]) => [n, tf.randomNormal([batch, w])]),
        ),
      })),
    loss: (b) => {
      const { x, ...targets } = b;
      return heads.loss(
        student.forward(x!, { features: true }).features!,
        targets as Record<string, tf.Tensor2D>,
      );
    },
    objective: heads,
  },
  steps,
  schedule: constantLr(1e-3),
  clipNorm: 1,
  onRow: () => void stamps.push(performance.now()),
});
const msPerStep = (stamps[steps - 1] - stamps[9]) / (steps - 10);
console.log(`multi-teacher student step (batch ${batch}, 4 heads): ${msPerStep.toFixed(1)} ms`);

const result = {
  benchmark: "phis",
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  backend: backendInfo()?.name,
  cores: navigator.hardwareConcurrency,
  hadamard: hadamardRows,
  fit: fitRows,
  studentStep: { batch, heads: widths, msPerStep, steps: steps - 10 },
};
await Deno.writeTextFile(
  join(here, "results", "phis.json"),
  JSON.stringify(result, null, 2) + "\n",
);
