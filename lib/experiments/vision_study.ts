/**
 * The run plan of the classic logit-KD comparison and of defensive distillation on MNIST /
 * Fashion-MNIST, at the `quick` and `full` scales. Methods and defaults follow
 * `shared/reference/kd_losses.md`: Hinton KD (T = 4), DKD (Zhao et al., CVPR 2022), CTKD (Li et
 * al., AAAI 2023: KD with a learnable, adversarially trained temperature), NKD (Yang et al., ICCV
 * 2023), PLD, Sinkhorn KD (SinKD's full objective, and its Sinkhorn term alone), dual-head KD and
 * PS-KD (self-distillation, no teacher);
 * defensive distillation after Papernot et al. (IEEE S&P 2016) at T ∈ {1, 20, 50, 100}.
 *
 * @module
 */
import type { ImageDatasetName } from "../data/mod.ts";
import type { VisionSpec } from "./vision.ts";
import { warmupStepsFor } from "../train/schedule.ts";
import { seedNumbers } from "./seeds.ts";

/** The scales of the study. */
export type VisionScale = "quick" | "full";

/** Budgets of one scale. */
export interface VisionScaleConfig {
  /** Examples per optimiser step. */
  batchSize: number;
  /** Steps of each data set's CNN teacher. */
  teacherSteps: Record<ImageDatasetName, number>;
  /** Steps of each data set's MLP students. */
  studentSteps: Record<ImageDatasetName, number>;
  /** Steps of the few-shot (5% of each class) students. */
  fewShotSteps: number;
  /** Steps of each defensive-distillation network. */
  defenseSteps: number;
  /** Test images attacked with FGSM. */
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
  // KD with CTKD's learnable temperature (official defaults: T = 1 + 20·σ(θ), θ₀ = 1, the
  // gradient reversal ramped over 10 epochs) in place of KD's fixed T = 4; same CE/KD weights.
  { method: "ctkd", objective: { name: "ctkd", config: { ceWeight: 0.1, kdWeight: 0.9 } } },
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
/** The ε of the FGSM evaluation, in pixel units ([0, 1] images). */
export const FGSM_EPSILONS = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];

/** One student of the main table: a method on a data set, all data or few-shot, one seed. */
export interface VisionStudent {
  /** The method's key ({@linkcode VISION_METHODS}). */
  method: string;
  /** The data set. */
  dataset: ImageDatasetName;
  /** All training images, or 5% of each class. */
  setting: "full" | "fewshot";
  /** The run's seed. */
  seed: number;
  /** The run. */
  spec: VisionSpec;
}

/** One temperature of the defensive-distillation experiment (Papernot et al. 2016). */
export interface DefensePair {
  /** Training temperature of both networks. */
  T: number;
  /** The first network, trained on labels at temperature T. */
  first: VisionSpec;
  /** The distilled network, trained on the first's soft labels at T. */
  distilled: VisionSpec;
}

/** Every run of the vision study at one scale. */
export interface VisionStudy {
  /** The scale's budgets. */
  config: VisionScaleConfig;
  /** The CNN teachers of the two data sets. */
  teachers: { fashion: VisionSpec; mnist: VisionSpec };
  /** The main table's students. */
  main: VisionStudent[];
  /** The defensive-distillation pairs, one per temperature. */
  defense: DefensePair[];
}

/** Every spec of the study at one scale. */
export function visionStudy(scale: VisionScale, seeds: number): VisionStudy {
  const c = VISION_SCALES[scale];
  const trainCfg = (steps: number, peakLr = 2e-3): VisionSpec["train"] => ({
    steps,
    batchSize: c.batchSize,
    peakLr,
    warmupSteps: warmupStepsFor(steps),
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
  const seedList = seedNumbers(seeds);
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

/**
 * The spec of one student of the main table: `method` on `dataset` in `setting`, seed `seed`.
 * Other studies reuse these runs (the labels-only and KD students share their folders).
 */
export function visionStudent(
  study: VisionStudy,
  dataset: ImageDatasetName,
  setting: VisionStudent["setting"],
  method: string,
  seed: number,
): VisionSpec {
  const found = study.main.find((r) =>
    r.dataset === dataset && r.setting === setting && r.method === method && r.seed === seed
  );
  if (!found) {
    throw new Error(
      `visionStudent: the study has no ${method} student on ${dataset} (${setting}) with seed ` +
        `${seed}`,
    );
  }
  return found.spec;
}
