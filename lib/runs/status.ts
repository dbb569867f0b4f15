/**
 * Where each run folder stands: finished, being trained by some process (its lock is held),
 * stopped part-way (resumable from its checkpoint) or not started. `deno task runs` prints it, so
 * a researcher can follow a full-scale notebook's training from another terminal, or see what an
 * interrupted one left behind. Reading a status never changes a folder, never takes its lock
 * for longer than a probe, and never creates a lock file.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkpointPath } from "../train/checkpoint.ts";
import { LOCK_FILE, type LockHolder, lockHolder } from "./lock.ts";
import { RUNS_ROOT } from "./run.ts";

/** The four states of a run folder, in the order a run goes through them. */
export type RunState = "not started" | "stopped" | "training" | "finished";

/** A run folder's state, progress and headline result. */
export interface RunStatus {
  /** Folder name: `<name>-<config hash>`. */
  id: string;
  /** The folder. */
  dir: string;
  /** The run's name (from meta.json; the id when meta.json is missing). */
  name: string;
  /** Finished (summary.json), training (another process holds its lock), stopped or not started. */
  state: RunState;
  /** Optimiser steps saved in its checkpoint (all of them when finished; 0 without one). */
  step: number;
  /** Steps its configuration plans (`config.train.steps`), when it has one. */
  steps?: number;
  /** Wall-clock seconds of training saved in its checkpoint (all segments), when it has one. */
  seconds?: number;
  /** Who trains it, when its state is "training" (as written in its lock file). */
  holder?: LockHolder;
  /** When the folder was created (meta.json's createdAt). */
  createdAt?: string;
  /** Its summary, when finished. */
  summary?: Record<string, unknown>;
}

/**
 * True when another open file description holds `dir`'s run lock, i.e. some process (or another
 * lock in this one) is training it. Probes with a non-blocking lock that it drops at once; a
 * folder without a lock file, or a file system without advisory locks, reads as unlocked.
 */
export async function isLocked(dir: string): Promise<boolean> {
  const path = join(dir, LOCK_FILE);
  if (!existsSync(path)) return false;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return false; // removed meanwhile
  }
  try {
    const acquired = await file.tryLock(true);
    if (acquired) await file.unlock();
    return !acquired;
  } catch {
    return false; // no advisory locks here: the runs are not locked either
  } finally {
    file.close();
  }
}

const readJson = (path: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
};

/** The status of one run folder (see {@link RunStatus}). */
export async function runStatus(dir: string): Promise<RunStatus> {
  const id = dir.split(/[\\/]/).filter(Boolean).pop()!;
  const meta = readJson(join(dir, "meta.json"));
  const config = meta?.config as { train?: { steps?: unknown } } | undefined;
  const planned = config?.train?.steps;
  const summary = readJson(join(dir, "summary.json"));
  const folder = checkpointPath(dir); // recovers a checkpoint swap cut short, as training does
  const checkpoint = folder === undefined ? undefined : readJson(join(folder, "state.json"));
  const savedStep = typeof checkpoint?.step === "number" ? checkpoint.step : 0;
  const seconds = checkpoint?.seconds;
  const status: RunStatus = {
    id,
    dir,
    name: typeof meta?.name === "string" ? meta.name : id,
    state: "not started",
    step: savedStep,
    ...(typeof planned === "number" ? { steps: planned } : {}),
    ...(typeof seconds === "number" && Number.isFinite(seconds) ? { seconds } : {}),
    ...(typeof meta?.createdAt === "string" ? { createdAt: meta.createdAt } : {}),
  };
  if (summary) {
    const steps = typeof summary.steps === "number" ? summary.steps : status.steps;
    return { ...status, state: "finished", step: steps ?? savedStep, summary };
  }
  if (await isLocked(dir)) return { ...status, state: "training", holder: lockHolder(dir) };
  const started = checkpoint !== undefined || existsSync(join(dir, "metrics.parquet"));
  return { ...status, state: started ? "stopped" : "not started" };
}

/**
 * The status of every run folder under `root` whose id starts with `prefix`, sorted by id. A
 * folder is a run when it holds a meta.json.
 */
export async function listRuns(
  options: { prefix?: string; root?: string } = {},
): Promise<RunStatus[]> {
  const { prefix = "", root = RUNS_ROOT } = options;
  if (!existsSync(root)) return [];
  const ids = [...Deno.readDirSync(root)]
    .filter((e) => e.isDirectory && e.name.startsWith(prefix))
    .filter((e) => existsSync(join(root, e.name, "meta.json")))
    .map((e) => e.name)
    .sort();
  const out: RunStatus[] = [];
  for (const id of ids) out.push(await runStatus(join(root, id)));
  return out;
}

/** The headline number of a finished run's summary: validation CE, test accuracy or loss. */
export function headline(summary: Record<string, unknown>): string {
  for (const key of ["val_ce", "test_acc", "final_loss"]) {
    const value = summary[key];
    if (typeof value === "number" && Number.isFinite(value)) return `${key} ${value.toFixed(4)}`;
  }
  return "";
}

/**
 * Seconds left to train at the rate its checkpoint saved (seconds per step so far), or undefined
 * without a checkpoint, a planned length or a finished step.
 */
export function secondsLeft(run: RunStatus): number | undefined {
  if (run.state === "finished" || run.seconds === undefined || run.steps === undefined) return;
  if (run.step <= 0) return;
  return Math.max(0, run.steps - run.step) * run.seconds / run.step;
}

/** Run statuses as a plain-text table with a closing count per state. */
export function runStatusText(runs: RunStatus[]): string {
  const progress = (r: RunStatus) => `${r.step}/${r.steps ?? "?"}`;
  const detail = (r: RunStatus) => {
    if (r.state === "finished") {
      const seconds = r.summary!.seconds;
      return [headline(r.summary!), typeof seconds === "number" ? `${seconds.toFixed(0)} s` : ""]
        .filter(Boolean).join(", ");
    }
    const left = secondsLeft(r);
    const eta = left === undefined ? "" : `; ~${Math.ceil(left / 60)} min left at its rate so far`;
    if (r.state === "training") {
      return (r.holder
        ? `process ${r.holder.pid} on ${r.holder.host} since ${r.holder.since}`
        : "by another process") + eta;
    }
    return r.state === "stopped" ? `resumes from its checkpoint when run again${eta}` : "";
  };
  const rows = runs.map((r) => [r.state, progress(r), r.id, detail(r)]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((row) => row[i].length)));
  const lines = rows.map((row) =>
    row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join("  ").trimEnd()
  );
  const states: RunState[] = ["finished", "training", "stopped", "not started"];
  const counts = states.map((s) => [s, runs.filter((r) => r.state === s).length] as const)
    .filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  return [...lines, `${runs.length} run(s)${counts.length ? `: ${counts.join(", ")}` : ""}`]
    .join("\n");
}
