/**
 * Benchmark of one training step (forward + backward + AdamW) of a GPT teacher config and a
 * student config, supervised and (student) distilled from the teacher with forward KL and with
 * TAID: tokens per second on wasm (one thread; threaded wasm cannot start under Deno), wasm in two
 * concurrent processes (the way the second core is used: two runs at once), and webgpu when a
 * hardware adapter is present. On webgpu the trainer reads losses back every 16 steps (each
 * readback costs ≥ 10 ms under Deno); rows with `read_every` 1 measure the same steps read back
 * one by one. A case times `steps` steps of one `train` call after a warm-up call of one step.
 * Writes `bench/results/train_step.json`.
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
import { constantLr, DEVICE_READ_EVERY, languageModelTask, train } from "../lib/train/mod.ts";
import { fusedKernelsAvailable } from "../lib/gpu/mod.ts";
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
  /** The loss: sft (supervised), fkl or taid (distilled from the teacher config). */
  objective: Objective;
  /** Steps between the trainer's readbacks. */
  read_every: number;
  processes: number;
  params: number;
  batch: number;
  context: number;
  ms_per_step: number;
  tokens_per_s: number;
  /** With --profile: ms per kernel name over one more step (GPU time on webgpu), largest first. */
  kernels?: KernelTime[];
}

type Objective = "sft" | "fkl" | "taid";

/**
 * Times `steps` optimiser steps (one `train` call, so readbacks every `readEvery` steps as the
 * trainer does them) after a warm-up call of one step; returns ms per step.
 */
async function timeSteps(
  config: string,
  objective: Objective,
  batch: number,
  steps: number,
  readEvery: number | undefined,
  profile: boolean,
) {
  const cfg = CONFIGS[config];
  const student = createGPT({ ...cfg, seed: 1 });
  const teacher = objective === "sft" ? undefined : createGPT({ ...CONFIGS.teacher, seed: 2 });
  const tokens = Int32Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) % cfg.vocabSize);
  const run = async (n: number) => {
    const loss = getLoss(objective, objective === "taid" ? { totalSteps: n } : {});
    await train({
      task: languageModelTask({
        student,
        teacher,
        objective: loss,
        batcher: new TokenBatcher(tokens, {
          batchSize: batch,
          contextLength: cfg.contextLength,
          seed: 1,
        }),
      }),
      steps: n,
      schedule: constantLr(1e-4),
      readEvery,
    });
    loss.dispose?.();
  };
  await run(1);
  const started = performance.now();
  await run(steps);
  return {
    ms: (performance.now() - started) / steps,
    params: student.parameterCount,
    kernels: profile ? (await kernelsByName(() => run(1))).slice(0, 12) : undefined,
  };
}

async function runCase(spec: string): Promise<void> {
  const [backend, config, name, batch, steps, every, profile] = spec.split(":");
  const objective = name as Objective;
  const info = await initBackend(backend, { log: false });
  const readEvery = every ? Number(every) : undefined;
  const { ms, params, kernels } = await timeSteps(
    config,
    objective,
    Number(batch),
    Number(steps),
    readEvery,
    profile === "profile",
  );
  const context = CONFIGS[config].contextLength;
  const row: Row = {
    backend,
    adapter: info.adapter,
    config,
    mode: objective === "sft" ? "supervised" : "distill",
    objective,
    read_every: fusedKernelsAvailable() ? readEvery ?? DEVICE_READ_EVERY : 1,
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
    // [config, objective, processes, readEvery (default: the trainer's)]
    const cases: [string, Objective, number, number?][] = [
      ["teacher", "sft", 1],
      ["student", "sft", 1],
      ["student", "fkl", 1],
      ["student", "taid", 1],
    ];
    if (backend === "wasm") cases.push(["student", "sft", 2], ["student", "fkl", 2]);
    // On webgpu, the same steps read back one by one: what the readback floor costs.
    if (backend === "webgpu") cases.push(["student", "fkl", 1, 1], ["student", "taid", 1, 1]);
    for (const [config, objective, processes, readEvery] of cases) {
      const profile = options.profile ? "profile" : "";
      const found = await runConcurrent(
        `${backend}:${config}:${objective}:${batch}:${steps}:${readEvery ?? ""}:${profile}`,
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
        `${backend} ${config} ${objective} ×${processes} (read every ${row.read_every}): ` +
          `${row.ms_per_step.toFixed(0)} ms/step, ` +
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
