/**
 * The run plan of the DistiLLM reproduction (Ko, Kim, Chen & Yun, "DistiLLM: Towards Streamlined
 * Distillation for Large Language Models", ICML 2024) on the Brown corpus. DistiLLM fine-tunes an
 * already trained student on a small task (Dolly, 20 epochs) with skew KL and adaptive off-policy
 * student-generated outputs; here the student pretrained on all of Brown (the TAID study's
 * supervised student) is distilled on one small genre from the TAID study's main teacher, in two
 * settings: all of the genre's training text for many epochs, and only its first few thousand
 * tokens at a high learning rate, where the validation loss climbs early and DistiLLM's threshold
 * has something to react to. The notebook runs these specs and analyses their summaries; nothing
 * here trains by itself.
 *
 * @module
 */
import type { LMSpec } from "./lm.ts";
import { gkdPromptLength, type TAIDMethod, type TAIDScale, taidStudy } from "./taid_study.ts";
import { warmupStepsFor } from "../train/schedule.ts";

/**
 * A method of the study: a TAID-study method (name, objective, fixed-rate on-policy outputs; λ = 0
 * is the data's outputs), DistiLLM's adaptive off-policy outputs, or MiniLLM's rollouts.
 */
export interface DistiLLMMethod extends TAIDMethod {
  /** DistiLLM's adaptive off-policy outputs. */
  adaptiveOffPolicy?: LMSpec["adaptiveOffPolicy"];
  /** MiniLLM's teacher-mixed rollouts (with the `minillm` objective). */
  miniLLM?: LMSpec["miniLLM"];
  /** MiniLLM's pre-training loss on all of Brown. */
  pretraining?: LMSpec["pretraining"];
}

/** One setting: how much of the genre the student trains on, for how long, and how fast. */
export interface DistiLLMSetting {
  /** `genre`: all of the genre's training text; `small`: its first `trainTokens` tokens. */
  name: "genre" | "small";
  /** Training tokens (undefined: all of the genre's). */
  trainTokens?: number;
  /** Optimiser steps of every run. */
  steps: number;
  /** Steps between validations (DistiLLM validates once per epoch). */
  validateEvery: number;
  /** Peak learning rate (warm-up then cosine; the TAID study's students train at 3e-3). */
  peakLr: number;
}

/** Sizes of one scale: the genre, the seeds, and the settings every method runs in. */
export interface DistiLLMScaleConfig {
  /** The Brown genre the student is distilled on. */
  category: string;
  /** Seeds of every method. */
  seeds: number;
  /** The settings, each with every method at every seed. */
  settings: DistiLLMSetting[];
}

/**
 * The two scales: quick (tests, `reproduce`) and full (the committed results). At full scale a
 * step sees 16 windows of 64 tokens: the genre's 17.7 k training tokens are ~18 steps an epoch
 * (360 steps: 20 epochs), the small setting's 2,048 tokens two steps an epoch (60 steps: 30
 * epochs).
 */
export const DISTILLM_SCALES: Record<TAIDScale, DistiLLMScaleConfig> = {
  quick: {
    category: "science_fiction",
    seeds: 1,
    settings: [
      { name: "genre", steps: 24, validateEvery: 4, peakLr: 1e-3 },
      { name: "small", trainTokens: 512, steps: 12, validateEvery: 2, peakLr: 1e-2 },
    ],
  },
  full: {
    category: "science_fiction",
    seeds: 3,
    settings: [
      { name: "genre", steps: 360, validateEvery: 18, peakLr: 3e-3 },
      { name: "small", trainTokens: 2048, steps: 60, validateEvery: 2, peakLr: 1e-2 },
    ],
  },
};

/**
 * The methods: supervised fine-tuning (next-token cross-entropy, no teacher), KD (forward KL),
 * reverse KL and DistiLLM's skew KL / skew RKL (α = 0.1) on the data's outputs; skew KL on half
 * on-policy outputs (GKD's fixed rate); and DistiLLM: skew KL with adaptive off-policy outputs at
 * the official ε = 0.1 and at TAID's re-implementation's ε = 0, and at ε = 0.1 with a replay
 * buffer of two micro-batches (`distillm_replay`). The official buffer holds 1000 sequences,
 * ~0.4% of the micro-batches of a 20-epoch Dolly run at batch 8, and never fills in runs as short
 * as ours (at most 14 of 60 micro-batches are generated); two micro-batches fill after two
 * generations, so the replayed half of the algorithm runs too. MiniLLM (Gu et al., ICLR 2024),
 * the policy-gradient method DistiLLM compares its cost with, runs with the official defaults
 * (teacher-mixed α = 0.2, γ = 0.95, 4 PPO epochs per rollout, clip 0.2, single-step term) at
 * the setting's learning rate, like every other method, and without its long-term policy-gradient
 * term (`minillm_single`: the single-step reverse KL on the same rollouts), which isolates what
 * the policy gradient adds, and with its pre-training loss (`minillm_pt`: L_PT on all of Brown,
 * the base student's pre-training text, at the official weight 1 and teacher share 0.5). Every
 * method keeps the first quarter of a window as the prompt and scores the rest.
 *
 * @param contextLength Tokens per window.
 * @param batchSize Windows per micro-batch (the replay buffer's unit).
 */
export function distillmMethods(contextLength: number, batchSize: number): DistiLLMMethod[] {
  const promptLength = gkdPromptLength(contextLength);
  const data = { fraction: 0, promptLength };
  const skl = { name: "skl", config: { alpha: 0.1 } };
  return [
    { method: "sft", objective: { name: "sft" }, onPolicy: data },
    { method: "kd", objective: { name: "fkl" }, onPolicy: data },
    { method: "rkl", objective: { name: "rkl" }, onPolicy: data },
    { method: "skl", objective: skl, onPolicy: data },
    { method: "srkl", objective: { name: "srkl", config: { alpha: 0.1 } }, onPolicy: data },
    { method: "skl_onpolicy", objective: skl, onPolicy: { fraction: 0.5, promptLength } },
    {
      method: "distillm",
      objective: skl,
      adaptiveOffPolicy: { promptLength, lossEpsilon: 0.1 },
    },
    {
      method: "distillm_eps0",
      objective: skl,
      adaptiveOffPolicy: { promptLength, lossEpsilon: 0 },
    },
    {
      method: "distillm_replay",
      objective: skl,
      adaptiveOffPolicy: { promptLength, lossEpsilon: 0.1, capacity: 2 * batchSize },
    },
    { method: "minillm", objective: { name: "minillm" }, miniLLM: { promptLength } },
    {
      method: "minillm_single",
      objective: { name: "minillm", config: { longTerm: false } },
      miniLLM: { promptLength },
    },
    {
      method: "minillm_pt",
      objective: { name: "minillm" },
      miniLLM: { promptLength },
      pretraining: {},
    },
  ];
}

/** Every run of the study at one scale. */
export interface DistiLLMStudy {
  /** The scale's sizes. */
  config: DistiLLMScaleConfig;
  /** The frozen teacher (the TAID study's main teacher). */
  teacher: LMSpec;
  /** The student every run starts from (the TAID study's supervised student, seed 1). */
  base: LMSpec;
  /** Every method at every seed in every setting. */
  runs: (DistiLLMMethod & { setting: DistiLLMSetting["name"]; seed: number; spec: LMSpec })[];
  /**
   * MiniLLM with and without its long-term term given {@link MINILLM_BUDGET}× the genre
   * setting's steps (validations as often relative to the run), at every seed: whether the policy
   * gradient pays off in a longer run.
   */
  budget: (DistiLLMMethod & { setting: "genre"; seed: number; multiple: number; spec: LMSpec })[];
}

/** How many times the genre setting's steps {@link DistiLLMStudy.budget}'s runs train for. */
export const MINILLM_BUDGET = 4;

/**
 * Every spec of the study at one scale. Runs of the `genre` setting are named
 * `distillm-<scale>-<method>-s<seed>`, those of `small` `distillm-<scale>-small-<method>-s<seed>`,
 * the budget runs `distillm-<scale>-x<multiple>-<method>-s<seed>`.
 */
export function distillmStudy(scale: TAIDScale): DistiLLMStudy {
  const c = DISTILLM_SCALES[scale];
  const taid = taidStudy(scale, 1);
  const teacher = taid.teachers.main;
  const base = taid.main.find((r) => r.method === "sft" && r.seed === 1)!.spec;
  const contextLength = base.train.contextLength;
  const runs = c.settings.flatMap((setting) =>
    distillmMethods(contextLength, base.train.batchSize).flatMap((m) =>
      Array.from({ length: c.seeds }, (_, i) => i + 1).map((seed) => {
        const prefix = setting.name === "genre" ? "" : `${setting.name}-`;
        const spec: LMSpec = {
          name: `distillm-${scale}-${prefix}${m.method}-s${seed}`,
          data: {
            vocabSize: base.data.vocabSize,
            categories: [c.category],
            ...(setting.trainTokens !== undefined ? { trainTokens: setting.trainTokens } : {}),
          },
          model: base.model,
          train: {
            ...base.train,
            steps: setting.steps,
            peakLr: setting.peakLr,
            warmupSteps: warmupStepsFor(setting.steps),
          },
          objective: m.objective,
          seed,
          teacher,
          init: base,
          ...(m.onPolicy ? { onPolicy: m.onPolicy } : {}),
          ...(m.adaptiveOffPolicy ? { adaptiveOffPolicy: m.adaptiveOffPolicy } : {}),
          ...(m.miniLLM ? { miniLLM: m.miniLLM } : {}),
          ...(m.pretraining ? { pretraining: m.pretraining } : {}),
          validateEvery: setting.validateEvery,
          eval: base.eval,
        };
        return { ...m, setting: setting.name, seed, spec };
      })
    )
  );
  const genre = c.settings.find((s) => s.name === "genre")!;
  const budget = runs.filter((r) =>
    r.setting === "genre" && (r.method === "minillm" || r.method === "minillm_single")
  ).map((r) => {
    const steps = genre.steps * MINILLM_BUDGET;
    const spec: LMSpec = {
      ...r.spec,
      name: `distillm-${scale}-x${MINILLM_BUDGET}-${r.method}-s${r.seed}`,
      train: { ...r.spec.train, steps, warmupSteps: warmupStepsFor(steps) },
      validateEvery: genre.validateEvery * MINILLM_BUDGET,
    };
    return { ...r, setting: "genre" as const, multiple: MINILLM_BUDGET, spec };
  });
  return { config: c, teacher, base, runs, budget };
}
