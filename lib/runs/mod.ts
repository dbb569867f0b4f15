/**
 * Runs as data under `runs/` (analysis layer, uses polars): config, seed, backend and versions,
 * metrics as parquet, checkpoints, summaries; finished configurations are skipped on re-run.
 *
 * @example One folder per (name, config, seed); a finished run is found again, never redone
 * ```ts
 * import assert from "node:assert/strict";
 * import { finishedRuns, openRun } from "./mod.ts";
 *
 * const root = await Deno.makeTempDir(); // default: runs/ (KDLAB_RUNS)
 * const config = { objective: "taid", steps: 100 };
 * const run = openRun({ name: "demo", config, seed: 1, root });
 * if (!run.finished) {
 *   // train({ ..., sink: run, checkpoint: { dir: run.checkpointDir, every: 50 } }) writes rows:
 *   run.write({ step: 1, kind: "train", loss: 2.5 });
 *   run.write({ step: 2, kind: "train", loss: 2.0 });
 *   run.finish({ val_ce: 1.9 }); // metrics.parquet, then summary.json
 * }
 *
 * const again = openRun({ name: "demo", config, seed: 1, root });
 * assert.equal(again.id, run.id); // demo-<hash of config and seed>
 * assert.ok(again.finished);
 * assert.equal(again.summary().val_ce, 1.9);
 * assert.deepEqual(again.rows.map((r) => r.loss), [2.5, 2.0]);
 * assert.notEqual(openRun({ name: "demo", config, seed: 2, root }).id, run.id);
 * // Summaries of finished runs as a polars table, for the notebook's analysis.
 * assert.deepEqual(finishedRuns("demo", root).getColumn("val_ce").toArray(), [1.9]);
 * await Deno.remove(root, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./run.ts";
export * from "./lock.ts";
export * from "./status.ts";
export * from "./pool.ts";
export * from "./export.ts";
