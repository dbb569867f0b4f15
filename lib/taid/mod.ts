/**
 * TAID: Temporally Adaptive Interpolated Distillation (Shing et al., ICLR 2025): the loss and
 * the adaptive schedule of its interpolation parameter t.
 *
 * @module
 */
export * from "./taid_loss.ts";
export * from "./taid.ts";
export * from "./device_taid.ts";
