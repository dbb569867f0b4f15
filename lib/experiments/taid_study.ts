/**
 * The run plan of the TAID reproduction (Shing et al., "TAID: Temporally Adaptive Interpolated
 * Distillation", ICLR 2025) on the Brown corpus: which teachers and students are trained, with
 * which objectives and sizes, at the `quick` and `full` scales. The notebook runs these specs and
 * analyses their summaries; nothing here trains by itself.
 *
 * @module
 */
import { TAID, type TAIDConfig } from "../taid/mod.ts";
import type { LMSpec } from "./lm.ts";
import { warmupStepsFor } from "../train/schedule.ts";
import { seedNumbers } from "./seeds.ts";

/** The scales of the study. */
export type TAIDScale = "quick" | "full";

/** A method of the main table: a name for tables and the registry objective it runs. */
export interface TAIDMethod {
  /** Name in tables and run names. */
  method: string;
  /** The registry objective it trains with. */
  objective: LMSpec["objective"];
  /** On-policy data (GKD); absent: the data's windows. */
  onPolicy?: LMSpec["onPolicy"];
}

/** Sizes and budgets of one scale. */
export interface TAIDScaleConfig {
  /** BPE vocabulary size. */
  vocabSize: number;
  /** Tokens per training window. */
  contextLength: number;
  /** Windows per optimiser step. */
  batchSize: number;
  /** The three teachers of the capacity-gap study (the main one teaches every method). */
  teachers: Record<"small" | "main" | "large", { model: LMSpec["model"]; steps: number }>;
  /** The student every method trains, and its budget in optimiser steps. */
  student: { model: LMSpec["model"]; steps: number };
  /** Delta-KD: the genre, the teacher's fine-tuning steps, the genre students' steps. */
  delta: { category: string; teacherSteps: number; studentSteps: number };
  /** Validation windows of every run. */
  eval: LMSpec["eval"];
}

/** Sizes of the two scales (see the notebook for the time they take). */
export const TAID_SCALES: Record<TAIDScale, TAIDScaleConfig> = {
  quick: {
    vocabSize: 1024,
    contextLength: 32,
    batchSize: 8,
    teachers: {
      small: { model: { nLayer: 1, nHead: 2, dModel: 48 }, steps: 30 },
      main: { model: { nLayer: 2, nHead: 2, dModel: 64 }, steps: 60 },
      large: { model: { nLayer: 2, nHead: 4, dModel: 96 }, steps: 40 },
    },
    student: { model: { nLayer: 1, nHead: 2, dModel: 24 }, steps: 20 },
    delta: { category: "learned", teacherSteps: 10, studentSteps: 10 },
    eval: { windows: 24, modeWindows: 4 },
  },
  full: {
    vocabSize: 1024,
    contextLength: 64,
    batchSize: 16,
    teachers: {
      small: { model: { nLayer: 2, nHead: 2, dModel: 96 }, steps: 1000 },
      main: { model: { nLayer: 3, nHead: 4, dModel: 128 }, steps: 1500 },
      large: { model: { nLayer: 4, nHead: 4, dModel: 160 }, steps: 1200 },
    },
    student: { model: { nLayer: 2, nHead: 2, dModel: 64 }, steps: 250 },
    delta: { category: "learned", teacherSteps: 200, studentSteps: 150 },
    eval: { windows: 256, modeWindows: 32 },
  },
};

/**
 * TAID's α scaled to the run length, as `shared/reference/taid.md` §2 advises: the official 5e-4
 * is tuned for ~15,000 steps; with fewer steps the adaptive branch never beats the linear floor.
 */
export const scaledTAIDAlpha = (steps: number): number => Math.min(0.2, 5e-4 * 15000 / steps);

/** GKD's prompt: the first quarter of each window; the student generates the rest. */
export const gkdPromptLength = (contextLength: number): number =>
  Math.max(1, Math.floor(contextLength / 4));

/**
 * GKD (Agarwal et al., ICLR 2024) as the TAID paper's baseline: generalized JSD on outputs that
 * the student generates with probability λ (TRL's defaults β = 0.5, λ = 0.5; sampling at T = 1).
 */
export function gkdMethod(contextLength: number, fraction = 0.5): TAIDMethod {
  return {
    method: "gkd",
    objective: { name: "gjsd", config: { beta: 0.5 } },
    onPolicy: { fraction, promptLength: gkdPromptLength(contextLength) },
  };
}

/** λ of the on-policy study (seed 1): GKD's supervised counterpart, GKD, and fully on-policy. */
export const ON_POLICY_FRACTIONS = [0, 0.5, 1];

/**
 * The methods of the main table (the paper's Table 1 baselines; DKD stands for CTKD/DKD; GKD is
 * generalized JSD on half student-generated outputs, DistiLLM is skew KL / skew RKL on the data).
 */
export function taidMethods(studentSteps: number, contextLength: number): TAIDMethod[] {
  const alpha = scaledTAIDAlpha(studentSteps);
  return [
    { method: "sft", objective: { name: "sft" } },
    { method: "fkl", objective: { name: "fkl" } },
    { method: "rkl", objective: { name: "rkl" } },
    { method: "tvd", objective: { name: "tvd" } },
    { method: "gjsd", objective: { name: "gjsd", config: { beta: 0.5 } } },
    { method: "skl", objective: { name: "skl", config: { alpha: 0.1 } } },
    { method: "srkl", objective: { name: "srkl", config: { alpha: 0.1 } } },
    { method: "akl", objective: { name: "akl", config: { mu: 0.5 } } },
    {
      method: "dkd",
      objective: { name: "dkd", config: { temperature: 1, alpha: 1, beta: 0.5, warmup: 1 } },
    },
    gkdMethod(contextLength),
    { method: "taid", objective: { name: "taid", config: { alpha } } },
    { method: "taid_linear", objective: { name: "taid", config: { alpha, adaptive: false } } },
  ];
}

/** Multiples of the student budget in the budget study. */
export const STUDENT_BUDGET_FACTORS = [1, 2, 4, 8];
/** Methods of the budget study. */
export const BUDGET_METHODS = ["fkl", "taid", "taid_linear"];

/** Every run of the TAID study at one scale; see {@linkcode taidStudy}. */
export interface TAIDStudy {
  /** The scale's sizes and budgets. */
  config: TAIDScaleConfig;
  /** The three supervised teachers. */
  teachers: Record<"small" | "main" | "large", LMSpec>;
  /** The main teacher fine-tuned on one genre (Delta-KD's teacher). */
  teacherGenre: LMSpec;
  /** The main table: every method at every seed, from the main teacher. */
  main: (TAIDMethod & { seed: number; spec: LMSpec })[];
  /** The capacity-gap study: FKL and TAID from each teacher size, every seed. */
  capacity: {
    size: "small" | "main" | "large";
    method: string;
    seed: number;
    teacher: LMSpec;
    spec: LMSpec;
  }[];
  /** Delta-KD against FKL on the genre, each from a supervised student (`base`). */
  delta: { method: string; seed: number; spec: LMSpec; base: LMSpec }[];
  /** The budget study: {@linkcode BUDGET_METHODS} at each budget factor, every seed. */
  budget: { method: string; steps: number; seed: number; spec: LMSpec }[];
  /**
   * The on-policy study: GKD at each λ of {@linkcode ON_POLICY_FRACTIONS}, every seed, from
   * scratch as in the main table, and from the supervised student of the same seed (GKD's own
   * setting, where the student's samples are text from the start).
   */
  onPolicy: {
    method: string;
    fraction: number;
    start: "scratch" | "sft";
    seed: number;
    spec: LMSpec;
  }[];
}

/** Every spec of the study at one scale. */
export function taidStudy(scale: TAIDScale, seeds: number): TAIDStudy {
  const c = TAID_SCALES[scale];
  const trainCfg = (steps: number, peakLr: number): LMSpec["train"] => ({
    steps,
    batchSize: c.batchSize,
    contextLength: c.contextLength,
    peakLr,
    warmupSteps: warmupStepsFor(steps),
    clipNorm: 1,
    weightDecay: 0.1,
  });
  const data = { vocabSize: c.vocabSize };
  const genre = { vocabSize: c.vocabSize, categories: [c.delta.category] };
  const teacher = (size: "small" | "main" | "large"): LMSpec => ({
    name: `taid-${scale}-teacher-${size}`,
    data,
    model: c.teachers[size].model,
    train: trainCfg(c.teachers[size].steps, 2e-3),
    objective: { name: "sft" },
    seed: 1000,
    eval: c.eval,
  });
  const teachers = { small: teacher("small"), main: teacher("main"), large: teacher("large") };
  const student = (
    m: TAIDMethod,
    seed: number,
    t: LMSpec,
    tag = "main",
    steps = c.student.steps,
  ): LMSpec => ({
    name: `taid-${scale}-${tag}-${m.method}-s${seed}`,
    data,
    model: c.student.model,
    train: trainCfg(steps, 3e-3),
    objective: m.objective,
    seed,
    ...(m.objective.name === "sft" ? {} : { teacher: t }),
    ...(m.onPolicy ? { onPolicy: m.onPolicy } : {}),
    eval: c.eval,
  });
  const seedList = seedNumbers(seeds);
  const methods = taidMethods(c.student.steps, c.contextLength);
  const main = methods.flatMap((m) =>
    seedList.map((seed) => ({ ...m, seed, spec: student(m, seed, teachers.main) }))
  );
  const byName = (name: string) => methods.find((m) => m.method === name)!;
  const capacity = (["small", "main", "large"] as const).flatMap((size) =>
    ["fkl", "taid"].flatMap((method) =>
      seedList.map((seed) => ({
        size,
        method,
        seed,
        teacher: teachers[size],
        spec: size === "main"
          ? student(byName(method), seed, teachers.main)
          : student(byName(method), seed, teachers[size], `cap-${size}`),
      }))
    )
  );
  const teacherGenre: LMSpec = {
    name: `taid-${scale}-teacher-genre`,
    data: genre,
    model: c.teachers.main.model,
    train: trainCfg(c.delta.teacherSteps, 5e-4),
    objective: { name: "sft" },
    seed: 1001,
    init: teachers.main,
    eval: c.eval,
  };
  const delta = ["fkl", "delta_kd"].flatMap((method) =>
    seedList.map((seed) => {
      const base = student(byName("sft"), seed, teachers.main);
      const spec: LMSpec = {
        name: `taid-${scale}-delta-${method}-s${seed}`,
        data: genre,
        model: c.student.model,
        train: trainCfg(c.delta.studentSteps, 1e-3),
        objective: { name: method },
        seed,
        teacher: teacherGenre,
        init: base,
        ...(method === "delta_kd" ? { teacherBase: teachers.main, studentBase: base } : {}),
        eval: c.eval,
      };
      return { method, seed, spec, base };
    })
  );
  // The budget study: FKL, TAID and its linear ablation at 1×, 2×, 4× and 8× the student
  // budget, every seed (α scaled to each budget; the 1× runs are the main table's).
  const budget = STUDENT_BUDGET_FACTORS.flatMap((factor) => {
    const steps = factor * c.student.steps;
    const budgetMethods = taidMethods(steps, c.contextLength).filter((m) =>
      BUDGET_METHODS.includes(m.method)
    );
    return budgetMethods.flatMap((m) =>
      seedList.map((seed) => ({
        method: m.method,
        steps,
        seed,
        spec: factor === 1
          ? student(m, seed, teachers.main)
          : student(m, seed, teachers.main, `budget${steps}`, steps),
      }))
    );
  });
  // The on-policy study (every seed): from scratch, λ = 0.5 is the main table's GKD; from the
  // supervised student, each λ fine-tunes it for the student budget at the delta study's rate.
  const onPolicy = (["scratch", "sft"] as const).flatMap((start) =>
    ON_POLICY_FRACTIONS.flatMap((fraction) =>
      seedList.map((seed) => {
        const m = gkdMethod(c.contextLength, fraction);
        const spec = start === "sft"
          ? {
            ...student(m, seed, teachers.main, `onpolicy-sft${fraction}`),
            train: trainCfg(c.student.steps, 1e-3),
            init: student(byName("sft"), seed, teachers.main),
          }
          : student(m, seed, teachers.main, fraction === 0.5 ? "main" : `onpolicy${fraction}`);
        return { method: m.method, fraction, start, seed, spec };
      })
    )
  );
  return { config: c, teachers, teacherGenre, main, capacity, delta, budget, onPolicy };
}

/**
 * TAID's t trajectory when its update rule is replayed on a recorded loss sequence with other
 * settings (e.g. momentum β): what t would have done given the same losses. An approximation,
 * since in a real run the losses depend on t.
 */
export function replayTAID(losses: number[], config: TAIDConfig): number[] {
  const taid = new TAID(config);
  return losses.map((loss, step) => {
    const t = taid.t;
    taid.update(loss, step);
    return t;
  });
}
