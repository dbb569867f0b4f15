/**
 * The GPU benchmark of issue #10: a distillation step of a student's linear head (B·T = 4096
 * tokens, H = 512, V ∈ {8192, 32000}; FKL and TAID at t = 0.5; forward, backward, AdamW), the
 * KL forward alone, AdamW's update alone, an fp32 matmul sweep over tile shapes, and the
 * diagnostics of the gradient cliff (a host `ones` upload against a device fill, and `tf.grad` of a
 * sum). Each step case runs with the fused WGSL kernels (divergence, AdamW) and the default tiling
 * first, then (after the sweep) with the fastest tiling if another one won, and last on the
 * composite tfjs path. Results are written after every case
 * (`complete: false` until the end), so a run cut off by the device's time limit keeps what it
 * measured; a case that throws is recorded with its error. `bench/reference/torch_kd_step.py`
 * runs the same cases in PyTorch; `bench/gpu/kd_step_device.sh` runs both on the lent GPU and
 * merges them into `bench/results/gpu_kd_step.json` with `ratio_vs_torch`.
 *
 * Bundleable for the GPU machine (no polars, no native addons).
 *
 * Usage: `deno run -A bench/gpu_kd_step.ts [--backend webgpu] [--quick] [--repeats 10] [--out f.json]
 * [--tilings 8x8x8vu,8x8x8vus1,...] [--matmuls 1024,4096] [--parts matmul,diagnostics,kl,step,adamw]`
 * (`--quick`: small shapes, to check the script on the software adapter or wasm).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { flushDeferredChecks } from "../lib/deferred_checks.ts";
import {
  type MatMulTiling,
  setDeviceGradients,
  setFusedKernels,
  setTiledMatMul,
} from "../lib/gpu/mod.ts";
import { forwardKL } from "../lib/losses/forward_kl.ts";
import { taidLoss } from "../lib/taid/taid_loss.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { parseArgs } from "../tools/args.ts";
import { kernelsByName, type KernelTime } from "./kernel_profile.ts";

/**
 * One measured case: median milliseconds per call over `repeats` bursts of `burst` calls, after
 * one warm-up call.
 */
export interface CaseResult {
  name: string;
  ms: number;
  /** Every burst's time per call, ms. */
  samples: number[];
  /** Calls per timed burst, with one readback at its end. */
  burst?: number;
  /** TFLOP/s for matmuls. */
  tflops?: number;
  /** The tiled matmul's tile shape, for matmuls that used it. */
  tiling?: string;
  /** Why the case could not run (the others still do). */
  error?: string;
  /**
   * One more run under tf.time (GPU kernel ms from timestamp queries, where the device has them,
   * against wall ms: dispatch overhead is the difference) and one under tf.profile (GPU ms per
   * kernel name, largest first).
   */
  profile?: {
    wallMs: number;
    kernelMs: number | string;
    kernels?: KernelTime[];
  };
}

/** GPU time against wall time of one run, and where the GPU time goes, kernel by kernel. */
async function profileOf(run: () => Promise<void>): Promise<CaseResult["profile"]> {
  try {
    let pending: Promise<void> | undefined;
    // The step launches its kernels synchronously; tf.time times those, then the read completes.
    const info = await tf.time(() => {
      pending = run();
    }) as unknown as { wallMs: number; kernelMs: number | { error: string } };
    await pending;
    const kernelMs = typeof info.kernelMs === "number" ? info.kernelMs : info.kernelMs.error;
    return { wallMs: info.wallMs, kernelMs, kernels: await kernelsByName(run) };
  } catch (error) {
    return { wallMs: NaN, kernelMs: `profiling failed: ${(error as Error).message}` };
  }
}

const { options } = parseArgs(
  Deno.args,
  ["backend", "repeats", "out", "tilings", "matmuls", "parts"],
  ["quick"],
);
const quick = Boolean(options.quick);
const repeats = Number(options.repeats ?? (quick ? 3 : 10));
const backend = String(options.backend ?? "webgpu");
const tokens = quick ? 256 : 4096;
const hidden = quick ? 64 : 512;
const vocabs = quick ? [1024, 4000] : [8192, 32000];
const matmuls = options.matmuls
  ? String(options.matmuls).split(",").map(Number)
  : quick
  ? [128, 256]
  : [1024, 2048, 4096, 8192];
/** Which groups of cases to run (default all). */
const parts = new Set(String(options.parts ?? "matmul,diagnostics,kl,step,adamw").split(","));
/**
 * Tile shapes of the tiled matmul to try, "TMxTNxBK" with "v" for the vec4 layout, "u" for the
 * unrolled code, "p" for prefetching and "sN" for a fixed split-K count (none: automatic; s1: never split); the first is
 * the library's default. The one with the least time over the step's
 * own products is used by the step cases (`chosenTiling` in the report).
 */
const tilings: MatMulTiling[] = String(
  options.tilings ??
    "8x8x8vu,8x8x8vus1,8x8x8vup,8x8x16vup,4x4x16,8x8x8,8x8x8u,8x8x16u,8x8x8v,8x8x16vu,8x8x4vu," +
      "4x4x16vu,4x8x16vu",
).split(",").map((t) => {
  const [, tm, tn, bk, flags, splitK] = t.match(/^(\d+)x(\d+)x(\d+)([uvp]*)(?:s(\d+))?$/) ?? [];
  if (!tm) throw new Error(`--tilings: "${t}" is not TMxTNxBK[v][u][p][sN]`);
  return {
    tm: Number(tm),
    tn: Number(tn),
    bk: Number(bk),
    vec4: flags.includes("v"),
    unroll: flags.includes("u"),
    prefetch: flags.includes("p"),
    splitK: Number(splitK ?? 0),
  };
});
const tilingName = (t: MatMulTiling) =>
  `${t.tm}x${t.tn}x${t.bk}${t.vec4 ? "v" : ""}${t.unroll ? "u" : ""}${t.prefetch ? "p" : ""}${
    t.splitK ? `s${t.splitK}` : ""
  }`;
/** A case whose warm-up takes longer than this runs once more only (and is not profiled). */
const SLOW_MS = 3000;
/** Timed runs of each tiling after the first in the matmul sweep. */
const SWEEP_REPEATS = 3;

/**
 * Every readback from the GPU under Deno 2.9 costs at least 10 ms, whatever its size:
 * `GPUBuffer.mapAsync` and `onSubmittedWorkDone` (ext/webgpu/buffer.rs, queue.rs) poll the device
 * and then sleep 10 ms before they look whether the map is done (11–12 ms measured on the software
 * adapter; `readback_scalar` measures it here). So a case enqueues a burst of calls and reads back
 * once, with enough calls that this floor is at most {@linkcode FLOOR_SHARE} of the burst (up to
 * {@linkcode MAX_BURST}): ms per call is throughput, as a training loop that does not read back
 * every step sees it. The torch side times bursts too; `_synced` cases read back every call.
 */
let floorMs = 0;
/** The readback floor's largest share of a timed burst. */
const FLOOR_SHARE = 0.05;
/** Most calls in one burst (below MAX_PENDING_CHECKS of lib/deferred_checks.ts). */
const MAX_BURST = 200;

/** How {@linkcode time} runs a case. */
interface Timing {
  /** Bursts timed (default `--repeats`). */
  times?: number;
  /** Calls per burst (default: from the floor and one timed call, see {@linkcode floorMs}). */
  burst?: number;
  /** Waits for the burst's last result (default {@linkcode sync}). */
  finish?: (last: tf.Tensor | undefined) => Promise<void>;
}

/**
 * Median time per call of `call` (which enqueues work and returns a tensor to wait on, or nothing):
 * bursts of calls with one readback of the last call's tensor, every earlier result disposed. A
 * case slower than {@linkcode SLOW_MS} on its warm-up call is timed once, without a burst (the
 * pre-fix path took 25 s a step on the H100).
 */
async function time(
  name: string,
  call: () => tf.Tensor | void,
  { times = repeats, burst, finish = (t) => t ? sync(t) : Promise.resolve() }: Timing = {},
): Promise<CaseResult> {
  const run = async (n: number) => {
    const t0 = performance.now();
    let last: tf.Tensor | void = undefined;
    for (let i = 0; i < n; i++) {
      last?.dispose();
      last = call();
    }
    await finish(last ?? undefined);
    return performance.now() - t0;
  };
  const warmUpMs = await run(1); // pipeline compilation, buffer pools
  if (warmUpMs > SLOW_MS) [times, burst] = [1, 1];
  const single = burst === undefined ? await run(1) : 0;
  const work = Math.max(single - floorMs, 0.01);
  const calls = burst ?? Math.min(MAX_BURST, Math.max(1, Math.ceil(floorMs / FLOOR_SHARE / work)));
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push((await run(calls)) / calls);
  const sorted = samples.slice().sort((a, b) => a - b);
  const ms = sorted[Math.floor(sorted.length / 2)];
  console.error(`${name}: ${ms.toFixed(3)} ms${calls > 1 ? ` (bursts of ${calls})` : ""}`);
  return { name, ms, samples, burst: calls };
}

/** Reads one value of `t` (waits for the queue) and disposes it. */
async function sync(t: tf.Tensor): Promise<void> {
  await tf.slice(t.reshape([-1]), [0], [1]).data();
  t.dispose();
}

/**
 * One product `label` (op(A)·op(B), A and B of the given stored shapes): tfjs's own kernel
 * (`_tfjs`) and the tiled kernel at every tiling (`_tTMxTNxBK[v][u][p][sN]`; the first tiling's case is
 * `label` itself).
 */
async function matmulCases(
  label: string,
  aShape: [number, number],
  bShape: [number, number],
  transposeA = false,
  transposeB = false,
): Promise<CaseResult[]> {
  const a = tf.randomNormal(aShape, 0, 1, "float32", 1);
  const b = tf.randomNormal(bShape, 0, 1, "float32", 2);
  const [m, k] = transposeA ? [aShape[1], aShape[0]] : aShape;
  const flops = 2 * m * k * (transposeB ? bShape[0] : bShape[1]);
  const out: CaseResult[] = [];
  const variants: [string, MatMulTiling | undefined][] = [
    [`${label}_tfjs`, undefined],
    ...tilings.map((t, i) =>
      [i === 0 ? label : `${label}_t${tilingName(t)}`, t] as [string, MatMulTiling]
    ),
  ];
  for (const [name, tiling] of variants) {
    if (backend !== "webgpu" && tiling && name !== label) continue;
    setTiledMatMul(tiling !== undefined, tiling);
    // The sweep's other tilings take fewer samples, to keep the whole run in the device's limit.
    const times = tiling && tiling !== tilings[0] ? Math.min(repeats, SWEEP_REPEATS) : repeats;
    const result = await time(name, () => tf.matMul(a, b, transposeA, transposeB), { times });
    result.tflops = flops / (result.ms * 1e-3) / 1e12;
    result.tiling = tiling && tilingName(tiling);
    out.push(result);
  }
  setTiledMatMul(true, tilings[0]);
  tf.dispose([a, b]);
  return out;
}

async function klForwardCase(v: number, fused: boolean): Promise<CaseResult> {
  const teacher = tf.randomNormal([tokens, v], 0, 2, "float32", 3);
  const student = tf.randomNormal([tokens, v], 0, 2, "float32", 4);
  setFusedKernels(fused);
  const name = `kl_forward_V${v}${fused ? "" : "_composite"}`;
  const result = await time(name, () => forwardKL(teacher, student, { validate: false }));
  tf.dispose([teacher, student]);
  return result;
}

async function stepCase(
  name: string,
  objective: "fkl" | "taid",
  v: number,
  fused: boolean,
  synced = false,
): Promise<CaseResult> {
  const h = tf.randomNormal([tokens, hidden], 0, 1, "float32", 5);
  const teacher = tf.randomNormal([tokens, v], 0, 2, "float32", 6);
  const w = tf.variable(tf.randomNormal([hidden, v], 0, 0.02, "float32", 7), true, `head_${v}`);
  const optimizer = new AdamW({ w }, { weightDecay: 0.01 });
  setFusedKernels(fused);
  const loss = () => {
    const logits = tf.matMul(h, w);
    return objective === "fkl" ? forwardKL(teacher, logits) : taidLoss(teacher, logits, 0.5);
  };
  const step = () => {
    const { value, grads } = tf.variableGrads(loss, [w]);
    optimizer.apply({ w: grads[w.name] }, 1e-3);
    tf.dispose(Object.values(grads));
    return value;
  };
  // One readback for the loss and the deferred input checks, as the trainer does; the queue's
  // order makes it wait for the update too.
  const finish = async (value: tf.Tensor | undefined) => {
    await flushDeferredChecks(value);
    value?.dispose();
  };
  const result = await time(name, step, { finish, burst: synced ? 1 : undefined });
  if (result.ms < SLOW_MS) result.profile = await profileOf(() => finish(step()));
  optimizer.dispose();
  tf.dispose([h, teacher, w]);
  return result;
}

/** One AdamW update of a [hidden, v] head from a given gradient (fused kernels or composite ops). */
async function adamwCase(v: number, fused: boolean): Promise<CaseResult> {
  const w = tf.variable(tf.randomNormal([hidden, v], 0, 0.02, "float32", 9), true, `adamw_${v}`);
  const grad = tf.randomNormal([hidden, v], 0, 1e-3, "float32", 10);
  const optimizer = new AdamW({ w }, { weightDecay: 0.01 });
  setFusedKernels(fused);
  const result = await time(`adamw_V${v}${fused ? "" : "_composite"}`, () => {
    optimizer.apply({ w: grad }, 1e-3);
    return tf.slice(w, [0, 0], [1, 1]);
  });
  optimizer.dispose();
  tf.dispose([w, grad]);
  return result;
}

/** The floor under every readback: one tiny kernel and a read of its result (a GPU round trip). */
async function readbackFloor(): Promise<CaseResult> {
  // On the device (a kernel's output): tfjs-webgpu runs ops on small host-side inputs on the CPU.
  const one = tf.tidy(() =>
    tf.reshape(tf.sum(tf.randomNormal([256, 256], 0, 1, "float32", 11)), [1])
  );
  const result = await time("readback_scalar", () => tf.add(one, 1), { burst: 1 });
  one.dispose();
  floorMs = result.ms;
  return result;
}

/** The cliff's suspects (shared/gpu/NOTES.md): host-array upload, and the gradient of a sum. */
async function diagnostics(v: number): Promise<CaseResult[]> {
  const x = tf.randomNormal([tokens, v], 0, 1, "float32", 8);
  const out = [
    // Cases with a host array per call: bursts of 10 (each call holds its own copy until done).
    await time(
      `host_ones_add_${tokens}x${v}`,
      () => tf.tidy(() => tf.add(x, tf.ones(x.shape))),
      { burst: 10 },
    ),
    await time(`device_ones_add_${tokens}x${v}`, () => tf.tidy(() => tf.add(x, tf.onesLike(x)))),
    await time(`grad_sum_${tokens}x${v}`, () => tf.grad((y) => tf.sum(y))(x)),
    await (async () => {
      setDeviceGradients(false); // tfjs's own gradient: a host ones(x.shape) uploaded per call
      const r = await time(
        `grad_sum_host_ones_${tokens}x${v}`,
        () => tf.grad((y) => tf.sum(y))(x),
        { burst: 10 },
      );
      setDeviceGradients(true);
      return r;
    })(),
    await time(
      `grad_mean_square_${tokens}x${v}`,
      () => tf.grad((y) => tf.mean(tf.square(y)))(x),
    ),
  ];
  // Raw uploads of the same bytes: tfjs's path (a new mapped staging buffer, then a copy) against
  // queue.writeBuffer into one reused buffer (shared/gpu/NOTES.md measured 1060 vs 420 ms on llvmpipe).
  const host = new Float32Array(tokens * v).fill(1);
  out.push(
    // tf.tensor2d keeps the data on the host until a kernel uses it: the add uploads it.
    await time(
      `upload_tfjs_${tokens}x${v}`,
      () => tf.tidy(() => tf.add(tf.tensor2d(host, [tokens, v]), 0)),
      { burst: 10 },
    ),
  );
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  if (device) {
    const buffer = device.createBuffer({
      size: host.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    out.push(
      await time(`upload_writebuffer_${tokens}x${v}`, () => {
        device.queue.writeBuffer(buffer, 0, host);
      }, { burst: 10, finish: () => device.queue.onSubmittedWorkDone() }),
    );
    buffer.destroy();
  }
  x.dispose();
  return out;
}

const info = await initBackend(backend);
const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
const report = {
  bench: "gpu_kd_step",
  side: "tfjs",
  backend: info.name,
  adapter: info.adapter,
  fallbackAdapter: info.fallbackAdapter,
  /** WebGPU features of the device tfjs opened (subgroups, timestamp-query, ...). */
  features: device ? [...device.features].sort() : [],
  quick,
  shapes: { tokens, hidden, vocabs, matmuls },
  tilings: tilings.map(tilingName),
  chosenTiling: tilingName(tilings[0]),
  repeats,
  versions: { deno: Deno.version.deno, tfjs: tf.version.tfjs },
  date: new Date().toISOString(),
  complete: false,
  cases: [] as CaseResult[],
};

/** Writes what has been measured so far, so that a run cut off by a time limit keeps its cases. */
async function save(): Promise<void> {
  const json = JSON.stringify(report, null, 2) + "\n";
  if (options.out) await Deno.writeTextFile(String(options.out), json);
  else if (report.complete) console.log(json);
}

/** Runs one group of cases; a failure is recorded as a case with `error` and the rest go on. */
async function measure(name: string, run: () => Promise<CaseResult | CaseResult[]>): Promise<void> {
  try {
    const result = await run();
    report.cases.push(...(Array.isArray(result) ? result : [result]));
  } catch (error) {
    console.error(`${name} failed: ${(error as Error).message}`);
    report.cases.push({ name, ms: NaN, samples: [], error: (error as Error).message });
  }
  await save();
}

// Order: what the issue's table needs first (the cliff's diagnostics, then the fused KL, step and
// AdamW cases with the default tiling), the tiling sweep after them, so that a run cut off by the
// device's time limit still has its main numbers; then the step again with the sweep's best tiling
// (when another one won) and the composite "before" paths last.
await measure("readback_scalar", readbackFloor); // sets the bursts' length
if (parts.has("diagnostics")) await measure("diagnostics", () => diagnostics(vocabs[0]));
/** The KL, step and AdamW cases of one path at every vocabulary; `tag` suffixes the step names. */
async function kdCases(fused: boolean, which = parts, tag = ""): Promise<void> {
  for (const v of vocabs) {
    const suffix = fused ? "" : "_composite";
    if (which.has("kl")) {
      await measure(`kl_forward_V${v}${suffix}`, () => klForwardCase(v, fused));
    }
    for (const objective of which.has("step") ? ["fkl", "taid"] as const : []) {
      const name = `kd_step_${objective}_V${v}${suffix}${tag}`;
      await measure(name, () => stepCase(name, objective, v, fused));
    }
    if (which.has("step") && fused && !tag) {
      // A readback after every step (what the trainer does for TAID, which reads every step).
      const name = `kd_step_fkl_V${v}_synced`;
      await measure(name, () => stepCase(name, "fkl", v, fused, true));
    }
    if (which.has("adamw")) await measure(`adamw_V${v}${suffix}`, () => adamwCase(v, fused));
  }
}
if (backend === "webgpu") await kdCases(true);
if (parts.has("matmul")) {
  for (const n of matmuls) {
    await measure(`matmul_${n}`, () => matmulCases(`matmul_${n}`, [n, n], [n, n]));
  }
  // The step's own products: logits = H·W, and the head's gradient Hᵀ·G (K = tokens); and the
  // gradient to the hidden states G·Wᵀ (K = V) that a deeper student needs (few tiles, long K).
  for (const v of vocabs) {
    await measure(
      `matmul_logits_V${v}`,
      () => matmulCases(`matmul_logits_V${v}`, [tokens, hidden], [hidden, v]),
    );
    await measure(
      `matmul_dW_V${v}`,
      () => matmulCases(`matmul_dW_V${v}`, [tokens, hidden], [tokens, v], true),
    );
    await measure(
      `matmul_dX_V${v}`,
      () => matmulCases(`matmul_dX_V${v}`, [tokens, v], [hidden, v], false, true),
    );
  }
}
// The best tiling: the least time over the step's products (logits and dW) at every vocabulary
// (the largest square size when those were not run). The step runs again with it if it is not the
// default (`kd_step_..._t<tiling>`).
const kdShaped = report.cases.filter((c) => c.tiling && /^matmul_(logits|dW)_V/.test(c.name));
const square = report.cases.filter((c) =>
  c.tiling && c.name.startsWith(`matmul_${matmuls.at(-1)}`)
);
const pool = kdShaped.length > 0 ? kdShaped : square;
if (pool.length > 0) {
  const total = new Map<string, number>();
  for (const c of pool) total.set(c.tiling!, (total.get(c.tiling!) ?? 0) + c.ms);
  const best = [...total.entries()].reduce((x, y) => (y[1] < x[1] ? y : x))[0];
  report.chosenTiling = best;
  if (best !== tilingName(tilings[0]) && backend === "webgpu") {
    setTiledMatMul(true, tilings.find((t) => tilingName(t) === best)!);
    await kdCases(true, new Set(["step"]), `_t${best}`);
    setTiledMatMul(true, tilings[0]);
  }
}
await kdCases(false);
setFusedKernels(true);
report.complete = true;
await save();
