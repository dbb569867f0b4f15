/**
 * Analysis helpers for notebooks: grouped statistics of run summaries.
 *
 * @module
 */
export * from "./stats.ts";
export * from "./ranks.ts";
