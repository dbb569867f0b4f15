/**
 * Training: AdamW, learning-rate schedules, gradient clipping, the loop with exact resume,
 * tasks for language models and classifiers, evaluation, and the metrics sink interface.
 *
 * @module
 */
export * from "./adamw.ts";
export * from "./schedule.ts";
export * from "./clip.ts";
export * from "./sink.ts";
export * from "./checkpoint.ts";
export * from "./trainer.ts";
export * from "./tasks.ts";
export * from "./evaluate.ts";
