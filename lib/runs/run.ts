/**
 * Runs as data (analysis layer: this module uses polars, compute code must not import it).
 * A run lives in `runs/<name>-<hash>/`, where the hash fingerprints its config and seed:
 *
 * - `meta.json`: name, config, seed, backend, package versions, git commit, start time;
 * - `metrics.parquet`: every metric row the trainer wrote (see `MetricsSink`);
 * - `checkpoint/`: the trainer's latest checkpoint (resume);
 * - `summary.json`: written last, when the run is finished; a finished run is skipped;
 * - `lock`: held (an advisory file lock) by the process training the run, so a second process
 *   waits for it instead of training the same folder at the same time.
 *
 * Re-opening a configuration reopens its folder: finished runs are returned as they are, and
 * unfinished ones resume from their checkpoint with the metric rows they had committed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendInfo } from "../backend.ts";
import type { MetricRow, MetricsSink } from "../train/sink.ts";
import { type HeldLock, lockFolder, type LockOptions } from "./lock.ts";

/** The repository root (notebook kernels run in `notebooks/`, scripts anywhere). */
export const REPO_ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/** Committed full-scale result tables: `data/results/` at the repository root. */
export const RESULTS_ROOT: string = join(REPO_ROOT, "data", "results");

/** Where runs live: `KDLAB_RUNS`, or `runs/` at the repository root (whatever the cwd). */
export const RUNS_ROOT: string = Deno.env.get("KDLAB_RUNS") ??
  join(REPO_ROOT, "runs");

/** JSON with object keys sorted, so equal configs print equally. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A 12-hex-digit fingerprint of a config (two FNV-1a passes over its stable JSON). */
export function configHash(config: unknown): string {
  const text = stableStringify(config);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return ((a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0"))
    .slice(0, 12);
}

/** The git commit of the working tree, or "unknown". */
function gitCommit(): string {
  try {
    const out = new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "unknown";
  } catch {
    return "unknown";
  }
}

/** Options of {@link openRun}. */
export interface OpenRunOptions {
  /** A readable prefix of the folder name (e.g. "taid-main-fkl"). */
  name: string;
  /** Everything that determines the result; hashed into the folder name. */
  config: Record<string, unknown>;
  /** The run's seed (part of the hash). */
  seed: number;
  /** The folder holding runs (default {@link RUNS_ROOT}). */
  root?: string;
}

/** A run's folder: metrics sink, checkpoint location, summary. */
export class Run implements MetricsSink {
  /** Folder name: `<name>-<hash>`. */
  readonly id: string;
  /** The run's folder. */
  readonly dir: string;
  /** Everything that determines the result. */
  readonly config: Record<string, unknown>;
  /** The run's seed. */
  readonly seed: number;
  /** Metric rows, read from `metrics.parquet` on first use (checking `finished` or reading a
   * summary does not need them). */
  #loaded?: MetricRow[];

  /** A run over folder `dir` (see {@linkcode openRun}, which creates it). */
  constructor(dir: string, id: string, config: Record<string, unknown>, seed: number) {
    this.dir = dir;
    this.id = id;
    this.config = config;
    this.seed = seed;
  }

  get #rows(): MetricRow[] {
    if (!this.#loaded) {
      const metrics = join(this.dir, "metrics.parquet");
      this.#loaded = existsSync(metrics) ? pl.readParquet(metrics).toRecords() as MetricRow[] : [];
    }
    return this.#loaded;
  }

  set #rows(rows: MetricRow[]) {
    this.#loaded = rows;
  }

  /**
   * Takes this run's exclusive lock (see `lock.ts`), waiting while another process trains it.
   * Check {@link finished} again once it is held: the other process may have finished the run.
   * Metric rows are read again from disk on next use.
   */
  async lock(options?: LockOptions): Promise<HeldLock> {
    const held = await lockFolder(this.dir, options);
    this.#loaded = undefined;
    return held;
  }

  /** Where the trainer keeps this run's checkpoint. */
  get checkpointDir(): string {
    return this.dir;
  }

  /** True once {@link finish} has written the summary. */
  get finished(): boolean {
    return existsSync(join(this.dir, "summary.json"));
  }

  /** The summary of a finished run. */
  summary(): Record<string, number | string> {
    if (!this.finished) throw new Error(`run ${this.id} is not finished`);
    return JSON.parse(Deno.readTextFileSync(join(this.dir, "summary.json")));
  }

  /** Metric rows so far (committed and pending). */
  get rows(): readonly MetricRow[] {
    return this.#rows;
  }

  /** The rows as a data frame (union of columns, nulls where a row lacks one). */
  metrics(): pl.DataFrame {
    return this.#rows.length > 0
      ? pl.readRecords(this.#rows, { inferSchemaLength: this.#rows.length })
      : pl.DataFrame({});
  }

  write(row: MetricRow): void {
    this.#rows.push(row);
  }

  /** Rewrites `metrics.parquet` with every row (written aside, then renamed). */
  commit(): void {
    if (this.#rows.length === 0) return;
    const tmp = join(this.dir, "metrics.parquet.tmp");
    this.metrics().writeParquet(tmp);
    Deno.renameSync(tmp, join(this.dir, "metrics.parquet"));
  }

  resume(step: number): void {
    this.#rows = this.#rows.filter((r) => r.step <= step);
  }

  /** Marks the run finished with its final numbers (and commits the metrics). */
  finish(summary: Record<string, number | string>): void {
    this.commit();
    const body = { id: this.id, seed: this.seed, ...summary, finishedAt: new Date().toISOString() };
    Deno.writeTextFileSync(
      join(this.dir, "summary.json.tmp"),
      JSON.stringify(body, null, 2) + "\n",
    );
    Deno.renameSync(join(this.dir, "summary.json.tmp"), join(this.dir, "summary.json"));
  }
}

/** Opens (creating or reopening) the run of a configuration; see the module doc. */
export function openRun(options: OpenRunOptions): Run {
  const { name, config, seed, root = RUNS_ROOT } = options;
  if (!/^[\w.-]+$/.test(name)) {
    throw new Error(`openRun: name must be [A-Za-z0-9_.-]+, got "${name}"`);
  }
  if (!Number.isFinite(seed)) throw new Error(`openRun: seed must be a number, got ${seed}`);
  const id = `${name}-${configHash({ config, seed })}`;
  const dir = join(root, id);
  Deno.mkdirSync(dir, { recursive: true });
  const metaPath = join(dir, "meta.json");
  if (!existsSync(metaPath)) {
    const info = backendInfo();
    const meta = {
      id,
      name,
      config,
      seed,
      backend: info?.name ?? tf.getBackend() ?? null, // null: no backend chosen yet
      backendDetail: info ?? null,
      versions: { tfjs: tf.version.tfjs, deno: Deno.version.deno, v8: Deno.version.v8 },
      commit: gitCommit(),
      createdAt: new Date().toISOString(),
    };
    Deno.writeTextFileSync(metaPath, JSON.stringify(meta, null, 2) + "\n");
  }
  return new Run(dir, id, config, seed);
}

/** Summaries of the finished runs under `root` whose name starts with `prefix`, as a table. */
export function finishedRuns(prefix = "", root = RUNS_ROOT): pl.DataFrame {
  if (!existsSync(root)) return pl.DataFrame({});
  const rows: Record<string, unknown>[] = [];
  for (const entry of [...Deno.readDirSync(root)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = join(root, entry.name, "summary.json");
    if (entry.isDirectory && entry.name.startsWith(prefix) && existsSync(path)) {
      rows.push(JSON.parse(Deno.readTextFileSync(path)));
    }
  }
  return rows.length > 0
    ? pl.readRecords(rows, { inferSchemaLength: rows.length })
    : pl.DataFrame({});
}
