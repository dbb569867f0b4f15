/**
 * The run plan of the MiniLM reproduction (Wang et al., "MiniLM: Deep Self-Attention Distillation
 * for Task-Agnostic Compression of Pre-Trained Transformers", NeurIPS 2020) on the Brown corpus.
 * MiniLM distils a student task-agnostically, from the teacher's last-layer self-attention alone
 * (attention distributions and value relation), and then fine-tunes it on each task. Here:
 *
 * 1. **distillation** (task-agnostic): a student with the teacher's head count learns from the
 *    TAID study's main teacher on all of Brown with MiniLM's L_AT + L_VR, with L_AT alone (the
 *    paper's "w/o value relation" ablation), with MiniLMv2's Q-Q, K-K and V-V relations (Wang et
 *    al., Findings of ACL 2021), with MiniLMv2 again for a student with half the teacher's heads
 *    (which MiniLM cannot compare), with forward KL on the logits (logit-level distillation), or
 *    with next-token cross-entropy (supervised pretraining), or with MiniLM plus that
 *    cross-entropy (a diagnostic: does attention transfer add to what supervision trains?); then
 *    the two choices the papers make for larger teachers: MiniLMv2 from the teacher's
 *    upper-middle layer instead of its last, with the main teacher and with the TAID study's
 *    large one (deeper and wider), and MiniLM from the large teacher directly or through a
 *    teacher assistant (MiniLM's recipe for students of at most half the teacher's depth and
 *    width). Every student has the same budget and parameter count.
 * 2. **fine-tuning** (the "task"): each distilled student, and one from a fresh initialisation,
 *    trains with cross-entropy on one genre (DistiLLM's), and is scored on that genre's
 *    validation text.
 *
 * The notebook runs these specs and analyses their summaries; nothing here trains by itself.
 *
 * @module
 */
import type { LMSpec } from "./lm.ts";
import { DISTILLM_SCALES } from "./distillm_study.ts";
import { type TAIDScale, taidStudy } from "./taid_study.ts";
import { warmupStepsFor } from "../train/schedule.ts";

/** A task-agnostic distillation method: its name in tables and the registry objective. */
export interface MiniLMMethod {
  /** Name in tables and run names. */
  method: string;
  /** The registry objective of the distillation stage. */
  objective: LMSpec["objective"];
  /** The student's head count from the teacher's, when they differ (MiniLMv2 allows any). */
  studentHeads?: (teacherHeads: number) => number;
  /** The teacher: the TAID study's main one (default) or its large one (deeper and wider). */
  teacher?: "main" | "large";
  /**
   * The teacher's layer distilled from its layer count (MiniLMv2's upper-middle layer); default:
   * the last.
   */
  teacherLayer?: (teacherLayers: number) => number;
  /**
   * Distil through a teacher assistant (MiniLM, Sec. 3.4, after Mirzadeh et al. 2020): the
   * teacher first distils, with this method's objective, a model with its own depth and heads
   * and the student's width; that assistant then teaches the student.
   */
  assistant?: boolean;
}

/** MiniLMv2's upper-middle teacher layer here: the one below the last. */
const upperMiddle = (layers: number) => layers - 1;

/**
 * MiniLMv2's relation heads A_r here: 8, twice the teacher's attention heads (16 dimensions per
 * relation head in the teacher, 8 in the student); the paper also uses more relation heads than
 * the models have attention heads.
 */
export const MINILM_RELATION_HEADS = 8;

/** The distillation stage's methods (every one from the same teacher, on the same data). */
export const MINILM_METHODS: MiniLMMethod[] = [
  { method: "minilm", objective: { name: "minilm" } },
  { method: "minilm_at", objective: { name: "minilm", config: { valueWeight: 0 } } },
  {
    method: "minilmv2",
    objective: { name: "minilmv2", config: { relationHeads: MINILM_RELATION_HEADS } },
  },
  {
    method: "minilmv2_half",
    objective: { name: "minilmv2", config: { relationHeads: MINILM_RELATION_HEADS } },
    studentHeads: (teacherHeads) => teacherHeads / 2,
  },
  { method: "fkl", objective: { name: "fkl" } },
  { method: "sft", objective: { name: "sft" } },
  // A diagnostic, not the paper's: MiniLM plus next-token CE, which also trains the output side
  // (last block's MLP, final norm, tied output embedding) that MiniLM's stage 1 leaves alone.
  { method: "minilm_ce", objective: { name: "minilm", config: { ceWeight: 1 } } },
  // Which teacher layer (MiniLMv2), and a teacher assistant (MiniLM), with the main teacher and
  // with the large one.
  {
    method: "minilmv2_upper",
    objective: { name: "minilmv2", config: { relationHeads: MINILM_RELATION_HEADS } },
    teacherLayer: upperMiddle,
  },
  {
    method: "large_minilmv2",
    objective: { name: "minilmv2", config: { relationHeads: MINILM_RELATION_HEADS } },
    teacher: "large",
  },
  {
    method: "large_minilmv2_upper",
    objective: { name: "minilmv2", config: { relationHeads: MINILM_RELATION_HEADS } },
    teacher: "large",
    teacherLayer: upperMiddle,
  },
  { method: "large_minilm", objective: { name: "minilm" }, teacher: "large" },
  { method: "large_minilm_ta", objective: { name: "minilm" }, teacher: "large", assistant: true },
];

/** The fine-tuning stage's starting points: each method's student, or a fresh initialisation. */
export const MINILM_STARTS: string[] = ["scratch", ...MINILM_METHODS.map((m) => m.method)];

/** Sizes of one scale. */
export interface MiniLMScaleConfig {
  /** Seeds of every run. */
  seeds: number;
  /** Optimiser steps of the distillation stage, and its peak learning rate. */
  distill: { steps: number; peakLr: number };
  /** The fine-tuning stage: genre, steps, peak learning rate, steps between validations. */
  finetune: { category: string; steps: number; peakLr: number; validateEvery: number };
}

/**
 * The two scales. Full: 500 distillation steps (twice the TAID study's student budget), then 180
 * fine-tuning steps on the science-fiction genre's 17.7 k training tokens (~10 epochs at 16
 * windows of 64 tokens), validated every epoch.
 */
export const MINILM_SCALES: Record<TAIDScale, MiniLMScaleConfig> = {
  quick: {
    seeds: 1,
    distill: { steps: 40, peakLr: 3e-3 },
    finetune: {
      category: DISTILLM_SCALES.quick.category,
      steps: 16,
      peakLr: 3e-3,
      validateEvery: 4,
    },
  },
  full: {
    seeds: 3,
    distill: { steps: 500, peakLr: 3e-3 },
    finetune: {
      category: DISTILLM_SCALES.full.category,
      steps: 180,
      peakLr: 3e-3,
      validateEvery: 18,
    },
  },
};

/** Every run of the study at one scale; see {@linkcode miniLMStudy}. */
export interface MiniLMStudy {
  /** The scale's sizes. */
  config: MiniLMScaleConfig;
  /** The frozen teacher of most methods (the TAID study's main teacher). */
  teacher: LMSpec;
  /** The TAID study's large teacher (deeper and wider), for the methods that name it. */
  largeTeacher: LMSpec;
  /** The teacher assistants, one per seed (what `assistant` methods learn from). */
  assistants: { seed: number; spec: LMSpec }[];
  /** The distillation stage: every method at every seed. */
  distill: (MiniLMMethod & { seed: number; spec: LMSpec })[];
  /** The fine-tuning stage: every start at every seed (`init` is the distilled student). */
  finetune: { start: string; seed: number; spec: LMSpec }[];
}

/**
 * Every spec of the study. The student is the TAID study's student with its teacher's head count
 * (MiniLM compares attention head by head), or with `studentHeads` (the same parameters split
 * into other heads). A method's objective gets its `teacherLayer` for its teacher's depth. Runs
 * are named `minilm-<scale>-distill-<method>-s<seed>`, `minilm-<scale>-assistant-s<seed>` and
 * `minilm-<scale>-finetune-<start>-s<seed>`.
 */
export function miniLMStudy(scale: TAIDScale): MiniLMStudy {
  const c = MINILM_SCALES[scale];
  const taid = taidStudy(scale, 1);
  const teachers = { main: taid.teachers.main, large: taid.teachers.large };
  const base = taid.main.find((r) => r.method === "sft")!.spec;
  const train = (steps: number, peakLr: number): LMSpec["train"] => ({
    ...base.train,
    steps,
    peakLr,
    warmupSteps: warmupStepsFor(steps),
  });
  // The student with its teacher's head count, or the method's studentHeads.
  const modelOf = (m?: MiniLMMethod): LMSpec["model"] => {
    const teacherHeads = teachers[m?.teacher ?? "main"].model.nHead;
    return { ...base.model, nHead: m?.studentHeads?.(teacherHeads) ?? teacherHeads };
  };
  const seeds = Array.from({ length: c.seeds }, (_, i) => i + 1);
  const distilled = (
    name: string,
    model: LMSpec["model"],
    m: MiniLMMethod,
    teacher: LMSpec | undefined,
    seed: number,
  ): LMSpec => {
    const layers = teacher?.model.nLayer ?? 0;
    const objective = m.teacherLayer
      ? { ...m.objective, config: { ...m.objective.config, teacherLayer: m.teacherLayer(layers) } }
      : m.objective;
    return {
      name,
      data: base.data,
      model,
      train: train(c.distill.steps, c.distill.peakLr),
      objective,
      seed,
      ...(teacher ? { teacher } : {}),
      eval: base.eval,
    };
  };
  // MiniLM's assistant: the large teacher's depth and heads, the student's width.
  const assistants = seeds.map((seed) => {
    const large = teachers.large;
    const model = { ...large.model, dModel: base.model.dModel };
    const m = MINILM_METHODS.find((m) => m.assistant)!;
    return { seed, spec: distilled(`minilm-${scale}-assistant-s${seed}`, model, m, large, seed) };
  });
  const distill = MINILM_METHODS.flatMap((m) =>
    seeds.map((seed) => {
      const teacher = m.objective.name === "sft"
        ? undefined
        : m.assistant
        ? assistants.find((a) => a.seed === seed)!.spec
        : teachers[m.teacher ?? "main"];
      const name = `minilm-${scale}-distill-${m.method}-s${seed}`;
      return { ...m, seed, spec: distilled(name, modelOf(m), m, teacher, seed) };
    })
  );
  const f = c.finetune;
  const finetune = MINILM_STARTS.flatMap((start) =>
    seeds.map((seed) => {
      const init = distill.find((d) => d.method === start && d.seed === seed)?.spec;
      const spec: LMSpec = {
        name: `minilm-${scale}-finetune-${start}-s${seed}`,
        data: { vocabSize: base.data.vocabSize, categories: [f.category] },
        // A distilled student keeps its shape; a fresh one is the main teacher's student.
        model: init?.model ?? modelOf(),
        train: train(f.steps, f.peakLr),
        objective: { name: "sft" },
        seed,
        ...(init ? { init } : {}),
        validateEvery: f.validateEvery,
        eval: base.eval,
      };
      return { start, seed, spec };
    })
  );
  return {
    config: c,
    teacher: teachers.main,
    largeTeacher: teachers.large,
    assistants,
    distill,
    finetune,
  };
}
