/**
 * Where training metrics go. The trainer (compute layer) only knows this interface; the run
 * store (analysis layer, `lib/runs/`) writes rows as parquet, and tests keep them in memory.
 *
 * @module
 */

/** One row of metrics: `step` (optimiser steps completed) and `kind` plus named numbers. */
export interface MetricRow {
  /** Optimiser steps completed. */
  step: number;
  /** "train" for the optimiser step, "eval" for an evaluation. */
  kind: "train" | "eval";
  /** Named numbers (losses, learning rate, gradient norm, evaluation metrics, ...). */
  [metric: string]: number | string;
}

/** Receives metric rows as training goes. */
export interface MetricsSink {
  /** Receives one row. */
  write(row: MetricRow): void;
  /** Persist rows so far (called when a checkpoint is written, and at the end). */
  commit?(): Promise<void> | void;
  /** A run resumes after `step` completed steps: drop rows with a larger step (written after
   * the checkpoint it resumes from). */
  resume?(step: number): Promise<void> | void;
}

/** Keeps rows in memory (tests, notebooks that plot as they go). */
export class MemorySink implements MetricsSink {
  /** Rows in the order written. */
  rows: MetricRow[] = [];

  /** Appends a row. */
  write(row: MetricRow): void {
    this.rows.push(row);
  }

  resume(step: number): void {
    this.rows = this.rows.filter((r) => r.step <= step);
  }
}
