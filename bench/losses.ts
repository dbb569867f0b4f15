/**
 * Benchmark of the token-level objectives: forward+backward time and peak tensor bytes of FKL,
 * GJSD and TAID on three paths: the fused kernels (`lib/wasm/simd_divergence.ts` on wasm, the
 * WGSL ones on webgpu), the chunked custom-gradient composite (fused kernels off), and tfjs's
 * naive composite (autodiff), at [4096, 8192] and [4096, 32000] on wasm (and webgpu when a real
 * GPU adapter is present).
 * Writes `bench/results/losses.json`.
 *
 * Usage: `deno task bench losses [--shapes 4096x8192,4096x32000] [--backends wasm,webgpu] [--repeats 3]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../lib/backend.ts";
import { setFusedKernels } from "../lib/gpu/env.ts";
import {
  forwardKL,
  forwardKLKernel,
  generalizedJSD,
  generalizedJSDKernel,
} from "../lib/losses/mod.ts";
import { pointwiseLossNaive } from "../lib/losses/pointwise.ts";
import { taidLoss, taidLossNaive } from "../lib/taid/mod.ts";
import { parseArgs } from "../tools/args.ts";
import { benchBackends } from "./harness.ts";
import { timeCalls } from "./timing.ts";

type Loss = (t: tf.Tensor, s: tf.Tensor) => tf.Scalar;
const objectives: Record<string, { chunked: Loss; naive: Loss }> = {
  fkl: {
    chunked: (t, s) => forwardKL(t, s, { validate: false }),
    naive: (t, s) =>
      pointwiseLossNaive("fkl", forwardKLKernel, t, s, { validate: false }) as tf.Scalar,
  },
  gjsd: {
    chunked: (t, s) => generalizedJSD(t, s, { validate: false }),
    naive: (t, s) =>
      pointwiseLossNaive("gjsd", generalizedJSDKernel(0.5), t, s, { validate: false }) as tf.Scalar,
  },
  taid: {
    chunked: (t, s) => taidLoss(t, s, 0.5, { validate: false }),
    naive: (t, s) => taidLossNaive(t, s, 0.5, { validate: false }),
  },
};

const PATHS = ["fused", "chunked", "naive"] as const;
type Path = (typeof PATHS)[number];

interface Row {
  backend: string;
  adapter: string;
  objective: string;
  path: Path;
  n: number;
  v: number;
  ms_median?: number;
  ms_all?: number[];
  peak_bytes?: number;
  input_bytes: number;
  error?: string;
}

async function step(loss: Loss, t: tf.Tensor, s: tf.Tensor): Promise<void> {
  const g = tf.grad((x: tf.Tensor) => loss(t, x))(s);
  await g.data();
  g.dispose();
}

async function measure(loss: Loss, n: number, v: number, repeats: number) {
  const t = tf.randomNormal([n, v], 0, 2, "float32", 1);
  const s = tf.randomNormal([n, v], 0, 2, "float32", 2);
  try {
    const profile = await tf.profile(() => step(loss, t, s)); // also the warm-up call
    const { median, all } = await timeCalls(() => step(loss, t, s), repeats, 0);
    return { ms_median: median, ms_all: all, peak_bytes: profile.peakBytes };
  } finally {
    tf.dispose([t, s]);
  }
}

/** Runs one case in this process and prints its row as JSON (the parent collects it). */
async function runCase(spec: string, repeats: number): Promise<void> {
  const [backend, objective, path, n, v] = spec.split(":");
  const info = await initBackend(backend, { log: false });
  setFusedKernels(path === "fused");
  const row: Row = {
    backend,
    adapter: info.adapter,
    objective,
    path: path as Path,
    n: Number(n),
    v: Number(v),
    input_bytes: 2 * Number(n) * Number(v) * 4,
  };
  Object.assign(
    row,
    await measure(
      objectives[objective][path === "naive" ? "naive" : "chunked"],
      row.n,
      row.v,
      repeats,
    ),
  );
  console.log(`ROW ${JSON.stringify(row)}`);
}

/**
 * Runs every case in its own process: an out-of-memory abort kills the wasm instance, and every
 * later case in the same process would fail with it.
 */
async function runIsolated(
  spec: string,
  repeats: number,
  base: Omit<Row, "input_bytes">,
): Promise<Row> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fileURLToPath(import.meta.url),
      "--case",
      spec,
      "--repeats",
      String(repeats),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("ROW "));
  if (line) return JSON.parse(line.slice(4));
  const err = new TextDecoder().decode(out.stderr).split("\n").filter((l) =>
    /error|Abort|memory/i.test(l)
  );
  return {
    ...base,
    input_bytes: 2 * base.n * base.v * 4,
    error: (err[0] ?? `exit ${out.code}`).slice(0, 200),
  };
}

if (import.meta.main) {
  const { options } = parseArgs(Deno.args, ["shapes", "backends", "repeats", "objectives", "case"]);
  const repeats = Number(options.repeats ?? 3);
  if (typeof options.case === "string") {
    await runCase(options.case, repeats);
    Deno.exit(0);
  }
  const shapes = String(options.shapes ?? "4096x8192,4096x32000").split(",").map((x) =>
    x.split("x").map(Number)
  );
  const names = String(options.objectives ?? "fkl,gjsd,taid").split(",");
  const rows: Row[] = [];
  for await (
    const { backend, info } of benchBackends(options.backends, console.log, { log: true })
  ) {
    for (const [n, v] of shapes) {
      for (const name of names) {
        for (const path of PATHS) {
          const row = await runIsolated(`${backend}:${name}:${path}:${n}:${v}`, repeats, {
            backend,
            adapter: info.adapter,
            objective: name,
            path,
            n,
            v,
          });
          rows.push(row);
          console.log(
            `${backend} ${name} ${path} [${n}, ${v}]: ` +
              (row.error
                ? `failed: ${row.error}`
                : `${row.ms_median!.toFixed(0)} ms, peak ${
                  (row.peak_bytes! / 2 ** 20).toFixed(0)
                } MiB`),
          );
        }
      }
    }
  }
  const backends = [...new Set(rows.map((r) => r.backend))];
  const ratio = (a?: number, b?: number) => a && b ? a / b : null;
  const summary = rows.filter((r) => r.path === "fused").map((f) => {
    const same = (path: Path) =>
      rows.find((r) =>
        r.path === path && r.backend === f.backend && r.objective === f.objective &&
        r.n === f.n && r.v === f.v
      )!;
    const chunked = same("chunked"), naive = same("naive");
    return {
      backend: f.backend,
      objective: f.objective,
      shape: `${f.n}x${f.v}`,
      fused_ms: f.ms_median ?? null,
      chunked_ms: chunked.ms_median ?? null,
      naive_ms: naive.ms_median ?? null,
      time_ratio_fused_over_chunked: ratio(f.ms_median, chunked.ms_median),
      time_ratio_chunked_over_naive: ratio(chunked.ms_median, naive.ms_median),
      peak_ratio_fused_over_chunked: ratio(f.peak_bytes, chunked.peak_bytes),
      peak_ratio_chunked_over_naive: ratio(chunked.peak_bytes, naive.peak_bytes),
      errors: Object.fromEntries(
        [f, chunked, naive].filter((r) => r.error).map((r) => [r.path, r.error]),
      ),
    };
  });
  const out = join(dirname(fileURLToPath(import.meta.url)), "results", "losses.json");
  await Deno.mkdir(dirname(out), { recursive: true });
  await Deno.writeTextFile(
    out,
    JSON.stringify(
      {
        benchmark: "losses",
        date: new Date().toISOString(),
        deno: Deno.version.deno,
        tfjs: tf.version.tfjs,
        cpus: navigator.hardwareConcurrency,
        repeats,
        backends,
        summary,
        rows,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`wrote ${out}`);
}
