/**
 * Language-model experiments on the Brown corpus as data: a run is a JSON spec (data, model,
 * training, objective, seed, and the specs of the runs it depends on: teacher, initial weights,
 * Delta-KD's base models). `runLanguageModel(spec)` trains it once, saves the model, evaluates it
 * on the validation split and writes a summary; a finished spec is skipped, an interrupted one
 * resumes from its checkpoint. A teacher is any spec: most are trained with the `sft` objective
 * and no teacher; a distilled one (a teacher assistant) is trained first, with its own teacher.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { backendInfo } from "../backend.ts";
import { brownTokens, evaluationBatches, hashSeed, TokenBatcher, windowsAt } from "../data/mod.ts";
import { getLoss, type Sparsifier } from "../losses/mod.ts";
import { createGPT, disposeParams, type GPT, loadModel, saveModel } from "../models/mod.ts";
import { openRun, type Run, RUNS_ROOT, runWithDependencies } from "../runs/mod.ts";
import {
  AdaptiveOffPolicy,
  type AdaptiveOffPolicyOptions,
  evaluateGenerations,
  evaluateLanguageModel,
  type GenerationEval,
  type GenerationEvalOptions,
  languageModelTask,
  type MiniLLMOptions,
  MiniLLMRollouts,
  type OnPolicyOptions,
  type SequenceSampleOptions,
  TeacherTargets,
  type TeacherTargetStats,
  train,
  type TrainOptions,
  warmupCosine,
} from "../train/mod.ts";
import { type ModeMass, modeMass } from "./mode_mass.ts";

/** A language-model run; see the module doc. */
export interface LMSpec {
  /** Folder prefix under `runs/` (letters, digits, `-_.`). */
  name: string;
  /**
   * BPE vocabulary size, Brown genre categories (default all), which alternate half of the
   * training documents to use (default all), and how many of the training tokens (default all).
   */
  data: { vocabSize: number; categories?: string[]; trainHalf?: 0 | 1; trainTokens?: number };
  /** GPT shape (context length is `train.contextLength`). */
  model: { nLayer: number; nHead: number; dModel: number; dropout?: number };
  /** Optimiser steps, batch, context, warmup-cosine schedule, clipping and AdamW weight decay. */
  train: {
    steps: number;
    batchSize: number;
    contextLength: number;
    peakLr: number;
    warmupSteps: number;
    clipNorm: number;
    weightDecay: number;
  };
  /** The objective's registry name (`lib/losses/registry.ts`) and its options. */
  objective: { name: string; config?: Record<string, unknown> };
  /** Seed of initialisation, dropout and batch order. */
  seed: number;
  /** The frozen teacher (any objective but `sft`). */
  teacher?: LMSpec;
  /** Start from this run's final weights instead of a fresh init (fine-tuning). */
  init?: LMSpec;
  /** Delta-KD's frozen base models. */
  teacherBase?: LMSpec;
  /** Delta-KD's frozen base models (the student's). */
  studentBase?: LMSpec;
  /**
   * On-policy distillation (GKD, Agarwal et al. 2024): the probability that a micro-batch's
   * outputs are the student's samples, and the prompt length (`lib/train/on_policy.ts`).
   */
  onPolicy?: OnPolicyOptions;
  /**
   * DistiLLM's adaptive off-policy outputs (Ko et al. 2024; `lib/train/adaptive_off_policy.ts`):
   * the validation cross-entropy (needs `validateEvery`) drives the probability φ of
   * student-generated outputs. Not with `onPolicy`.
   */
  adaptiveOffPolicy?: AdaptiveOffPolicyOptions;
  /**
   * MiniLLM's rollouts (Gu et al. 2024; `lib/train/minillm_rollout.ts`): the student's
   * teacher-mixed continuations of the data's prompts, each trained on for `ppoEpochs`
   * micro-batches. Needs the `minillm` objective; not with `onPolicy` or `adaptiveOffPolicy`.
   */
  miniLLM?: MiniLLMOptions;
  /**
   * Sequences sampled from the teacher and/or the student (SeqKD; f-distill, Wen et al. 2023;
   * `lib/train/sequence_samples.ts`): every micro-batch holds the sides' continuations of the
   * data's prompts. Needed by the `fdistill` objective; not with the other output options.
   */
  sequenceSamples?: SequenceSampleOptions;
  /**
   * MiniLLM's pre-training loss (`lib/train/pretraining.ts`): each micro-batch adds
   * `coef`·L_PT on windows of all of Brown's training text (the base student's pre-training
   * data), L_PT = (1 − `kdRatio`)·CE + `kdRatio`·KL(teacher ‖ student); defaults 1 and 0.5.
   */
  pretraining?: { coef?: number; kdRatio?: number };
  /**
   * Draw only aligned training windows (starting at multiples of the context length: the windows
   * sparse KD's cached targets cover), for methods compared with sparse KD. Implied by
   * `sparseTargets`.
   */
  alignedWindows?: boolean;
  /**
   * Sparse KD (Anshumann et al., ACL 2025): learn from the teacher's Top-K or sampled targets over
   * the aligned windows of the training data, built once and cached under `runs/` (shared by
   * every spec with the same teacher, data, context length and sparsifier;
   * {@linkcode teacherTargetsFor}); the teacher does not run while training. Needs `teacher` and
   * the `sparse_kd` objective.
   */
  sparseTargets?: Sparsifier;
  /**
   * Measure the validation cross-entropy on `eval.windows` windows before training and every
   * this many steps: "eval" rows of the run's metrics (a validation curve).
   */
  validateEvery?: number;
  /** Validation windows for cross-entropy and KL, and how many of them for head/tail mass. */
  eval: { windows: number; modeWindows: number };
}

/** What a finished run reports. */
export interface LMSummary {
  /** Further numbers a summary may carry (run summaries are flat records). */
  [key: string]: number | string;
  /** Run name. */
  name: string;
  /** The objective's registry name. */
  objective: string;
  /** The run's seed. */
  seed: number;
  /** Validation cross-entropy, nats per token. */
  val_ce: number;
  /** Validation perplexity, exp(val_ce). */
  val_ppl: number;
  /** KL(teacher ‖ student) on validation windows, nats per token (NaN without a teacher). */
  kl_to_teacher: number;
  /** Mean probability of the 10 most probable tokens (TAID's Table 3). */
  head_mass: number;
  /** Mean probability of the least probable 20% of the vocabulary (TAID's Table 3). */
  tail_mass: number;
  /** Teacher parameter count (0 without a teacher). */
  teacher_params: number;
  /** Student parameter count. */
  student_params: number;
  /** Optimiser steps taken. */
  steps: number;
  /** The tfjs backend it trained on. */
  backend: string;
  /**
   * Wall-clock seconds of training (every segment of a resumed run, steps redone after an
   * interruption counted once) and evaluation.
   */
  seconds: number;
  /** CPU seconds of training (every segment of a resumed run; see `TrainResult.totalCpuSeconds`). */
  train_cpu_seconds: number;
}

/** The runs a spec needs finished first: its teacher, initial weights and Delta-KD bases. */
export function directDependencies(spec: LMSpec): LMSpec[] {
  return [spec.teacher, spec.init, spec.teacherBase, spec.studentBase].filter((d) =>
    d !== undefined
  );
}

/** All dependencies of a spec, transitively, deepest first, without duplicates. */
export function dependencies(spec: LMSpec): LMSpec[] {
  const out: LMSpec[] = [];
  const seen = new Set<string>();
  const visit = (s: LMSpec) => {
    directDependencies(s).forEach(visit);
    const key = JSON.stringify(s);
    if (s !== spec && !seen.has(key)) seen.add(key), out.push(s);
  };
  visit(spec);
  return out;
}

/** The run folder of a spec. */
export function lmRun(spec: LMSpec, root = RUNS_ROOT): Run {
  const { name, ...config } = spec;
  return openRun({ name, config: config as Record<string, unknown>, seed: spec.seed, root });
}

/** The trained model of a finished spec. */
export async function loadLanguageModel(spec: LMSpec, root = RUNS_ROOT): Promise<GPT> {
  const run = lmRun(spec, root);
  if (!run.finished) throw new Error(`loadLanguageModel: run ${run.id} is not finished`);
  return await loadModel(join(run.dir, "model")) as GPT;
}

const tokenCache = new Map<string, ReturnType<typeof brownTokens>>();
/** Brown token streams for a data config (cached per process). */
export function lmData(data: LMSpec["data"]): ReturnType<typeof brownTokens> {
  const key = JSON.stringify(data);
  let tokens = tokenCache.get(key);
  if (!tokens) tokenCache.set(key, tokens = brownTokens(data));
  return tokens;
}

/** A spec's models, objective and training options, ready for `train` (see {@link prepareTraining}). */
interface PreparedTraining {
  student: GPT;
  teacher?: GPT;
  /** Every model loaded or created, to dispose after training. */
  models: GPT[];
  objective: ReturnType<typeof getLoss>;
  data: ReturnType<typeof lmData>;
  /** DistiLLM's sampling state, when the spec has `adaptiveOffPolicy`. */
  sampler?: AdaptiveOffPolicy;
  /** MiniLLM's rollouts, when the spec has `miniLLM`. */
  rollouts?: MiniLLMRollouts;
  /** Sparse KD's cached targets, when the spec has `sparseTargets`. */
  targets?: TeacherTargets;
  options: Omit<TrainOptions, "sink" | "checkpoint" | "onRow">;
}

/** Loads a spec's finished dependencies and builds its student, objective and task. */
async function prepareTraining(spec: LMSpec, root: string): Promise<PreparedTraining> {
  const load = (s?: LMSpec) => s ? loadLanguageModel(s, root) : Promise.resolve(undefined);
  const [teacher, initModel, teacherBase, studentBase] = await Promise.all([
    load(spec.teacher),
    load(spec.init),
    load(spec.teacherBase),
    load(spec.studentBase),
  ]);
  const data = lmData(spec.data);
  const student = createGPT({
    vocabSize: data.tokenizer.vocabSize,
    contextLength: spec.train.contextLength,
    ...spec.model,
    seed: spec.seed,
  });
  if (initModel) {
    for (const [name, v] of Object.entries(student.params)) v.assign(initModel.params[name]);
  }
  const objectiveConfig = { ...spec.objective.config };
  if (spec.objective.name === "taid") objectiveConfig.totalSteps ??= spec.train.steps;
  const objective = getLoss(spec.objective.name, objectiveConfig);
  const t = spec.train;
  const adaptive = spec.adaptiveOffPolicy;
  if (adaptive && spec.validateEvery === undefined) {
    throw new Error(`LM spec "${spec.name}": adaptiveOffPolicy needs validateEvery`);
  }
  const sampler = adaptive && new AdaptiveOffPolicy(adaptive, {
    seed: spec.seed,
    totalBatches: t.steps,
    batchSize: t.batchSize,
    contextLength: t.contextLength,
  });
  const rollouts = spec.miniLLM && new MiniLLMRollouts(spec.miniLLM, {
    seed: spec.seed,
    batchSize: t.batchSize,
    contextLength: t.contextLength,
  });
  const targets = spec.sparseTargets ? await teacherTargetsFor(spec, root, teacher) : undefined;
  // The validation curve; DistiLLM's threshold follows it.
  const validate = async (): Promise<Record<string, number>> => {
    const { crossEntropy } = await evaluateLanguageModel(student, data.validation, {
      contextLength: t.contextLength,
      maxWindows: spec.eval.windows,
    });
    sampler?.observeValidation(crossEntropy);
    return { val_ce: crossEntropy, ...distillmFields(sampler) };
  };
  return {
    student,
    teacher,
    models: [student, teacher, initModel, teacherBase, studentBase].filter((m) => m !== undefined),
    objective,
    data,
    sampler,
    rollouts,
    targets,
    options: {
      task: languageModelTask({
        student,
        teacher,
        teacherBase,
        studentBase,
        objective,
        batcher: new TokenBatcher(data.train, {
          batchSize: t.batchSize,
          contextLength: t.contextLength,
          seed: spec.seed,
          ...(spec.alignedWindows || spec.sparseTargets ? { aligned: true } : {}),
        }),
        teacherTargets: targets,
        onPolicy: spec.onPolicy,
        adaptiveOffPolicy: sampler,
        miniLLM: rollouts,
        sequenceSamples: spec.sequenceSamples,
        ...(spec.pretraining
          ? {
            pretraining: {
              ...spec.pretraining,
              batcher: new TokenBatcher(lmData({ vocabSize: spec.data.vocabSize }).train, {
                batchSize: t.batchSize,
                contextLength: t.contextLength,
                seed: hashSeed(spec.seed, "pretraining"),
              }),
            },
          }
          : {}),
      }),
      ...(spec.validateEvery !== undefined
        ? { evaluate: { every: spec.validateEvery, atStart: true, run: validate } }
        : {}),
      steps: t.steps,
      schedule: warmupCosine({ peakLr: t.peakLr, totalSteps: t.steps, warmupSteps: t.warmupSteps }),
      optimizer: { weightDecay: t.weightDecay, beta2: 0.95 },
      clipNorm: t.clipNorm,
    },
  };
}

/** A short name for a sparsifier in run names: `top12`, `top12u` (not renormalised), `rs64`, `rs64t2`. */
export function sparsifierLabel(s: Sparsifier): string {
  if (s.kind === "top_k") return `top${s.k}${s.normalize === false ? "u" : ""}`;
  return `rs${s.samples}${(s.temperature ?? 1) !== 1 ? `t${s.temperature}` : ""}`;
}

/**
 * The run folder of a spec's sparse-KD target cache: named `targets-<teacher>-<sparsifier>`,
 * identified by the teacher's spec, the data, the context length and the sparsifier (so every
 * seed and every student of a study shares it).
 */
export function teacherTargetRun(spec: LMSpec, root = RUNS_ROOT): Run {
  if (!spec.sparseTargets || !spec.teacher) {
    throw new Error(`LM spec "${spec.name}": sparse targets need sparseTargets and a teacher`);
  }
  return openRun({
    name: `targets-${spec.teacher.name}-${sparsifierLabel(spec.sparseTargets)}`,
    config: {
      teacher: spec.teacher,
      data: spec.data,
      contextLength: spec.train.contextLength,
      sparsifier: spec.sparseTargets,
    },
    seed: 0,
    root,
  });
}

/** What building a target cache cost and holds (its run's summary). */
export type TeacherTargetSummary = TeacherTargetStats & {
  /** Wall-clock seconds of the build (the teacher's forward passes and the sparsifying). */
  build_seconds: number;
  /** Windows cached. */
  windows: number;
};

/**
 * Sparse KD's targets of a spec: read from its cache ({@linkcode teacherTargetRun}), or built
 * once from the finished teacher (`teacher`, or loaded) under the cache's lock, so concurrent
 * runs of a study build it once.
 */
export async function teacherTargetsFor(
  spec: LMSpec,
  root = RUNS_ROOT,
  teacher?: GPT,
): Promise<TeacherTargets> {
  const run = teacherTargetRun(spec, root);
  const dir = join(run.dir, "targets");
  if (run.finished) return TeacherTargets.load(dir);
  using _building = await run.lock();
  if (run.finished) return TeacherTargets.load(dir);
  const model = teacher ?? await loadLanguageModel(spec.teacher!, root);
  const started = performance.now();
  const targets = await TeacherTargets.build(model, lmData(spec.data).train, {
    contextLength: spec.train.contextLength,
    sparsifier: spec.sparseTargets!,
  });
  targets.save(dir);
  const summary: TeacherTargetSummary = {
    ...targets.stats(),
    build_seconds: (performance.now() - started) / 1000,
    windows: targets.chunks,
  };
  run.finish({ ...summary });
  if (!teacher) disposeParams(model.params);
  return targets;
}

/** DistiLLM's φ and sampling counters, for eval rows and summaries (none without a sampler). */
function distillmFields(sampler?: AdaptiveOffPolicy): Record<string, number> {
  if (!sampler) return {};
  return {
    distillm_threshold: sampler.threshold,
    distillm_generated: sampler.generated,
    distillm_replayed: sampler.replayed,
  };
}

function disposeTraining(prepared: PreparedTraining): void {
  for (const m of prepared.models) disposeParams(m.params);
  prepared.objective.dispose?.();
  prepared.sampler?.dispose();
  prepared.rollouts?.dispose();
}

/**
 * Milliseconds per optimiser step of a spec's training in this process (the teacher's forward,
 * the student's forward and backward, the update, and on-policy sampling where the spec has it),
 * over `steps` steps after a warm-up step; nothing is written. Its dependencies must have
 * finished. For comparing methods' costs under the same conditions (run summaries' seconds come
 * from whatever else the machine was doing then).
 */
export async function stepMilliseconds(
  spec: LMSpec,
  options: { steps?: number; root?: string } = {},
): Promise<number> {
  const steps = options.steps ?? 8;
  const prepared = await prepareTraining(spec, options.root ?? RUNS_ROOT);
  const timed = { ...prepared.options, evaluate: undefined };
  try {
    await train({ ...timed, steps: 1 });
    const started = performance.now();
    await train({ ...timed, steps });
    return (performance.now() - started) / steps;
  } finally {
    disposeTraining(prepared);
  }
}

/** Trains (or resumes, or skips) a spec, its dependencies first; returns its summary. */
export async function runLanguageModel(
  spec: LMSpec,
  options: { root?: string; onStep?: (step: number, loss: number) => void } = {},
): Promise<LMSummary> {
  const root = options.root ?? RUNS_ROOT;
  const run = lmRun(spec, root);
  if (run.finished) return run.summary() as LMSummary;
  for (const dep of directDependencies(spec)) await runLanguageModel(dep, { root });
  using _training = await run.lock(); // another process training it: wait, then read it back
  if (run.finished) return run.summary() as LMSummary;
  const prepared = await prepareTraining(spec, root);
  const { student, teacher, data } = prepared;
  const t = spec.train;
  const result = await train({
    ...prepared.options,
    sink: run,
    checkpoint: { dir: run.checkpointDir, every: Math.max(1, Math.ceil(t.steps / 10)) },
    onRow: (row) => row.kind === "train" && options.onStep?.(row.step, row.loss as number),
  });
  const trained = performance.now();
  await saveModel(join(run.dir, "model"), student);
  const evaluation = await evaluateLanguageModel(student, data.validation, {
    contextLength: t.contextLength,
    maxWindows: spec.eval.windows,
    teacher,
  });
  const mass = await studentModeMass(
    student,
    data.validation,
    t.contextLength,
    spec.eval.modeWindows,
  );
  const summary: LMSummary = {
    name: spec.name,
    objective: spec.objective.name,
    seed: spec.seed,
    val_ce: evaluation.crossEntropy,
    val_ppl: evaluation.perplexity,
    kl_to_teacher: evaluation.teacherKL ?? NaN,
    head_mass: mass.head,
    tail_mass: mass.tail,
    teacher_params: teacher?.parameterCount ?? 0,
    student_params: student.parameterCount,
    steps: t.steps,
    resumed_from: result.resumedFrom,
    final_loss: result.finalLoss,
    backend: backendInfo()?.name ?? tf.getBackend(),
    train_seconds: result.totalSeconds,
    train_cpu_seconds: result.totalCpuSeconds,
    seconds: result.totalSeconds + (performance.now() - trained) / 1000,
    ...distillmFields(prepared.sampler),
    ...(prepared.rollouts ? { minillm_rollouts: prepared.rollouts.drawn } : {}),
  };
  run.finish({ ...summary });
  disposeTraining(prepared);
  return summary;
}

/**
 * How a teacher scores what each finished run writes ({@linkcode evaluateGenerations}): every
 * spec's model continues the held-out prompts of `tokens`, one model loaded at a time; a spec
 * equal to `teacher` scores the teacher's own continuations (reverse KL 0). With `samples` k > 1,
 * each prompt is continued k times (seeds `seed`, `seed` + 1, …) and the scores are their means
 * (`tokens`: their total), for tighter estimates on a small held-out set. `onEach` is called
 * after each spec (progress bars).
 */
export async function generationScores(
  specs: LMSpec[],
  teacher: LMSpec,
  tokens: Int32Array,
  options: GenerationEvalOptions & { root?: string; samples?: number; onEach?: () => unknown },
): Promise<GenerationEval[]> {
  const { root = RUNS_ROOT, onEach, samples = 1, ...evalOptions } = options;
  if (!(Number.isInteger(samples) && samples >= 1)) {
    throw new Error(`generationScores: samples must be an integer ≥ 1, got ${samples}`);
  }
  const scorer = await loadLanguageModel(teacher, root);
  const key = JSON.stringify(teacher);
  try {
    const scores: GenerationEval[] = [];
    for (const spec of specs) {
      const model = JSON.stringify(spec) === key ? scorer : await loadLanguageModel(spec, root);
      try {
        const draws: GenerationEval[] = [];
        for (let i = 0; i < samples; i++) {
          const seed = (evalOptions.seed ?? 0) + i;
          draws.push(await evaluateGenerations(model, scorer, tokens, { ...evalOptions, seed }));
        }
        scores.push(meanOfDraws(draws));
      } finally {
        if (model !== scorer) disposeParams(model.params);
      }
      await onEach?.();
    }
    return scores;
  } finally {
    disposeParams(scorer.params);
  }
}

/** The mean of generation scores over draws (their tokens summed); one draw is returned as is. */
function meanOfDraws(draws: GenerationEval[]): GenerationEval {
  if (draws.length === 1) return draws[0];
  const mean = (key: "teacherNLL" | "modelNLL" | "reverseKL" | "rougeL") =>
    draws.reduce((a, d) => a + d[key], 0) / draws.length;
  return {
    teacherNLL: mean("teacherNLL"),
    modelNLL: mean("modelNLL"),
    reverseKL: mean("reverseKL"),
    rougeL: mean("rougeL"),
    tokens: draws.reduce((a, d) => a + d.tokens, 0),
  };
}

/** Mean head/tail mass of a model's next-token distributions on held-out windows. */
export async function studentModeMass(
  model: GPT,
  tokens: Int32Array,
  contextLength: number,
  windows: number,
): Promise<ModeMass> {
  const batches = evaluationBatches(tokens, { contextLength, batchSize: 8, maxWindows: windows });
  let head = 0;
  let tail = 0;
  let n = 0;
  for (const starts of batches) {
    const probsTensor = tf.tidy(() => {
      const { inputs } = windowsAt(tokens, starts, contextLength);
      return tf.softmax(model.forward(inputs, { checkIds: false }).logits);
    });
    const probs = await probsTensor.data() as Float32Array; // asynchronous: works on webgpu too
    probsTensor.dispose();
    const rows = probs.length / model.config.vocabSize;
    const m = modeMass(probs, model.config.vocabSize);
    head += m.head * rows;
    tail += m.tail * rows;
    n += rows;
  }
  return { head: head / n, tail: tail / n };
}

/**
 * A relative cost of a spec, for scheduling: tokens seen × (student + teacher) width², with the
 * student's one-position forward passes when it generates on-policy outputs.
 */
export function estimatedCost(spec: LMSpec): number {
  const size = (m: LMSpec["model"]) =>
    m.nLayer * m.dModel * m.dModel + 8 * m.dModel * spec.data.vocabSize;
  // Sparse KD reads the teacher's cached targets: its teacher does not run.
  const frozen = [spec.sparseTargets ? undefined : spec.teacher, spec.teacherBase, spec.studentBase]
    .filter((s) => s !== undefined)
    .reduce((sum, s) => sum + size(s!.model) / 3, 0);
  const T = spec.train.contextLength;
  // n = T + 1 − P generated tokens, each a forward (a third of a training step) of one position
  // against a key/value cache: n / T of a window's forward pass.
  // MiniLLM: per rollout (every ppoEpochs micro-batches), the student's and the teacher's
  // one-position passes plus one full forward pass of each to score the sequence.
  // Sampled sequences: each side's one-position passes, and a batch of B rows per side.
  const m = spec.miniLLM;
  const sampled = spec.sequenceSamples;
  const generation = spec.onPolicy
    ? spec.onPolicy.fraction * (T + 1 - spec.onPolicy.promptLength) / (3 * T)
    : m
    ? ((T + 1 - m.promptLength) / T + 1) / (3 * (m.ppoEpochs ?? 4))
    : 0;
  if (sampled) {
    const n = (T + 1 - sampled.promptLength) / (3 * T);
    const sides = sampled.sides.length;
    const teacherSize = spec.teacher && sampled.sides.includes("teacher")
      ? size(spec.teacher.model) * n
      : 0;
    const studentSize = sampled.sides.includes("student") ? size(spec.model) * n : 0;
    return spec.train.steps * spec.train.batchSize * T *
      (sides * (size(spec.model) + frozen) + teacherSize + studentSize);
  }
  return spec.train.steps * spec.train.batchSize * T *
    (size(spec.model) * (1 + generation) + frozen);
}

/** Worker entry for `runPool`: runs one spec. */
export function runJob(input: { spec: LMSpec; root: string }): Promise<LMSummary> {
  return runLanguageModel(input.spec, { root: input.root });
}

/** Options of {@link runLanguageModels}. */
export interface RunManyOptions {
  /** Runs folder (default `runs/`). */
  root?: string;
  /** Worker processes (0: run in this process, one after another). Default: CPU cores. */
  workers?: number;
  /** Called with each finished summary. */
  onDone?: (summary: LMSummary, spec: LMSpec) => void;
}

/**
 * Runs many specs over worker processes, each as soon as its dependencies have finished
 * (longest first); finished specs are read back, not re-run. Summaries come back in
 * input order.
 */
export function runLanguageModels(
  specs: LMSpec[],
  options: RunManyOptions = {},
): Promise<LMSummary[]> {
  const root = options.root ?? RUNS_ROOT;
  return runWithDependencies<LMSpec, LMSummary>(specs, {
    dependencies: directDependencies,
    finished: (s) => {
      const run = lmRun(s, root);
      return run.finished ? run.summary() as LMSummary : undefined;
    },
    run: (s) => runLanguageModel(s, { root }),
    job: (s) => ({ module: import.meta.url, input: { spec: s, root } }),
    cost: estimatedCost,
  }, { workers: options.workers, onDone: options.onDone });
}
