/**
 * The run plan of "Knowledge distillation: A good teacher is patient and consistent" (Beyer, Zhai,
 * Royer, Markeeva, Anil & Kolesnikov, CVPR 2022) on Fashion-MNIST: a CNN teacher trained on all 60k
 * training images (the vision study's) is distilled into an MLP on a small transfer set (2% of
 * each class, 1,200 images, drawn by the run's seed), as their Flowers102 / Pet runs distil on a
 * small data set, for budgets of 1×, 4× and 16× a base number of epochs, and 64× for the fixed
 * teacher, consistent teaching and function matching.
 *
 * The ways of teaching follow the setups their Fig. 3 compares (big_vision's distill configs
 * reproduce it), their random crop replaced by a random translation of up to 3 pixels
 * (`lib/data/augment.ts`) on 28×28 images:
 * - `fixed`: a fixed teacher, the usual cached-logit KD: teacher and student both see the clean
 *   image, so the teacher's targets never change ("fix/rs").
 * - `fixed_views`: the teacher's targets on the clean image, the student on random views of it.
 * - `independent`: teacher and student on independently drawn views ("ind/rc").
 * - `consistent`: both on the same view ("same/rc").
 * - `funmatch`: function matching, the same view mixed up with mixup (p = 1, as their configs).
 * - `ce`: the student on the labels alone, on random views (no teacher).
 *
 * Every distillation method minimises KL(teacher ‖ student) at T = 1 (big_vision's `kl` distance;
 * their per-data-set temperatures are not tuned here); optimiser and schedule are the vision
 * study's students' (AdamW, warm-up then cosine).
 *
 * @module
 */
import type { ClassifierViews } from "../train/tasks.ts";
import type { VisionSpec } from "./vision.ts";
import { visionStudy } from "./vision_study.ts";
import { warmupStepsFor } from "../train/schedule.ts";
import { seedNumbers } from "./seeds.ts";

/** The scales of the study. */
export type PatientScale = "quick" | "full";

/** Budgets of one scale. */
export interface PatientScaleConfig {
  /** Passes over the transfer set of each budget, shortest first. */
  epochs: number[];
  /** A longer budget still, run by {@linkcode PATIENCE_METHODS} only (the patience test). */
  longEpochs: number;
  /** Examples per optimiser step. */
  batchSize: number;
  /** Test images evaluated per run (undefined: all 10,000). */
  testExamples?: number;
}

/** Budgets of the two scales. */
export const PATIENT_SCALES: Record<PatientScale, PatientScaleConfig> = {
  quick: { epochs: [2, 8], longEpochs: 16, batchSize: 128, testExamples: 1000 },
  full: { epochs: [32, 128, 512], longEpochs: 2048, batchSize: 128 },
};

/** Fraction of each class in the transfer set. */
export const TRANSFER_FRACTION = 0.02;
/** Images in the transfer set: 2% of Fashion-MNIST's 5,998–6,000 training images per class. */
export const TRANSFER_IMAGES = 1200;
/** The views' largest translation, in pixels. */
export const MAX_SHIFT = 3;

/** One way of teaching: the objective and what each model sees. */
export interface TeachingMethod {
  /** Name in the results. */
  method: string;
  /** What the paper calls it. */
  label: string;
  /** The objective's registry name. */
  objective: string;
  /** The views; undefined: the clean images for both. */
  augment?: ClassifierViews;
}

/** The methods of the study (see the module doc). */
export const TEACHING_METHODS: TeachingMethod[] = [
  { method: "ce", label: "labels (no teacher)", objective: "sft", augment: views() },
  { method: "fixed", label: "fixed teacher", objective: "fkl" },
  {
    method: "fixed_views",
    label: "fixed teacher, student views",
    objective: "fkl",
    augment: views("clean"),
  },
  {
    method: "independent",
    label: "independent noise",
    objective: "fkl",
    augment: views("independent"),
  },
  { method: "consistent", label: "consistent teaching", objective: "fkl", augment: views("same") },
  {
    method: "funmatch",
    label: "function matching",
    objective: "fkl",
    augment: { views: { maxShift: MAX_SHIFT, mixup: 1 }, teacher: "same" },
  },
];

/** The methods also trained for {@linkcode PatientScaleConfig.longEpochs}. */
export const PATIENCE_METHODS = ["fixed", "consistent", "funmatch"];

function views(teacher?: ClassifierViews["teacher"]): ClassifierViews {
  return { views: { maxShift: MAX_SHIFT }, ...(teacher ? { teacher } : {}) };
}

/** One student run: a method at a budget, one seed. */
export interface PatientStudent {
  /** The method's key ({@linkcode TEACHING_METHODS}). */
  method: string;
  /** Passes over the transfer set. */
  epochs: number;
  /** The run's seed (also the transfer set's). */
  seed: number;
  /** The run. */
  spec: VisionSpec;
}

/** Every run of the study at one scale. */
export interface PatientStudy {
  /** The scale's budgets. */
  config: PatientScaleConfig;
  /** The CNN teacher (the vision study's Fashion-MNIST teacher at the same scale). */
  teacher: VisionSpec;
  /** The students, by method, then budget, then seed. */
  students: PatientStudent[];
}

/** Optimiser steps of a budget of `epochs` passes over the transfer set. */
export function stepsForEpochs(epochs: number, batchSize: number): number {
  return Math.round(epochs * TRANSFER_IMAGES / batchSize);
}

/** The budgets (in epochs) a method trains for at a scale. */
export function budgetsOf(method: string, c: PatientScaleConfig): number[] {
  return PATIENCE_METHODS.includes(method) ? [...c.epochs, c.longEpochs] : c.epochs;
}

/** Every spec of the study at one scale. */
export function patientStudy(scale: PatientScale, seeds: number): PatientStudy {
  const c = PATIENT_SCALES[scale];
  const teacher = visionStudy(scale, 1).teachers.fashion;
  const students = TEACHING_METHODS.flatMap((m) =>
    budgetsOf(m.method, c).flatMap((epochs) =>
      seedNumbers(seeds).map((seed) => {
        const steps = stepsForEpochs(epochs, c.batchSize);
        const spec: VisionSpec = {
          name: `patient-${scale}-${m.method}-e${epochs}-s${seed}`,
          dataset: "fashion-mnist",
          fewShot: TRANSFER_FRACTION,
          model: { kind: "mlp", config: { hidden: [128] } },
          train: {
            steps,
            batchSize: c.batchSize,
            peakLr: 3e-3,
            warmupSteps: warmupStepsFor(steps),
            weightDecay: 1e-4,
          },
          objective: { name: m.objective },
          seed,
          ...(m.objective === "sft" ? {} : { teacher }),
          ...(m.augment ? { augment: m.augment } : {}),
          measureFit: true,
          ...(c.testExamples ? { testExamples: c.testExamples } : {}),
        };
        return { method: m.method, epochs, seed, spec };
      })
    )
  );
  return { config: c, teacher, students };
}
