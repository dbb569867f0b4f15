/**
 * The run plan of the PHI-S reproduction (Ranzinger et al., arXiv 2410.01680) at the `quick` and
 * `full` scales: four teachers trained here, each standing in for one of the paper's (Tab. 6–7)
 * through a fixed distortion of its features, and one student per method of Tab. 12 and seed.
 *
 * | teacher | trained on | features | distortion | stands for |
 * |---|---|---|---|---|
 * | `clip` | Fashion-MNIST, CNN | 64 | ×0.03, mild anisotropy | DFN CLIP: tiny activations (global std 0.029) |
 * | `siglip` | MNIST, MLP | 128 | rotation, log-scales σ = 1, offsets σ = 5 | SigLIP: channel means −6.9…31, stds 0.4…22 |
 * | `dino` | MNIST, CNN | 40 | none (raw ReLU features) | DINOv2: moderate, near-raw |
 * | `sam` | Fashion-MNIST, CNN | 24 → 96 | random lift ×10, offsets σ = 20 | SAM: largest scale (std 5.5), low effective rank |
 *
 * Widths 64, 128, 40 (Sylvester(2) ⊗ Paley I(19)) and 96 (Sylvester(8) ⊗ Paley I(11)) all have
 * Hadamard matrices.
 *
 * @module
 */
import type { ImageDatasetName } from "../data/mod.ts";
import { PHIS_METHODS, type PhisStudentSpec, type PhisTeacher } from "./phis.ts";
import type { VisionSpec } from "./vision.ts";
import { warmupStepsFor } from "../train/schedule.ts";

/** The scales of the study. */
export type PhisScale = "quick" | "full";

/** Budgets of one scale. */
export interface PhisScaleConfig {
  /** Optimiser steps of each teacher classifier. */
  teacherSteps: number;
  /** Optimiser steps of each student. */
  studentSteps: number;
  /** Images per optimiser step. */
  batchSize: number;
  /** Images in the training pool and test sets. */
  data: PhisStudentSpec["data"];
  /** Linear-probe iterations and k of kNN. */
  probe: PhisStudentSpec["probe"];
}

/** Budgets of the two scales. */
export const PHIS_SCALES: Record<PhisScale, PhisScaleConfig> = {
  quick: {
    teacherSteps: 40,
    studentSteps: 30,
    batchSize: 32,
    data: { trainPerDataset: 400, testPerDataset: 200 },
    probe: { iterations: 30, k: 10 },
  },
  full: {
    teacherSteps: 600,
    studentSteps: 1200,
    batchSize: 64,
    data: { trainPerDataset: 6000, testPerDataset: 1429 },
    probe: { iterations: 200, k: 20 },
  },
};

function teacherSpec(
  name: string,
  dataset: ImageDatasetName,
  model: VisionSpec["model"],
  c: PhisScaleConfig,
  scale: PhisScale,
): VisionSpec {
  return {
    name: `phis-${scale}-teacher-${name}`,
    dataset,
    model,
    train: {
      steps: c.teacherSteps,
      batchSize: 128,
      peakLr: 2e-3,
      warmupSteps: warmupStepsFor(c.teacherSteps),
      weightDecay: 1e-4,
    },
    objective: { name: "sft" },
    seed: 1,
  };
}

/** The four teachers of a scale (see the module doc). */
export function phisTeachers(scale: PhisScale): PhisTeacher[] {
  const c = PHIS_SCALES[scale];
  const cnn = (channels: number[], featureDim: number): VisionSpec["model"] => ({
    kind: "cnn",
    config: { channels, featureDim },
  });
  return [
    {
      name: "clip",
      standsFor: "DFN CLIP (tiny activations)",
      spec: teacherSpec("clip", "fashion-mnist", cnn([16, 32], 64), c, scale),
      distortion: { width: 64, gain: 0.03, logScaleStd: 0.3, shiftStd: 0.02, seed: 1 },
    },
    {
      name: "siglip",
      standsFor: "SigLIP (anisotropic, offset channels)",
      spec: teacherSpec(
        "siglip",
        "mnist",
        { kind: "mlp", config: { hidden: [256, 128] } },
        c,
        scale,
      ),
      distortion: { width: 128, gain: 1, logScaleStd: 1, shiftStd: 5, seed: 2 },
    },
    {
      name: "dino",
      standsFor: "DINOv2 (moderate, raw)",
      spec: teacherSpec("dino", "mnist", cnn([32, 64], 40), c, scale),
      distortion: { width: 40, gain: 1, logScaleStd: 0, shiftStd: 0, seed: 3 },
    },
    {
      name: "sam",
      standsFor: "SAM (largest scale, low rank)",
      spec: teacherSpec("sam", "fashion-mnist", cnn([16, 32], 24), c, scale),
      distortion: { width: 96, gain: 10, logScaleStd: 0.5, shiftStd: 20, seed: 4 },
    },
  ];
}

/** Every student of the study: each method of {@link PHIS_METHODS} × seeds 1..seeds. */
export function phisStudy(
  scale: PhisScale,
  seeds: number,
  methods = PHIS_METHODS,
): PhisStudentSpec[] {
  const c = PHIS_SCALES[scale];
  const teachers = phisTeachers(scale);
  return methods.flatMap((method) =>
    Array.from({ length: seeds }, (_, i) => ({
      name: `phis-${scale}-${method.name}-s${i + 1}`,
      method,
      seed: i + 1,
      teachers,
      data: c.data,
      student: { channels: [16, 32], featureDim: 128, headHidden: 128 },
      train: {
        steps: c.studentSteps,
        batchSize: c.batchSize,
        peakLr: 2e-3,
        warmupSteps: warmupStepsFor(c.studentSteps),
        weightDecay: 1e-4,
      },
      probe: c.probe,
    }))
  );
}
