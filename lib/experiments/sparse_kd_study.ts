/**
 * The run plan of the sparse-KD reproduction (Anshumann et al., "Sparse Logit Sampling:
 * Accelerating Knowledge Distillation in LLMs", ACL 2025) on the Brown corpus: students are
 * pre-trained from scratch by distillation from the TAID study's main teacher, whose predictions
 * over the training text are computed once and cached sparse (`lib/train/teacher_targets.ts`):
 * Top-K probabilities (renormalised or not) or Random-Sampling KD's importance-weighted sampled
 * tokens. Baselines: cross-entropy on the data (no teacher) and dense KD (the teacher run at every
 * step, the whole distribution). Every method trains on the same aligned windows of the same
 * text. The notebook runs these specs and analyses their summaries; nothing here trains by itself.
 *
 * @module
 */
import type { Sparsifier } from "../losses/mod.ts";
import type { LMSpec } from "./lm.ts";
import { TAID_SCALES, type TAIDScale, taidStudy } from "./taid_study.ts";
import { warmupStepsFor } from "../train/schedule.ts";

/** A method of the study. */
export interface SparseKDMethod {
  /** Name in tables and run names. */
  method: string;
  /** The registry objective it trains with. */
  objective: LMSpec["objective"];
  /** Its cached sparse targets (absent: the data's labels or the dense teacher). */
  sparseTargets?: Sparsifier;
}

/** One run of the study. */
export interface SparseKDRun extends SparseKDMethod {
  /** Seed of the run. */
  seed: number;
  /** What it trains. */
  spec: LMSpec;
}

/** Every run of the study at one scale. */
export interface SparseKDStudy {
  /** Seeds of every method. */
  seeds: number;
  /** The frozen teacher (the TAID study's main teacher, trained on all of Brown). */
  teacher: LMSpec;
  /** Every method at every seed. */
  runs: SparseKDRun[];
}

/** Training windows of each scale, and the budget in optimiser steps. */
export const SPARSE_KD_SCALES: Record<
  TAIDScale,
  { windows: number; steps: number; seeds: number }
> = {
  quick: { windows: 128, steps: 24, seeds: 1 },
  full: { windows: 4096, steps: 1000, seeds: 3 },
};

/**
 * The methods: `ce` (next-token cross-entropy, no teacher), `kd` (dense forward KL, the teacher
 * run at every step), Top-K at K = 12 (the paper's headline sparsity, renormalised and not) and
 * K = 50, and Random-Sampling KD with 16 and 64 draws per position at proposal temperature 1 (the
 * stored tokens are the distinct ones among them).
 */
export function sparseKDMethods(): SparseKDMethod[] {
  const sparse = (method: string, sparseTargets: Sparsifier): SparseKDMethod => ({
    method,
    objective: { name: "sparse_kd" },
    sparseTargets,
  });
  return [
    { method: "ce", objective: { name: "sft" } },
    { method: "kd", objective: { name: "fkl" } },
    sparse("top12", { kind: "top_k", k: 12 }),
    sparse("top12u", { kind: "top_k", k: 12, normalize: false }),
    sparse("top50", { kind: "top_k", k: 50 }),
    sparse("rs16", { kind: "sample", samples: 16 }),
    sparse("rs64", { kind: "sample", samples: 64 }),
  ];
}

/**
 * Every spec of the study: the TAID study's student shape, batch, context and learning rate at the
 * scale, trained on the first `windows` aligned windows of Brown's training text.
 */
export function sparseKDStudy(scale: TAIDScale): SparseKDStudy {
  const c = TAID_SCALES[scale];
  const s = SPARSE_KD_SCALES[scale];
  const taid = taidStudy(scale, 1);
  const teacher = taid.teachers.main;
  // The TAID study's student (its shape, batch, context, learning rate, clipping, decay), trained
  // for this study's steps.
  const student = taid.main[0].spec;
  const data = { vocabSize: c.vocabSize, trainTokens: s.windows * c.contextLength + 1 };
  const runs = sparseKDMethods().flatMap((m) =>
    Array.from({ length: s.seeds }, (_, i): SparseKDRun => {
      const seed = i + 1;
      const spec: LMSpec = {
        name: `sparsekd-${scale}-${m.method}-s${seed}`,
        data,
        model: student.model,
        train: {
          ...student.train,
          steps: s.steps,
          warmupSteps: warmupStepsFor(s.steps),
        },
        objective: m.objective,
        seed,
        ...(m.objective.name === "sft" ? {} : { teacher }),
        ...(m.sparseTargets ? { sparseTargets: m.sparseTargets } : { alignedWindows: true }),
        eval: student.eval,
      };
      return { ...m, seed, spec };
    })
  );
  return { seeds: s.seeds, teacher, runs };
}
