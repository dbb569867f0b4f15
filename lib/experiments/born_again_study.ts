/**
 * The run plan of Born-Again Networks (Furlanello, Lipton, Tschannen, Itti & Anandkumar, ICML
 * 2018, "Born Again Neural Networks") on Fashion-MNIST: a network trained on the labels teaches a
 * freshly initialised copy of itself, which teaches the next, for several generations. The paper
 * finds that a born-again student outperforms its identical teacher, and that averaging the
 * generations' predictions (BANE) does better still.
 *
 * Each chain: generation 0 is trained on the labels; generation k ≥ 1 has the same architecture,
 * a fresh initialisation and batch order (seed `seed + 100·k`), and learns from generation k − 1's
 * outputs alone (KL at T = 1, the paper's loss on the teacher's outputs, no labels); a second chain
 * from the same generation 0 keeps the labels (½·CE + ½·KL at T = 1: `ban_labels`). Two widths of
 * MLP: the vision study's 784-32-10 student (its label-trained runs are generation 0, shared) and
 * 784-128-10. As a control the paper does not run, each chain also has `generations` networks of
 * the same width trained on the labels with generation k's seed, so that an ensemble of born-again
 * generations can be compared with an ensemble of independently trained ones of the same size.
 * Every network trains as the vision study's students (AdamW, warm-up then cosine, 4,000 steps of
 * 128 at full scale).
 *
 * @module
 */
import type { VisionSpec } from "./vision.ts";
import { visionStudent, visionStudy } from "./vision_study.ts";
import { seedNumbers } from "./seeds.ts";

/** The scales of the study. */
export type BornAgainScale = "quick" | "full";

/** Generations after the label-trained one, by scale. */
export const BORN_AGAIN_GENERATIONS: Record<BornAgainScale, number> = { quick: 2, full: 4 };

/** Hidden widths of the MLPs (one hidden layer). */
export const BORN_AGAIN_WIDTHS = [32, 128];

/** What a network of the study learns from (see {@linkcode BornAgainRun.kind}). */
export type BornAgainKind = "ban" | "ban_labels" | "ce";

/** The objective of each born-again chain. */
export const BORN_AGAIN_OBJECTIVES: Record<"ban" | "ban_labels", VisionSpec["objective"]> = {
  ban: { name: "fkl" },
  ban_labels: { name: "kd", config: { temperature: 1, ceWeight: 0.5, kdWeight: 0.5 } },
};

/** One network of a chain. */
export interface BornAgainRun {
  /** The MLP's hidden width. */
  width: number;
  /** The chain's seed (its generation 0's). */
  seed: number;
  /** The generation: 0 on the labels, k ≥ 1 born again from generation k − 1. */
  generation: number;
  /**
   * `ban`: a generation of the chain, on its teacher's outputs; `ban_labels`: of the chain that
   * also keeps the labels; `ce`: the control, on the labels with generation k's seed. Generation
   * 0 is listed once, as `ban`: both chains start from it.
   */
  kind: BornAgainKind;
  /** The run. */
  spec: VisionSpec;
}

/** Every spec of the study at one scale: chains by width, then seed, then generation. */
export function bornAgainStudy(scale: BornAgainScale, seeds: number): BornAgainRun[] {
  const generations = BORN_AGAIN_GENERATIONS[scale];
  const vision = visionStudy(scale, seeds);
  const runs: BornAgainRun[] = [];
  for (const width of BORN_AGAIN_WIDTHS) {
    for (const seed of seedNumbers(seeds)) {
      const shared = visionStudent(vision, "fashion-mnist", "full", "ce", seed);
      const network = (name: string, runSeed: number): VisionSpec => ({
        ...shared,
        name: `ban-${scale}-mlp${width}-${name}`,
        model: { kind: "mlp", config: { hidden: [width] } },
        seed: runSeed,
      });
      const first = width === 32 ? shared : network(`g0-s${seed}`, seed);
      runs.push({ width, seed, generation: 0, kind: "ban", spec: first });
      const teachers = { ban: first, ban_labels: first };
      for (let k = 1; k <= generations; k++) {
        for (const kind of ["ban", "ban_labels"] as const) {
          const student: VisionSpec = {
            ...network(`${kind === "ban" ? "g" : "gl"}${k}-s${seed}`, seed + 100 * k),
            objective: BORN_AGAIN_OBJECTIVES[kind],
            teacher: teachers[kind],
          };
          runs.push({ width, seed, generation: k, kind, spec: student });
          teachers[kind] = student;
        }
        runs.push({
          width,
          seed,
          generation: k,
          kind: "ce",
          spec: network(`ce${k}-s${seed}`, seed + 100 * k),
        });
      }
    }
  }
  return runs;
}
