/**
 * Experiments as data: specs that train, evaluate and summarise runs under `runs/`, used by the
 * reproduction notebooks (analysis layer: uses the run store).
 *
 * @module
 */
export * from "./mode_mass.ts";
export * from "./lm.ts";
export * from "./mode_toy.ts";
export * from "./taid_study.ts";
