/**
 * Image-classification distillation experiments as data (MNIST / Fashion-MNIST): a run is a JSON
 * spec (data set, optional few-shot fraction, model, training, objective, seed, teacher spec,
 * training temperature); `runVision(spec)` trains it once, saves the model, and evaluates test
 * accuracy, ECE, agreement with the teacher and, when asked, accuracy under FGSM.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { fgsmCurve } from "../attacks/mod.ts";
import { backendInfo } from "../backend.ts";
import {
  fewShot,
  ImageBatcher,
  type ImageDatasetName,
  type ImageSplit,
  loadImages,
  selectImages,
} from "../data/mod.ts";
import { getLoss, type Objective, objectiveKeys } from "../losses/mod.ts";
import {
  blockVariables,
  type CNNConfig,
  createModel,
  type ImageClassifier,
  loadModel,
  mapChannels,
  type MLPConfig,
  saveModel,
} from "../models/mod.ts";
import { openRun, type Run, RUNS_ROOT, runWithDependencies } from "../runs/mod.ts";
import { ProcessCache } from "./process_cache.ts";
import {
  classifierTask,
  type ClassifierViews,
  evaluateClassifier,
  predictProbabilities,
  type TeacherLogitTable,
  teacherLogitTable,
  train,
  warmupCosine,
} from "../train/mod.ts";

/** An image-classification run; see the module doc. */
export interface VisionSpec {
  /** Folder prefix under `runs/`. */
  name: string;
  /** MNIST or Fashion-MNIST. */
  dataset: ImageDatasetName;
  /** Train on this fraction of each class (seeded by the run's seed); default all. */
  fewShot?: number;
  /** The classifier trained: an MLP or a CNN. */
  model:
    | { kind: "mlp"; config: Omit<MLPConfig, "seed"> }
    | { kind: "cnn"; config: Omit<CNNConfig, "seed"> };
  /** Optimiser steps, batch, warmup-cosine schedule and AdamW weight decay. */
  train: {
    steps: number;
    batchSize: number;
    peakLr: number;
    warmupSteps: number;
    weightDecay: number;
    /**
     * Stop after this many of the `steps` (the schedule still spans `steps`): the early-stopped
     * teacher of Cho & Hariharan (ICCV 2019, "On the Efficacy of Knowledge Distillation"), a
     * snapshot taken part-way through the full run's schedule rather than a shorter run.
     */
    stopAfter?: number;
  };
  /** The objective's registry name (`lib/losses/registry.ts`) and its options. */
  objective: { name: string; config?: Record<string, unknown> };
  /** Seed of initialisation, batch order and the few-shot subset. */
  seed: number;
  /** The frozen teacher (any objective but `sft`). */
  teacher?: VisionSpec;
  /** PS-KD: the teacher is the student's previous-epoch snapshot. */
  selfDistill?: boolean;
  /** Training temperature (defensive distillation); evaluation is at T = 1. */
  temperature?: number;
  /** Evaluate on this many evenly spaced test images (default: the whole test split). */
  testExamples?: number;
  /**
   * Train on random views of the images (Beyer et al., CVPR 2022): what a view changes and what
   * the teacher sees ({@linkcode ClassifierViews}).
   */
  augment?: ClassifierViews;
  /**
   * Also measure accuracy on the (clean) training images and, with a teacher, how well the student
   * matches it: KL(teacher ‖ student) and top-1 agreement on the training images, KL on the test
   * images (the summary's `train_acc`, `train_kl`, `train_agreement`, `test_kl`).
   */
  measureFit?: boolean;
  /** FGSM: accuracy under attack for each ε and attack temperature, on `examples` test images. */
  attack?: { epsilons: number[]; examples: number; temperatures: number[] };
}

/** What a finished vision run reports. */
export interface VisionSummary {
  /** Further numbers a summary may carry (run summaries are flat records). */
  [key: string]: number | string;
  /** Run name. */
  name: string;
  /** The objective's registry name. */
  objective: string;
  /** The run's seed. */
  seed: number;
  /** The data set. */
  dataset: string;
  /** Test accuracy. */
  test_acc: number;
  /** Expected calibration error (15 equal-width bins). */
  ece: number;
  /** Top-1 agreement with the teacher on the test images (NaN without a teacher). */
  agreement: number;
  /** The teacher's test accuracy (NaN without a teacher). */
  teacher_acc: number;
  /** Student parameter count. */
  student_params: number;
  /** Teacher parameter count (0 without a teacher). */
  teacher_params: number;
  /** Optimiser steps taken. */
  steps: number;
  /** The tfjs backend it trained on. */
  backend: string;
  /** Wall-clock seconds of training and evaluation. */
  seconds: number;
  /** CPU seconds of training (every segment of a resumed run; see `TrainResult.totalCpuSeconds`). */
  train_cpu_seconds: number;
  /** JSON of `{temperature, epsilon, accuracy, zeroGradient}[]` when attacked. */
  fgsm: string;
}

/** The run folder of a spec. */
export function visionRun(spec: VisionSpec, root = RUNS_ROOT): Run {
  const { name, ...config } = spec;
  return openRun({ name, config: config as Record<string, unknown>, seed: spec.seed, root });
}

/** The trained model of a finished spec. */
export async function loadVisionModel(spec: VisionSpec, root: string): Promise<ImageClassifier> {
  const run = visionRun(spec, root);
  if (!run.finished) throw new Error(`loadVisionModel: run ${run.id} is not finished`);
  return await loadModel(join(run.dir, "model")) as ImageClassifier;
}

/** The optimiser steps a spec trains: `train.stopAfter` when set (checked), else `train.steps`. */
export function stepsTrained(spec: VisionSpec): number {
  const { steps, stopAfter } = spec.train;
  if (stopAfter === undefined) return steps;
  if (!(Number.isInteger(stopAfter) && stopAfter >= 1 && stopAfter <= steps)) {
    throw new Error(
      `${spec.name}: train.stopAfter must be an integer in [1, train.steps = ${steps}], got ` +
        `${stopAfter}`,
    );
  }
  return stopAfter;
}

/** The test images a spec is evaluated on: all of its data set's, or `testExamples` evenly spaced. */
export function visionTestSplit(spec: VisionSpec): ImageSplit {
  const test = loadImages(spec.dataset).test;
  return spec.testExamples ? selectImages(test, evenlySpaced(test.count, spec.testExamples)) : test;
}

/** `count` indices spread evenly over [0, n). */
const evenlySpaced = (n: number, count: number) =>
  Array.from({ length: Math.min(count, n) }, (_, i) => Math.floor(i * n / Math.min(count, n)));

const teacherTestProbCache = new ProcessCache<Float32Array>(16);
/** A teacher's test probabilities, computed once per process and test subset. */
function teacherTestProbs(
  spec: VisionSpec,
  teacher: ImageClassifier,
  split: ImageSplit,
): Promise<Float32Array> {
  return teacherTestProbCache.get(
    `${JSON.stringify(spec)}:${split.count}`,
    () => predictProbabilities(teacher, split),
  );
}

const teacherTableCache = new ProcessCache<TeacherLogitTable>(4);
/**
 * A teacher's logits over a spec's training split, computed once per process and split, when that
 * costs less than running the teacher on every micro-batch: when the run sees at least one epoch,
 * or the table is already there. Otherwise undefined (a short run over a large split).
 */
async function teacherTrainLogits(
  spec: VisionSpec,
  teacher: ImageClassifier,
  split: ImageSplit,
  objective: Objective,
): Promise<TeacherLogitTable | undefined> {
  const splitKey = spec.fewShot ? `${spec.dataset}:${spec.fewShot}:${spec.seed}` : spec.dataset;
  const features = objective.needsFeatures === true;
  const mapTargets = objective.needsMaps ? objective.teacherMapTargets : undefined;
  const contents = [
    "logits",
    ...(features ? ["features"] : []),
    ...(mapTargets ? [objective.mapTargetsKey ?? objective.name] : []),
  ].join("+");
  const key = `${JSON.stringify(spec.teacher)}:${splitKey}:${contents}`;
  if (stepsTrained(spec) * spec.train.batchSize < split.count) return teacherTableCache.peek(key);
  return await teacherTableCache.get(
    key,
    () => teacherLogitTable(teacher, split, { features, mapTargets }),
  );
}

/**
 * Trains (or resumes, or skips) a spec, its teacher first; returns its summary. A frozen teacher's
 * logits over the training split are computed once rather than once per micro-batch when the run
 * sees at least an epoch (the same targets: the teacher is frozen, the images not augmented).
 */
export async function runVision(
  spec: VisionSpec,
  options: { root?: string } = {},
): Promise<VisionSummary> {
  const root = options.root ?? RUNS_ROOT;
  const run = visionRun(spec, root);
  if (run.finished) return run.summary() as VisionSummary;
  if (spec.teacher) await runVision(spec.teacher, { root });
  using _training = await run.lock(); // another process training it: wait, then read it back
  if (run.finished) return run.summary() as VisionSummary;
  const started = performance.now();
  const teacher = spec.teacher ? await loadVisionModel(spec.teacher, root) : undefined;
  const data = loadImages(spec.dataset);
  const trainSplit = spec.fewShot ? fewShot(data.train, spec.fewShot, spec.seed) : data.train;
  const student = createModel(
    {
      kind: spec.model.kind,
      config: { ...spec.model.config, seed: spec.seed },
    } as Parameters<typeof createModel>[0],
  ) as ImageClassifier;
  const t = spec.train;
  const steps = stepsTrained(spec);
  const stepsPerEpoch = Math.max(1, Math.floor(trainSplit.count / t.batchSize));
  const objectiveConfig = { ...spec.objective.config };
  if (spec.objective.name === "ps_kd") {
    objectiveConfig.epochs = Math.max(1, Math.ceil(t.steps / stepsPerEpoch));
    objectiveConfig.stepsPerEpoch = stepsPerEpoch;
  }
  if (spec.objective.name === "dkd" || spec.objective.name === "ctkd") {
    objectiveConfig.stepsPerEpoch ??= stepsPerEpoch;
  }
  // Representation KD's heads (FitNets' regressor, VID's, CRD's embeddings): the two models'
  // feature widths, and the run's seed for their initial weights; for the objectives on the
  // teacher's raw block outputs (NST, VID on blocks), the two models' channels per block.
  const keys = objectiveKeys(spec.objective.name);
  if (keys.includes("studentDim")) {
    objectiveConfig.studentDim ??= student.featureDim;
    objectiveConfig.teacherDim ??= teacher?.featureDim;
  }
  if (keys.includes("teacherChannels")) {
    objectiveConfig.teacherChannels ??= teacher ? mapChannels(teacher) : undefined;
  }
  if (keys.includes("studentChannels")) objectiveConfig.studentChannels ??= mapChannels(student);
  if (keys.includes("seed")) objectiveConfig.seed ??= spec.seed;
  // CRD's memory banks hold one row per training example.
  if (keys.includes("dataSize")) {
    objectiveConfig.dataSize ??= trainSplit.count;
  }
  const objective = getLoss(spec.objective.name, objectiveConfig);
  // The objective's own first stage (factor transfer's paraphraser, on the teacher's blocks; AB's
  // and FSP's, on the student's blocks), for the student's own batch sequence. A resumed run does it again (deterministic) before the
  // checkpoint's buffers are restored.
  let init: Record<string, number> = {};
  if (objective.prepare) {
    if (!teacher) throw new Error(`${spec.name}: objective.prepare needs spec.teacher`);
    const started = performance.now();
    const batches = new ImageBatcher(trainSplit, { batchSize: t.batchSize, seed: spec.seed });
    const fields = await objective.prepare({
      teacherMaps: (step) =>
        teacher.forward(batches.batch(step).x, { maps: true }).maps as tf.Tensor4D[],
      ...(teacher.kind === "cnn"
        ? {
          teacherPreactivations: (step: number) =>
            teacher.forward(batches.batch(step).x, { preactivations: true }).preMaps!,
        }
        : {}),
      ...(student.kind === "cnn"
        ? {
          student: {
            blockVariables: blockVariables(student),
            preactivations: (step: number) =>
              student.forward(batches.batch(step).x, { preactivations: true }).preMaps!,
            maps: (step: number) => student.forward(batches.batch(step).x, { maps: true }).maps!,
          },
        }
        : {}),
    });
    init = { seconds: (performance.now() - started) / 1000, ...fields };
  }
  // With views the teacher runs on every view, unless it is a fixed teacher (clean images).
  const cleanTeacher = !spec.augment || spec.augment.teacher === "clean";
  const teacherLogits = teacher && objective.needsTeacher && cleanTeacher
    ? await teacherTrainLogits(spec, teacher, trainSplit, objective)
    : undefined;
  const result = await train({
    task: classifierTask({
      student,
      ...(teacherLogits ? { teacherLogits } : { teacher }),
      objective,
      batcher: new ImageBatcher(trainSplit, { batchSize: t.batchSize, seed: spec.seed }),
      selfTeacher: spec.selfDistill ? { stepsPerEpoch } : undefined,
      temperature: spec.temperature,
      augment: spec.augment,
    }),
    steps,
    schedule: warmupCosine({ peakLr: t.peakLr, totalSteps: t.steps, warmupSteps: t.warmupSteps }),
    optimizer: { weightDecay: t.weightDecay },
    sink: run,
    checkpoint: {
      dir: run.checkpointDir,
      every: spec.selfDistill ? stepsPerEpoch : Math.max(1, Math.ceil(t.steps / 5)),
    },
  });
  await saveModel(join(run.dir, "model"), student);
  const testSplit = visionTestSplit(spec);
  const teacherProbs = teacher
    ? await teacherTestProbs(spec.teacher!, teacher, testSplit)
    : undefined;
  const evaluation = await evaluateClassifier(student, testSplit, { teacherProbs });
  const fitTrain = spec.measureFit
    ? await evaluateClassifier(student, trainSplit, { teacher })
    : undefined;
  const fit = !fitTrain ? {} : {
    train_acc: fitTrain.accuracy,
    ...(teacher
      ? {
        train_kl: fitTrain.teacherKL!,
        train_agreement: fitTrain.agreement!,
        test_kl: evaluation.teacherKL!,
      }
      : {}),
  };
  const attacked = [];
  for (const temperature of spec.attack?.temperatures ?? []) {
    const curve = await fgsmCurve(
      student,
      selectImages(data.test, evenlySpaced(data.test.count, spec.attack!.examples)),
      spec.attack!.epsilons,
      { temperature },
    );
    attacked.push(...curve.map((r) => ({ temperature, ...r })));
  }
  const summary: VisionSummary = {
    name: spec.name,
    objective: spec.objective.name,
    seed: spec.seed,
    dataset: spec.dataset,
    test_acc: evaluation.accuracy,
    ece: evaluation.ece,
    agreement: evaluation.agreement ?? NaN,
    teacher_acc: spec.teacher ? (visionRun(spec.teacher, root).summary().test_acc as number) : NaN,
    student_params: student.parameterCount,
    teacher_params: teacher?.parameterCount ?? 0,
    steps,
    train_examples: trainSplit.count,
    final_loss: result.finalLoss,
    backend: backendInfo()?.name ?? tf.getBackend(),
    seconds: (performance.now() - started) / 1000,
    train_cpu_seconds: result.totalCpuSeconds,
    fgsm: JSON.stringify(attacked),
    ...fit,
    ...Object.fromEntries(Object.entries(init).map(([k, v]) => [`init_${k}`, v])),
  };
  run.finish(summary);
  for (const m of [student, teacher]) if (m) Object.values(m.params).forEach((v) => v.dispose());
  objective.dispose?.();
  return summary;
}

/** Worker entry for `runPool`. */
export function runJob(input: { spec: VisionSpec; root: string }): Promise<VisionSummary> {
  return runVision(input.spec, { root: input.root });
}

/**
 * Runs many specs, each once its teacher has finished, over worker processes (0: in this process),
 * longest first; finished specs are read back. Summaries in input order.
 */
export function runVisions(
  specs: VisionSpec[],
  options: { root?: string; workers?: number; onDone?: (s: VisionSummary) => void } = {},
): Promise<VisionSummary[]> {
  const root = options.root ?? RUNS_ROOT;
  return runWithDependencies<VisionSpec, VisionSummary>(specs, {
    dependencies: (s) => s.teacher ? [s.teacher] : [],
    finished: (s) => {
      const run = visionRun(s, root);
      return run.finished ? run.summary() as VisionSummary : undefined;
    },
    run: (s) => runVision(s, { root }),
    job: (s) => ({ module: import.meta.url, input: { spec: s, root } }),
    cost: (s) => stepsTrained(s) * s.train.batchSize * (s.model.kind === "cnn" ? 4 : 1),
  }, { workers: options.workers, onDone: options.onDone });
}
