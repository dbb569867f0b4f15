/**
 * Benchmark of one training step (forward + backward + AdamW) of a GPT teacher config and a
 * student config, supervised and (student) distilled from the teacher with forward KL: tokens
 * per second on wasm (one thread; threaded wasm cannot start under Deno), wasm in two
 * concurrent processes (the way the second core is used: two runs at once), and webgpu when a
 * hardware adapter is present. Writes `bench/results/train_step.json`.
 *
 * Usage: `deno task bench train_step [--backends wasm,webgpu] [--steps 4] [--batch 16] [--out f.json]
 * [--profile]`; `--profile` adds ms per kernel over one more step (the 12 largest) to each row.
 * Bundleable for the GPU machine: `bench/gpu/kd_step_device.sh train` runs it on webgpu there.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../lib/backend.ts";
import { TokenBatcher } from "../lib/data/mod.ts";
import { getLoss } from "../lib/losses/mod.ts";
import { createGPT, type GPTConfig } from "../lib/models/mod.ts";
import { constantLr, languageModelTask, train } from "../lib/train/mod.ts";
import { parseArgs } from "../tools/args.ts";
import { kernelsByName, type KernelTime } from "./kernel_profile.ts";

/** The measured model sizes (vocabulary of the Brown BPE, context 128). */
export const CONFIGS: Record<string, Omit<GPTConfig, "seed">> = {
  teacher: { vocabSize: 4096, contextLength: 128, nLayer: 4, nHead: 4, dModel: 256 },
  student: { vocabSize: 4096, contextLength: 128, nLayer: 2, nHead: 2, dModel: 128 },
};

interface Row {
  backend: string;
  adapter: string;
  config: string;
  mode: "supervised" | "distill";
  processes: number;
  params: number;
  batch: number;
  context: number;
  ms_per_step: number;
  tokens_per_s: number;
  /** With --profile: ms per kernel name over one more step (GPU time on webgpu), largest first. */
  kernels?: KernelTime[];
}

/** Times `steps` optimiser steps after one warm-up step; returns ms per step. */
async function timeSteps(
  config: string,
  mode: Row["mode"],
  batch: number,
  steps: number,
  profile: boolean,
) {
  const cfg = CONFIGS[config];
  const student = createGPT({ ...cfg, seed: 1 });
  const teacher = mode === "distill" ? createGPT({ ...CONFIGS.teacher, seed: 2 }) : undefined;
  const tokens = Int32Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) % cfg.vocabSize);
  const times: number[] = [];
  let last = performance.now();
  const run = (n: number, onRow?: () => void) =>
    train({
      task: languageModelTask({
        student,
        teacher,
        objective: getLoss(mode === "distill" ? "fkl" : "sft"),
        batcher: new TokenBatcher(tokens, {
          batchSize: batch,
          contextLength: cfg.contextLength,
          seed: 1,
        }),
      }),
      steps: n,
      schedule: constantLr(1e-4),
      onRow,
    });
  await run(steps + 1, () => {
    const now = performance.now();
    times.push(now - last);
    last = now;
  });
  const measured = times.slice(1);
  return {
    ms: measured.reduce((a, b) => a + b, 0) / measured.length,
    params: student.parameterCount,
    kernels: profile ? (await kernelsByName(() => run(1))).slice(0, 12) : undefined,
  };
}

async function runCase(spec: string): Promise<void> {
  const [backend, config, mode, batch, steps, profile] = spec.split(":");
  const info = await initBackend(backend, { log: false });
  const { ms, params, kernels } = await timeSteps(
    config,
    mode as Row["mode"],
    Number(batch),
    Number(steps),
    profile === "profile",
  );
  const context = CONFIGS[config].contextLength;
  const row: Row = {
    backend,
    adapter: info.adapter,
    config,
    mode: mode as Row["mode"],
    processes: 1,
    params,
    batch: Number(batch),
    context,
    ms_per_step: ms,
    tokens_per_s: Number(batch) * context / (ms / 1000),
    ...(kernels ? { kernels } : {}),
  };
  console.log(`ROW ${JSON.stringify(row)}`);
}

/** Runs `processes` copies of a case at once; returns their rows. */
async function runConcurrent(spec: string, processes: number): Promise<Row[]> {
  const children = Array.from({ length: processes }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", fileURLToPath(import.meta.url), "--case", spec],
      stdout: "piped",
      stderr: "piped",
    }).output());
  const rows: Row[] = [];
  for (const out of await Promise.all(children)) {
    const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("ROW "));
    if (!line) {
      throw new Error(`case ${spec} failed: ${new TextDecoder().decode(out.stderr).slice(-500)}`);
    }
    rows.push(JSON.parse(line.slice(4)));
  }
  return rows;
}

if (import.meta.main) {
  const { options } = parseArgs(
    Deno.args,
    ["backends", "steps", "batch", "case", "out"],
    ["profile"],
  );
  if (typeof options.case === "string") {
    await runCase(options.case);
    Deno.exit(0);
  }
  const steps = Number(options.steps ?? 4);
  const batch = Number(options.batch ?? 16);
  const rows: Row[] = [];
  const notes: string[] = [
    "wasm threads: unavailable under Deno (the emscripten pthread worker fails with " +
    "ERR_WORKER_PATH), so the second core is used by running two processes at once.",
  ];
  for (const backend of String(options.backends ?? "wasm,webgpu").split(",")) {
    let info;
    try {
      info = await initBackend(backend, { log: false });
    } catch (error) {
      notes.push(`${backend}: unavailable (${(error as Error).message.split("\n")[0]})`);
      continue;
    }
    if (backend === "webgpu" && info.fallbackAdapter && !options.backends) {
      notes.push("webgpu: software adapter only (llvmpipe); skipped (ask with --backends webgpu)");
      continue;
    }
    const cases: [string, Row["mode"], number][] = [
      ["teacher", "supervised", 1],
      ["student", "supervised", 1],
      ["student", "distill", 1],
    ];
    if (backend === "wasm") cases.push(["student", "supervised", 2], ["student", "distill", 2]);
    for (const [config, mode, processes] of cases) {
      const found = await runConcurrent(
        `${backend}:${config}:${mode}:${batch}:${steps}:${options.profile ? "profile" : ""}`,
        processes,
      );
      const row = {
        ...found[0],
        processes,
        ms_per_step: found.reduce((s, r) => s + r.ms_per_step, 0) / processes,
        tokens_per_s: found.reduce((s, r) => s + r.tokens_per_s, 0),
      };
      rows.push(row);
      console.log(
        `${backend} ${config} ${mode} ×${processes}: ${row.ms_per_step.toFixed(0)} ms/step, ` +
          `${row.tokens_per_s.toFixed(0)} tokens/s (${(row.params / 1e6).toFixed(2)} M params)`,
      );
    }
  }
  notes.forEach((n) => console.log(n));
  const out = typeof options.out === "string"
    ? options.out
    : join(dirname(fileURLToPath(import.meta.url)), "results", "train_step.json");
  const result = {
    benchmark: "train_step",
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    machine: { cpus: navigator.hardwareConcurrency },
    configs: CONFIGS,
    steps,
    rows,
    notes,
  };
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${out}`);
}
