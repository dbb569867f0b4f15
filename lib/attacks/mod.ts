/**
 * Adversarial attacks for robustness experiments (defensive distillation).
 *
 * @module
 */
export * from "./fgsm.ts";
