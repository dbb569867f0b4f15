/**
 * The run plan of our small distillation scaling sweep on the Brown corpus, after Busbridge et al.
 * ("Distillation Scaling Laws", ICML 2025, §4): GPTs of one aspect ratio; teachers of several sizes
 * trained on one half of the training documents; students of several sizes and
 * budgets trained on the other half, either supervised or distilled (forward KL, τ = 1, pure
 * distillation λ = 1, as the paper finds near-optimal) from every teacher.
 *
 * @module
 */
import { gptForwardFlopsPerToken } from "../scaling/compute.ts";
import type { LMSpec } from "./lm.ts";
import { warmupStepsFor } from "../train/schedule.ts";

/** The sweep's scales. */
export type SweepScale = "quick" | "full";

/** A model size of the family: layers and width at a fixed d_model / n_layer. */
export interface SweepSize {
  /** Size label in run names. */
  name: string;
  /** Transformer blocks. */
  nLayer: number;
  /** Residual width (heads of 32 dimensions). */
  dModel: number;
}

/** Sizes and budgets of one scale. */
export interface SweepConfig {
  /** BPE vocabulary size. */
  vocabSize: number;
  /** Tokens per training window. */
  contextLength: number;
  /** Windows per optimiser step. */
  batchSize: number;
  /** Teacher sizes. */
  teacherSizes: SweepSize[];
  /** Teacher budgets, in optimiser steps (every size trains at every budget). */
  teacherSteps: number[];
  /** Student sizes. */
  studentSizes: SweepSize[];
  /** Student budgets, in optimiser steps. */
  studentSteps: number[];
  /** Validation windows of every run. */
  eval: LMSpec["eval"];
}

const size = (nLayer: number): SweepSize => ({
  name: `L${nLayer}d${32 * nLayer}`,
  nLayer,
  dModel: 32 * nLayer,
});

/** The two scales (d_model / n_layer = 32 throughout). */
export const SWEEP_SCALES: Record<SweepScale, SweepConfig> = {
  quick: {
    vocabSize: 1024,
    contextLength: 32,
    batchSize: 8,
    teacherSizes: [size(2), size(3)],
    teacherSteps: [30],
    studentSizes: [size(1)],
    studentSteps: [10, 30],
    eval: { windows: 16, modeWindows: 2 },
  },
  full: {
    vocabSize: 1024,
    contextLength: 64,
    batchSize: 16,
    teacherSizes: [size(2), size(3), size(4)],
    // One teacher budget: with 600-step teachers as well the sweep needed ~4 core-hours (about
    // 2 h on the 2-core CI machine); teacher strength still varies with size (3 levels).
    teacherSteps: [1800],
    studentSizes: [size(1), size(2)],
    studentSteps: [100, 300, 900],
    eval: { windows: 256, modeWindows: 4 },
  },
};

/** One planned run with what the analysis needs. */
export interface SweepRun {
  /** Teacher, supervised student, or student distilled from `teacher`. */
  role: "teacher" | "supervised" | "distilled";
  /** The model size. */
  size: SweepSize;
  /** Optimiser steps. */
  steps: number;
  /** Tokens seen: steps × batch × context. */
  tokens: number;
  /** The teacher run of a distilled student. */
  teacher?: SweepRun;
  /** The run. */
  spec: LMSpec;
}

/** Every run of the sweep at one scale; see {@linkcode distillationSweep}. */
export interface DistillationSweep {
  /** The scale's sizes and budgets. */
  config: SweepConfig;
  /** Every teacher size at every teacher budget. */
  teachers: SweepRun[];
  /** Every student size at every budget, supervised and distilled from every teacher. */
  students: SweepRun[];
  /** Non-embedding parameters N and forward FLOPs per token F of a size. */
  counts: (size: SweepSize) => { N: number; F: number };
}

/** Every run of the sweep at one scale. */
export function distillationSweep(scale: SweepScale, seed = 1): DistillationSweep {
  const c = SWEEP_SCALES[scale];
  const model = (s: SweepSize) => ({ nLayer: s.nLayer, nHead: s.dModel / 32, dModel: s.dModel });
  const train = (steps: number): LMSpec["train"] => ({
    steps,
    batchSize: c.batchSize,
    contextLength: c.contextLength,
    peakLr: 3e-3,
    warmupSteps: warmupStepsFor(steps),
    clipNorm: 1,
    weightDecay: 0.1,
  });
  const tokens = (steps: number) => steps * c.batchSize * c.contextLength;
  const teachers: SweepRun[] = c.teacherSizes.flatMap((s) =>
    c.teacherSteps.map((steps) => ({
      role: "teacher" as const,
      size: s,
      steps,
      tokens: tokens(steps),
      spec: {
        name: `sweep-${scale}-teacher-${s.name}-${steps}`,
        data: { vocabSize: c.vocabSize, trainHalf: 0 as const },
        model: model(s),
        train: train(steps),
        objective: { name: "sft" },
        seed,
        eval: c.eval,
      },
    }))
  );
  const students: SweepRun[] = c.studentSizes.flatMap((s) =>
    c.studentSteps.flatMap((steps) => {
      const base = {
        data: { vocabSize: c.vocabSize, trainHalf: 1 as const },
        model: model(s),
        train: train(steps),
        seed,
        eval: c.eval,
      };
      const supervised: SweepRun = {
        role: "supervised",
        size: s,
        steps,
        tokens: tokens(steps),
        spec: {
          ...base,
          name: `sweep-${scale}-sup-${s.name}-${steps}`,
          objective: { name: "sft" },
        },
      };
      const distilled: SweepRun[] = teachers.map((t) => ({
        role: "distilled",
        size: s,
        steps,
        tokens: tokens(steps),
        teacher: t,
        spec: {
          ...base,
          name: `sweep-${scale}-kd-${s.name}-${steps}-from-${t.size.name}-${t.steps}`,
          objective: { name: "fkl" },
          teacher: t.spec,
        },
      }));
      return [supervised, ...distilled];
    })
  );
  const counts = (s: SweepSize) => ({
    N: 12 * s.nLayer * s.dModel * s.dModel,
    F: gptForwardFlopsPerToken({ ...s, vocabSize: c.vocabSize, contextLength: c.contextLength }),
  });
  return { config: c, teachers, students, counts };
}
