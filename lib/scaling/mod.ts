/**
 * Scaling-law fitting (float64, no tensors): L-BFGS, and the Chinchilla law fitted as Epoch AI's
 * replication does, with compute-optimal allocation.
 *
 * @module
 */
export * from "./lbfgs.ts";
export * from "./chinchilla.ts";
export * from "./bootstrap.ts";
export * from "./supervised.ts";
export * from "./distillation.ts";
export * from "./compute.ts";
export * from "./allocation.ts";
