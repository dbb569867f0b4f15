/**
 * Benchmark of kdlab's WebAssembly SIMD batched matmul (`lib/wasm/simd_matmul.ts`) against
 * tfjs-backend-wasm's own BatchMatMul on the same process and inputs (`setSimdMatMul(false)`):
 * the products of a GPT's attention at the TAID notebook's sizes (forward and the four gradient
 * products), with and without transpose flags, and 2D products with a transpose flag (which the
 * SIMD path transposes explicitly and hands to XNNPACK). Median ms of a product read back, and
 * GFLOP/s. Writes `bench/results/wasm_matmul.json`.
 *
 * Usage: `deno task bench wasm_matmul [--repeats 20]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "../tools/args.ts";
import { initBackend } from "../lib/backend.ts";
import { setSimdMatMul, simdMatMulCount } from "../lib/wasm/mod.ts";
import { medianMs } from "./timing.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { options } = parseArgs(Deno.args, ["repeats"]);
const repeats = Number(options.repeats ?? 20);
await initBackend("wasm", { log: false });

/** Median ms of one product, read back. */
const productMs = (f: () => tf.Tensor) =>
  medianMs(() => {
    const y = f();
    y.dataSync();
    y.dispose();
  }, repeats);

interface Case {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

// Attention at the TAID notebook's full scale: batch 16 × 4 heads, T = 64, head width 32.
const [bh, t, d] = [64, 64, 32];
const cases: Case[] = [
  { name: "scores Q·Kᵀ (flag)", a: [bh, t, d], b: [bh, t, d], transposeA: false, transposeB: true },
  {
    name: "scores Q·Kᵀ (explicit)",
    a: [bh, t, d],
    b: [bh, d, t],
    transposeA: false,
    transposeB: false,
  },
  { name: "mix P·V", a: [bh, t, t], b: [bh, t, d], transposeA: false, transposeB: false },
  { name: "grad Pᵀ·dY (flag)", a: [bh, t, t], b: [bh, t, d], transposeA: true, transposeB: false },
  { name: "2D xᵀ·dy (flag)", a: [1024, 512], b: [1024, 128], transposeA: true, transposeB: false },
  { name: "2D dy·wᵀ (flag)", a: [1024, 128], b: [512, 128], transposeA: false, transposeB: true },
];

const rows = [];
for (const c of cases) {
  const a = tf.randomNormal(c.a, 0, 1, "float32", 1);
  const b = tf.randomNormal(c.b, 0, 1, "float32", 2);
  const product = () => tf.matMul(a, b, c.transposeA, c.transposeB);
  const shape = product().shape;
  const k = c.a[c.a.length - (c.transposeA ? 2 : 1)];
  const flop = 2 * shape.reduce((p, x) => p * x, 1) * k;
  setSimdMatMul(false);
  const tfjs = await productMs(product);
  setSimdMatMul(true);
  const before = simdMatMulCount();
  const ours = await productMs(product);
  const row = {
    case: c.name,
    a: c.a,
    b: c.b,
    transposeA: c.transposeA,
    transposeB: c.transposeB,
    simd_kernel_used: simdMatMulCount() > before,
    ms_tfjs: tfjs,
    ms_kdlab: ours,
    gflops_tfjs: flop / tfjs / 1e6,
    gflops_kdlab: flop / ours / 1e6,
    speedup: tfjs / ours,
  };
  rows.push(row);
  console.log(
    `${c.name.padEnd(24)} tfjs ${tfjs.toFixed(2)} ms (${row.gflops_tfjs.toFixed(1)} GFLOP/s), ` +
      `kdlab ${ours.toFixed(2)} ms (${row.gflops_kdlab.toFixed(1)} GFLOP/s), ×${
        row.speedup.toFixed(1)
      }`,
  );
  tf.dispose([a, b]);
}

const result = {
  benchmark: "wasm_matmul",
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  tfjs: tf.version.tfjs,
  cores: navigator.hardwareConcurrency,
  threads: 1,
  repeats,
  rows,
};
await Deno.writeTextFile(
  join(here, "results", "wasm_matmul.json"),
  JSON.stringify(result, null, 2) + "\n",
);
console.log(`wrote ${join(here, "results", "wasm_matmul.json")}`);
