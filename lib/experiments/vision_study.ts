/**
 * The run plan of the classic logit-KD comparison and of defensive distillation on MNIST /
 * Fashion-MNIST, at the `quick` and `full` scales. Methods and defaults follow
 * `shared/reference/kd_losses.md`: Hinton KD (T = 4), DKD (Zhao et al., CVPR 2022), NKD (Yang et
 * al., ICCV 2023), PLD, Sinkhorn KD (SinKD's full objective, and its Sinkhorn term alone), dual-head KD and PS-KD (self-distillation, no teacher);
 * defensive distillation after Papernot et al. (IEEE S&P 2016) at T ∈ {1, 20, 50, 100}.
 *
 * @module
 */
import type { ImageDatasetName } from "../data/mod.ts";
import type { VisionSpec } from "./vision.ts";

/** The scales of the study. */
export type VisionScale = "quick" | "full";

/** Budgets of one scale. */
export interface VisionScaleConfig {
  batchSize: number;
  teacherSteps: Record<ImageDatasetName, number>;
  studentSteps: Record<ImageDatasetName, number>;
  fewShotSteps: number;
  defenseSteps: number;
  attackExamples: number;
  /** Test images evaluated per run (undefined: all). */
  testExamples?: number;
}

/** Budgets of the two scales. */
export const VISION_SCALES: Record<VisionScale, VisionScaleConfig> = {
  quick: {
    batchSize: 64,
    teacherSteps: { "fashion-mnist": 40, mnist: 30 },
    studentSteps: { "fashion-mnist": 20, mnist: 15 },
    fewShotSteps: 15,
    defenseSteps: 20,
    attackExamples: 100,
    testExamples: 1000,
  },
  // Full: teachers and students trained to convergence (Fashion-MNIST's 60k images ~6 and ~9
  // epochs, MNIST's 8.6k ~22 and ~45, the 5% few-shot split 64): with 600 student steps (1.3
  // epochs on Fashion) every method was still far from its own optimum and the comparison said
  // more about the speed of the first epoch than about the objective.
  full: {
    batchSize: 128,
    teacherSteps: { "fashion-mnist": 3000, mnist: 1500 },
    studentSteps: { "fashion-mnist": 4000, mnist: 3000 },
    fewShotSteps: 1500,
    defenseSteps: 300,
    attackExamples: 500,
  },
};

/** The methods of the comparison, as named in the results CSV. */
export const VISION_METHODS: { method: string; objective: VisionSpec["objective"] }[] = [
  { method: "ce", objective: { name: "sft" } },
  {
    method: "kd",
    objective: { name: "kd", config: { temperature: 4, ceWeight: 0.1, kdWeight: 0.9 } },
  },
  {
    method: "dkd",
    objective: { name: "dkd", config: { temperature: 4, alpha: 1, beta: 8, warmup: 1 } },
  },
  { method: "nkd", objective: { name: "nkd" } },
  { method: "pld", objective: { name: "pld" } },
  // The batch-wise Sinkhorn distance alone (an ablation: it cannot tell samples apart), and
  // SinKD's full objective (soft CE + hard CE + Sinkhorn), as the paper trains.
  { method: "sinkhorn", objective: { name: "sinkhorn" } },
  { method: "sinkd", objective: { name: "sinkd" } },
  { method: "dual_head", objective: { name: "dual_head" } },
  { method: "ps_kd", objective: { name: "ps_kd" } },
];

/** Attack temperatures and ε of the defensive-distillation experiment. */
export const DEFENSE_TEMPERATURES = [1, 20, 50, 100];
export const FGSM_EPSILONS = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];

/** Every spec of the study at one scale. */
export function visionStudy(scale: VisionScale, seeds: number) {
  const c = VISION_SCALES[scale];
  const trainCfg = (steps: number, peakLr = 2e-3): VisionSpec["train"] => ({
    steps,
    batchSize: c.batchSize,
    peakLr,
    warmupSteps: Math.max(1, Math.round(steps / 20)),
    weightDecay: 1e-4,
  });
  const cnn = { kind: "cnn" as const, config: { channels: [16, 32], featureDim: 128 } };
  const teacher = (dataset: ImageDatasetName): VisionSpec => ({
    name: `vision-${scale}-${dataset}-teacher`,
    dataset,
    model: cnn,
    train: trainCfg(c.teacherSteps[dataset]),
    objective: { name: "sft" },
    seed: 100,
    ...(c.testExamples ? { testExamples: c.testExamples } : {}),
  });
  const seedList = Array.from({ length: seeds }, (_, i) => i + 1);
  const students = (dataset: ImageDatasetName, setting: "full" | "fewshot") =>
    VISION_METHODS.flatMap((m) =>
      seedList.map((seed) => {
        const selfDistill = m.method === "ps_kd";
        const spec: VisionSpec = {
          name: `vision-${scale}-${dataset}-${setting}-${m.method}-s${seed}`,
          dataset,
          ...(setting === "fewshot" ? { fewShot: 0.05 } : {}),
          model: { kind: "mlp", config: { hidden: [32], auxHead: m.method === "dual_head" } },
          train: trainCfg(setting === "fewshot" ? c.fewShotSteps : c.studentSteps[dataset], 3e-3),
          objective: m.objective,
          seed,
          ...(m.objective.name === "sft" || selfDistill ? {} : { teacher: teacher(dataset) }),
          ...(selfDistill ? { selfDistill } : {}),
          ...(c.testExamples ? { testExamples: c.testExamples } : {}),
        };
        return { method: m.method, dataset, setting, seed, spec };
      })
    );
  const attack = {
    epsilons: FGSM_EPSILONS,
    examples: c.attackExamples,
    temperatures: [] as number[],
  };
  const defense = DEFENSE_TEMPERATURES.map((T) => {
    const first: VisionSpec = {
      name: `vision-${scale}-defense-T${T}-teacher`,
      dataset: "mnist",
      model: cnn,
      train: trainCfg(c.defenseSteps),
      objective: { name: "sft" },
      seed: 200,
      temperature: T,
      attack: { ...attack, temperatures: [1] },
    };
    const distilled: VisionSpec = {
      name: `vision-${scale}-defense-T${T}-distilled`,
      dataset: "mnist",
      model: cnn,
      train: trainCfg(c.defenseSteps),
      objective: { name: "fkl" },
      seed: 201,
      teacher: first,
      temperature: T,
      attack: { ...attack, temperatures: T === 1 ? [1] : [1, T] },
    };
    return { T, first, distilled };
  });
  const main = [
    ...students("fashion-mnist", "full"),
    ...students("fashion-mnist", "fewshot"),
    ...students("mnist", "full"),
  ];
  return {
    config: c,
    teachers: { fashion: teacher("fashion-mnist"), mnist: teacher("mnist") },
    main,
    defense,
  };
}
