/**
 * Runs as data under `runs/` (analysis layer, uses polars): config, seed, backend and versions,
 * metrics as parquet, checkpoints, summaries; finished configurations are skipped on re-run.
 *
 * @module
 */
export * from "./run.ts";
export * from "./pool.ts";
export * from "./export.ts";
