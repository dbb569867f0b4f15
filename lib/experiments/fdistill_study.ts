/**
 * The run plan of the f-distill reproduction (Wen, Li, Du & Mou, "f-Divergence Minimization for
 * Sequence-Level Knowledge Distillation", ACL 2023) on the Brown corpus, in the DistiLLM study's
 * genre setting: the TAID study's supervised student, pretrained on all of Brown, is distilled on
 * one genre from the TAID study's main teacher (same teacher, start, steps, learning rate and
 * prompts as `./distillm_study.ts`). f-distill minimises a sequence-level f-divergence estimated
 * from sampled sequences: KL on the teacher's samples, reverse KL on the student's, JS and TVD on
 * both (`lib/losses/fdistill.ts`, `lib/train/sequence_samples.ts`). Its baselines here: SeqKD
 * (Kim & Rush 2016: cross-entropy on the teacher's samples), and the word-level divergences on the
 * data's outputs, which separate what the divergence does from what the samples do. The notebook
 * runs these specs and analyses their summaries; nothing here trains by itself.
 *
 * @module
 */
import { distillmStudy } from "./distillm_study.ts";
import type { LMSpec } from "./lm.ts";
import { gkdPromptLength, type TAIDMethod, type TAIDScale } from "./taid_study.ts";
import { seedNumbers } from "./seeds.ts";

/** A method of the study: a name, its objective, and the outputs it trains on. */
export interface FDistillMethod extends TAIDMethod {
  /** The data's outputs (`data`) or sampled sequences. */
  outputs: "data" | "teacher" | "student" | "both";
  /** Sampled sequences (absent for the data's outputs). */
  sequenceSamples?: LMSpec["sequenceSamples"];
  /** The DistiLLM study's run of the same method (shared: trained once), by its method name. */
  distillm?: string;
}

/** One run of the study. */
export interface FDistillRun extends FDistillMethod {
  /** Seed of the run. */
  seed: number;
  /** What it trains. */
  spec: LMSpec;
}

/** Every run of the study at one scale. */
export interface FDistillStudy {
  /** The genre (the DistiLLM study's). */
  category: string;
  /** Seeds of every method. */
  seeds: number;
  /** The frozen teacher (the TAID study's main teacher). */
  teacher: LMSpec;
  /** The student every run starts from (the TAID study's supervised student, seed 1). */
  base: LMSpec;
  /** Every method at every seed. */
  runs: FDistillRun[];
}

/**
 * The methods. On the data's outputs (word level, f-distill's "KD" baseline and its token-level
 * analogues): SFT, KL, reverse KL (the DistiLLM study's `sft`, `kd`, `rkl` runs), JS (generalized
 * JSD, β = ½) and TVD. On sampled sequences: SeqKD (cross-entropy on the teacher's samples, and
 * on its greedy continuations: Kim & Rush approximate the teacher's mode by beam search, greedy
 * being a beam of one), and f-distill's KL (teacher's samples), reverse KL (student's), JS (β = ½)
 * and TVD (both; a micro-batch holds a teacher and a student continuation of each prompt). Every
 * method keeps the first quarter of a window as the prompt and scores the rest; sampling at
 * temperature 1 unless greedy.
 *
 * @param contextLength Tokens per window.
 */
export function fdistillMethods(contextLength: number): FDistillMethod[] {
  const promptLength = gkdPromptLength(contextLength);
  const data = { fraction: 0, promptLength };
  const sampled = (sides: ("teacher" | "student")[]) => ({ promptLength, sides });
  const fdistill = (divergence: string) => ({ name: "fdistill", config: { divergence } });
  return [
    { method: "sft", objective: { name: "sft" }, outputs: "data", onPolicy: data, distillm: "sft" },
    {
      method: "kl_data",
      objective: { name: "fkl" },
      outputs: "data",
      onPolicy: data,
      distillm: "kd",
    },
    {
      method: "rkl_data",
      objective: { name: "rkl" },
      outputs: "data",
      onPolicy: data,
      distillm: "rkl",
    },
    {
      method: "js_data",
      objective: { name: "gjsd", config: { beta: 0.5 } },
      outputs: "data",
      onPolicy: data,
    },
    { method: "tvd_data", objective: { name: "tvd" }, outputs: "data", onPolicy: data },
    {
      method: "seqkd",
      objective: { name: "sft" },
      outputs: "teacher",
      sequenceSamples: sampled(["teacher"]),
    },
    {
      method: "seqkd_greedy",
      objective: { name: "sft" },
      outputs: "teacher",
      sequenceSamples: { ...sampled(["teacher"]), temperature: 0 },
    },
    {
      method: "kl",
      objective: fdistill("kl"),
      outputs: "teacher",
      sequenceSamples: sampled(["teacher"]),
    },
    {
      method: "rkl",
      objective: fdistill("rkl"),
      outputs: "student",
      sequenceSamples: sampled(["student"]),
    },
    {
      method: "js",
      objective: fdistill("js"),
      outputs: "both",
      sequenceSamples: sampled(["teacher", "student"]),
    },
    {
      method: "tvd",
      objective: fdistill("tvd"),
      outputs: "both",
      sequenceSamples: sampled(["teacher", "student"]),
    },
  ];
}

/**
 * Every spec of the study at one scale: the DistiLLM study's genre setting and seeds. Runs shared
 * with that study keep its specs (and run folders); the others are named
 * `fdistill-<scale>-<method>-s<seed>`.
 */
export function fdistillStudy(scale: TAIDScale): FDistillStudy {
  const distillm = distillmStudy(scale);
  const { category, seeds } = distillm.config;
  const genre = distillm.runs.filter((r) => r.setting === "genre");
  const template = genre.find((r) => r.method === "kd")!.spec;
  const runs = fdistillMethods(template.train.contextLength).flatMap((m) =>
    seedNumbers(seeds).map((seed): FDistillRun => {
      if (m.distillm) {
        const shared = genre.find((r) => r.method === m.distillm && r.seed === seed)!;
        return { ...m, seed, spec: shared.spec };
      }
      const { onPolicy: _o, ...rest } = template;
      const spec: LMSpec = {
        ...rest,
        name: `fdistill-${scale}-${m.method}-s${seed}`,
        objective: m.objective,
        seed,
        ...(m.onPolicy ? { onPolicy: m.onPolicy } : {}),
        ...(m.sequenceSamples ? { sequenceSamples: m.sequenceSamples } : {}),
      };
      return { ...m, seed, spec };
    })
  );
  return { category, seeds, teacher: distillm.teacher, base: distillm.base, runs };
}
