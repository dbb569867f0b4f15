/**
 * Training tasks for {@link train}: a language model or an image classifier trained with any
 * objective of the loss registry. With the `sft` objective the same task trains a teacher on
 * labels alone; with a distillation objective a frozen teacher's logits are computed off the
 * gradient tape for every micro-batch, or, for an image classifier, looked up in a table of the
 * teacher's logits over the whole training split ({@link teacherLogitTable}), computed once. An
 * objective that compares penultimate features (representation KD: `lib/representation/`) gets
 * both classifiers' features, the teacher's from the same table or forward pass; one that compares
 * intermediate block outputs (attention transfer) gets the CNN student's, and the teacher's reduced
 * by the objective (`Objective.teacherMapTargets`), from the table or the forward pass. An
 * objective that compares self-attention (MiniLM's) gets both language models' last-layer
 * attention and values from the same forward passes; a policy-gradient objective (MiniLLM's)
 * trains on rollouts of the student's teacher-mixed samples (`./minillm_rollout.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  checkTokenIds,
  type ImageBatcher,
  mapImageBatches,
  type TokenBatcher,
  windowsAt,
} from "../data/batches.ts";
import { augmentImages, checkAugmentation, type ImageAugmentation } from "../data/augment.ts";
import { type ImageSplit, selectImages } from "../data/images.ts";
import { hashSeed } from "../data/rng.ts";
import type { Objective } from "../losses/registry.ts";
import type { GPT } from "../models/gpt.ts";
import type { Params } from "../models/params.ts";
import { type ImageClassifier, mapSides } from "../models/vision.ts";
import { createModel, type ModelSpec } from "../models/io.ts";
import { checkOnPolicy, type OnPolicyOptions, onPolicyWindows } from "./on_policy.ts";
import { type PretrainingOptions, PretrainingTerm } from "./pretraining.ts";
import {
  checkSequenceSamples,
  sampledWindows,
  type SequenceSampleOptions,
} from "./sequence_samples.ts";
import type { AdaptiveOffPolicy, AdaptiveOffPolicyState } from "./adaptive_off_policy.ts";
import type { MiniLLMRollouts, MiniLLMState } from "./minillm_rollout.ts";
import type { TeacherTargets } from "./teacher_targets.ts";
import type { TrainTask } from "./trainer.ts";
import { checkTeacherLayer } from "./evaluate.ts";

/** The student's parameters plus the objective's own trainable variables (CTKD's θ). */
function trainable(student: { params: Params }, objective: Objective): Params {
  const params: Params = { ...student.params };
  (objective.variables?.() ?? []).forEach((v, i) => params[`objective.${objective.name}.${i}`] = v);
  return params;
}

function requireTeacher(objective: Objective, teacher: unknown, who: string): void {
  if (objective.needsTeacher && !teacher) {
    throw new Error(`${who}: objective "${objective.name}" needs a teacher`);
  }
}

/** Options of {@link languageModelTask}. */
export interface LanguageModelTaskOptions {
  /** The model trained. */
  student: GPT;
  /** Its objective (`lib/losses/registry.ts`). */
  objective: Objective;
  /** Training windows, drawn by step. */
  batcher: TokenBatcher;
  /** Frozen teacher (needed unless the objective is `sft`). */
  teacher?: GPT;
  /** Delta-KD's frozen base models. */
  teacherBase?: GPT;
  /** Delta-KD's frozen student base model. */
  studentBase?: GPT;
  /** Seed of the dropout masks and of on-policy sampling (default: the batcher's seed). */
  seed?: number;
  /**
   * On-policy distillation (GKD): with probability `fraction` a micro-batch's outputs (the tokens
   * after the first `promptLength` of each window) are the student's own samples, and the loss
   * counts output positions only; see `./on_policy.ts`.
   */
  onPolicy?: OnPolicyOptions;
  /**
   * DistiLLM's adaptive off-policy outputs (student-generated with probability φ, fresh or from a
   * replay buffer); the loss counts output positions only. The caller feeds it validation losses
   * (`observeValidation`); its state goes into checkpoints with the task's. See
   * `./adaptive_off_policy.ts`. Not with `onPolicy`.
   */
  adaptiveOffPolicy?: AdaptiveOffPolicy;
  /**
   * MiniLLM's rollouts: every micro-batch trains on the student's teacher-mixed continuations of
   * the data's prompts, with what their sampling fixed; the loss counts output positions only.
   * Required by, and only with, an objective that `needsRollout` (`minillm`); its state goes into
   * checkpoints with the task's. See `./minillm_rollout.ts`.
   */
  miniLLM?: MiniLLMRollouts;
  /**
   * Sequences sampled from the teacher and/or the student (SeqKD, f-distill): every micro-batch's
   * rows are the sides' continuations of the data's prompts, and the loss counts output positions
   * only. Required by an objective that `needsSamples` (`fdistill`), with at least its sides;
   * see `./sequence_samples.ts`.
   */
  sequenceSamples?: SequenceSampleOptions;
  /**
   * MiniLLM's pre-training loss: each micro-batch adds `coef`·L_PT on a batch of pre-training
   * text to the objective's loss, L_PT mixing next-token cross-entropy with the teacher's
   * distribution (`kdRatio`); see `./pretraining.ts`.
   */
  pretraining?: PretrainingOptions;
  /**
   * The teacher's cached sparse targets over the batcher's aligned windows (sparse KD: Top-K or
   * Random-Sampling KD; `./teacher_targets.ts`): each micro-batch reads its windows' targets
   * instead of running the teacher. Required by, and only with, an objective that `needsTargets`
   * (`sparse_kd`); the batcher must draw `aligned` windows of the cache's length.
   */
  teacherTargets?: TeacherTargets;
}

/** Next-token training of a GPT, supervised or distilled (optionally on the student's samples). */
export function languageModelTask(options: LanguageModelTaskOptions): TrainTask {
  const { student, objective, batcher, teacher, teacherBase, studentBase } = options;
  requireTeacher(objective, teacher, "languageModelTask");
  if (objective.needsFeatures) {
    throw new Error(
      `languageModelTask: objective "${objective.name}" compares image classifiers' penultimate ` +
        `features (classifierTask); language models do not pass features`,
    );
  }
  const models = [student, teacher, teacherBase, studentBase].filter((m) => m !== undefined);
  for (const model of models) {
    if (model.config.vocabSize !== student.config.vocabSize) {
      throw new Error(
        `languageModelTask: vocabulary sizes differ (student ${student.config.vocabSize}, ` +
          `another model ${model.config.vocabSize})`,
      );
    }
    if (batcher.options.contextLength > model.config.contextLength) {
      throw new Error(
        `languageModelTask: batcher contextLength ${batcher.options.contextLength} exceeds a ` +
          `model's contextLength ${model.config.contextLength}`,
      );
    }
  }
  if (
    objective.needsAttention === "heads" && teacher &&
    teacher.config.nHead !== student.config.nHead
  ) {
    throw new Error(
      `languageModelTask: objective "${objective.name}" compares attention head by head; the ` +
        `teacher has ${teacher.config.nHead} heads, the student ${student.config.nHead}`,
    );
  }
  const teacherLayer = objective.teacherLayer ?? teacher?.config.nLayer;
  if (objective.needsAttention && teacher) {
    checkTeacherLayer(
      `languageModelTask (objective "${objective.name}")`,
      teacherLayer!,
      teacher.config.nLayer,
    );
  }
  checkTokenIds(batcher.tokens, student.config.vocabSize, "languageModelTask");
  const seed = options.seed ?? batcher.options.seed;
  const { onPolicy, adaptiveOffPolicy } = options;
  if (onPolicy) checkOnPolicy(onPolicy, batcher.options.contextLength);
  const { miniLLM, sequenceSamples, teacherTargets } = options;
  if (
    [onPolicy, adaptiveOffPolicy, miniLLM, sequenceSamples, teacherTargets]
      .filter((x) => x !== undefined).length > 1
  ) {
    throw new Error(
      "languageModelTask: give at most one of onPolicy, adaptiveOffPolicy, miniLLM, " +
        "sequenceSamples, teacherTargets",
    );
  }
  checkTargetsFor(objective, teacherTargets, batcher, student.config.vocabSize);
  checkSamplesFor(objective, sequenceSamples, teacher, batcher.options.contextLength);
  const pretraining = options.pretraining &&
    new PretrainingTerm(options.pretraining, student, teacher, seed);
  if (Boolean(objective.needsRollout) !== Boolean(miniLLM)) {
    throw new Error(
      objective.needsRollout
        ? `languageModelTask: objective "${objective.name}" trains on rollouts; give miniLLM`
        : `languageModelTask: miniLLM rollouts need an objective that trains on them (minillm), ` +
          `got "${objective.name}"`,
    );
  }
  const sampler = adaptiveOffPolicy ?? miniLLM;
  const frozen = (model: GPT | undefined, inputs: tf.Tensor) =>
    model ? tf.tidy(() => model.forward(inputs, { checkIds: false }).logits) : undefined;
  // MiniLM(v2): the teacher's logits and one layer's attention, queries, keys and values (its
  // last, or the objective's teacherLayer) from one forward pass.
  const attention = objective.needsAttention !== undefined;
  const frozenTeacher = (inputs: tf.Tensor): Record<string, tf.Tensor | undefined> => {
    if (!objective.needsTeacher) return {};
    if (!attention) return { teacherLogits: frozen(teacher, inputs) };
    return tf.tidy(() => {
      const out = teacher!.forward(inputs, {
        checkIds: false,
        attentionOfLayer: teacherLayer! - 1,
      });
      const a = out.layerAttention!;
      return {
        teacherLogits: out.logits,
        teacherAttention: a.probabilities,
        teacherValues: a.values,
        teacherQueries: a.queries,
        teacherKeys: a.keys,
      };
    });
  };
  return {
    params: trainable(student, objective),
    objective,
    batch(index) {
      if (teacherTargets) {
        // Offline distillation: the windows' cached targets stand in for the teacher.
        const starts = batcher.starts(index);
        const { ids, probs } = teacherTargets.batch(starts);
        return {
          ...windowsAt(batcher.tokens, starts, batcher.options.contextLength),
          targetIds: ids,
          targetProbs: probs,
          ...pretraining?.batch(index),
        };
      }
      const window = batcher.batch(index);
      if (miniLLM) {
        const rollout = miniLLM.batch(student, teacher!, window, index);
        return { ...rollout, ...frozenTeacher(rollout.inputs), ...pretraining?.batch(index) };
      }
      const { inputs, targets, mask, studentRows }: {
        inputs: tf.Tensor;
        targets: tf.Tensor;
        mask?: tf.Tensor;
        studentRows?: tf.Tensor;
      } = sequenceSamples
        ? sampledWindows({ student, teacher: teacher! }, window, sequenceSamples, seed, index)
        : onPolicy
        ? onPolicyWindows(student, window, onPolicy, seed, index)
        : adaptiveOffPolicy
        ? adaptiveOffPolicy.windows(student, window, index)
        : { ...window, mask: undefined };
      return {
        inputs,
        targets,
        mask,
        studentRows,
        ...frozenTeacher(inputs),
        teacherBaseLogits: frozen(teacherBase, inputs),
        studentBaseLogits: frozen(studentBase, inputs),
        ...pretraining?.batch(index),
      };
    },
    loss(batch, index) {
      const out = student.forward(batch.inputs!, {
        checkIds: false,
        dropoutSeed: hashSeed(seed, "dropout", index),
        ...(attention ? { attentionOfLayer: -1 } : {}),
      });
      const layer = (
        probabilities?: tf.Tensor,
        values?: tf.Tensor,
        queries?: tf.Tensor,
        keys?: tf.Tensor,
      ) =>
        probabilities && values
          ? { probabilities, values, queries, keys, causal: true }
          : undefined;
      const s = out.layerAttention;
      const loss = objective.loss({
        studentLogits: out.logits,
        teacherAttention: layer(
          batch.teacherAttention,
          batch.teacherValues,
          batch.teacherQueries,
          batch.teacherKeys,
        ),
        studentAttention: layer(s?.probabilities, s?.values, s?.queries, s?.keys),
        teacherLogits: batch.teacherLogits,
        labels: batch.targets,
        mask: batch.mask,
        teacherBaseLogits: batch.teacherBaseLogits,
        studentBaseLogits: batch.studentBaseLogits,
        studentRows: batch.studentRows,
        teacherTargets: batch.targetIds
          ? { ids: batch.targetIds, probs: batch.targetProbs! }
          : undefined,
        rollout: batch.advantages
          ? {
            oldLogProbs: batch.oldLogProbs!,
            weights: batch.weights!,
            advantages: batch.advantages,
          }
          : undefined,
      });
      // MiniLLM's L_PT on this micro-batch's pre-training text.
      return pretraining
        ? tf.add(
          loss,
          pretraining.loss({
            ptInputs: batch.ptInputs!,
            ptTargets: batch.ptTargets!,
            ptTeacherLogits: batch.ptTeacherLogits,
          }, index),
        ) as tf.Scalar
        : loss;
    },
    ...(sampler
      ? {
        state: () => sampler.state(),
        load: (state: unknown) => sampler.load(state as AdaptiveOffPolicyState & MiniLLMState),
      }
      : {}),
  };
}

/**
 * Checks that cached targets and the objective fit: an objective that `needsTargets` gets them,
 * only such an objective does, and they cover the batcher's aligned windows of the student's
 * vocabulary.
 */
function checkTargetsFor(
  objective: Objective,
  targets: TeacherTargets | undefined,
  batcher: TokenBatcher,
  vocabSize: number,
): void {
  if (Boolean(objective.needsTargets) !== Boolean(targets)) {
    throw new Error(
      objective.needsTargets
        ? `languageModelTask: objective "${objective.name}" learns from cached teacher targets; ` +
          `give teacherTargets`
        : `languageModelTask: teacherTargets need an objective that learns from them ` +
          `(sparse_kd), got "${objective.name}"`,
    );
  }
  if (!targets) return;
  const { contextLength, aligned } = batcher.options;
  const windows = Math.floor((batcher.tokens.length - 1) / contextLength);
  if (!aligned || targets.meta.contextLength !== contextLength || targets.chunks !== windows) {
    throw new Error(
      `languageModelTask: teacherTargets cover ${targets.chunks} windows of ` +
        `${targets.meta.contextLength} tokens; the batcher must draw aligned windows of that ` +
        `length from the same stream (aligned: ${Boolean(aligned)}, contextLength ` +
        `${contextLength}, ${windows} windows)`,
    );
  }
  if (targets.meta.vocabSize !== vocabSize) {
    throw new Error(
      `languageModelTask: teacherTargets are over ${targets.meta.vocabSize} tokens, the ` +
        `student's vocabulary has ${vocabSize}`,
    );
  }
}

/**
 * Checks that sampled sequences and the objective fit: an objective that `needsSamples` gets them
 * with its sides, and a teacher is there to write the teacher's side.
 */
function checkSamplesFor(
  objective: Objective,
  samples: SequenceSampleOptions | undefined,
  teacher: GPT | undefined,
  contextLength: number,
): void {
  const needs = objective.needsSamples;
  if (needs && !samples) {
    throw new Error(
      `languageModelTask: objective "${objective.name}" trains on ${needs.join(" and ")} ` +
        `samples; give sequenceSamples`,
    );
  }
  if (!samples) return;
  checkSequenceSamples(samples, contextLength);
  const missing = (needs ?? []).filter((side) => !samples.sides.includes(side));
  if (missing.length > 0) {
    throw new Error(
      `languageModelTask: objective "${objective.name}" needs ${missing.join(" and ")} ` +
        `samples; sequenceSamples.sides is ${JSON.stringify(samples.sides)}`,
    );
  }
  if (samples.sides.includes("teacher") && !teacher) {
    throw new Error("languageModelTask: sequenceSamples.sides has teacher; give a teacher");
  }
}

/** Options of {@link classifierTask}. */
export interface ClassifierTaskOptions {
  /** The model trained. */
  student: ImageClassifier;
  /** Its objective (`lib/losses/registry.ts`). */
  objective: Objective;
  /** Training images, drawn by step. */
  batcher: ImageBatcher;
  /**
   * Frozen teacher (needed by distillation objectives unless `teacherLogits` or `selfTeacher` is
   * given).
   */
  teacher?: ImageClassifier;
  /**
   * Self-distillation (PS-KD): the teacher is a snapshot of the student taken at the start of
   * every epoch of `stepsPerEpoch` micro-batches. Resuming is exact when checkpoints fall on
   * epoch boundaries (`checkpoint.every = stepsPerEpoch`); a mid-epoch resume is refused.
   */
  selfTeacher?: { stepsPerEpoch: number };
  /** Divide the student's (and teacher's) logits by this temperature in training (defensive
   * distillation, Papernot et al. 2016); evaluation uses the raw logits. Default 1. */
  temperature?: number;
  /**
   * The frozen teacher's logits over the batcher's split ({@link teacherLogitTable}), used instead
   * of running the teacher on every micro-batch: the same targets (the teacher is frozen and the
   * images are not augmented) at a fraction of the cost when training runs several epochs.
   */
  teacherLogits?: TeacherLogitTable;
  /**
   * Random views of the training images (Beyer et al., CVPR 2022): the student trains on
   * `views` of each batch, drawn from (batcher seed, index); the teacher sees the same views
   * (`teacher: "same"`, the default: consistent teaching, and with mixup function matching), views
   * drawn independently of the student's (`"independent"`), or the clean images (`"clean"`: a
   * fixed teacher, the only choice with `teacherLogits`). With mixup a batch has no labels (they
   * would have to be mixed too), so the objective must compare with the teacher alone, and the
   * teacher must see the mixed images.
   */
  augment?: ClassifierViews;
}

/** The views of {@link ClassifierTaskOptions.augment}. */
export interface ClassifierViews {
  /** What a view may change: translation, flip, mixup. */
  views: ImageAugmentation;
  /** What the teacher sees (default "same"). */
  teacher?: "same" | "independent" | "clean";
}

/**
 * A frozen teacher's logits for every example of a split: row i is example i's logits; with
 * `features`, its penultimate features too (for representation KD); with `mapTargets`, what an
 * objective needs of its block outputs (attention transfer's normalised maps).
 */
export interface TeacherLogitTable {
  /** Row-major [examples, classes]. */
  logits: Float32Array;
  /** Logits per example. */
  classes: number;
  /** Row-major [examples, featureDim], when asked for. */
  features?: Float32Array;
  /** Features per example (with `features`). */
  featureDim?: number;
  /** Row-major [examples, mapTargetWidth]: `Objective.teacherMapTargets` of the block outputs. */
  mapTargets?: Float32Array;
  /** Map targets per example (with `mapTargets`). */
  mapTargetWidth?: number;
}

/** What {@link teacherLogitTable} computes besides the logits. */
export interface TeacherTableOptions {
  /** The teacher's penultimate features. */
  features?: boolean;
  /** A reduction of the teacher's block outputs to one row per example (`Objective.teacherMapTargets`). */
  mapTargets?: (maps: tf.Tensor[]) => tf.Tensor2D;
}

/**
 * The teacher's logits (and, with `options.features`, its penultimate features; with
 * `options.mapTargets`, that reduction of its block outputs) for every example of `split`, in one
 * pass of batches read back asynchronously so it runs on every backend, for
 * {@link ClassifierTaskOptions.teacherLogits}.
 */
export async function teacherLogitTable(
  teacher: ImageClassifier,
  split: ImageSplit,
  options: TeacherTableOptions = {},
): Promise<TeacherLogitTable> {
  const { features, mapTargets } = options;
  if (!features && !mapTargets) {
    const logits = await mapImageBatches(split, (x) => teacher.logits(x));
    return { logits, classes: logits.length / split.count };
  }
  // One pass of the teacher: each row is its logits, then its features, then its map targets.
  let widths: number[] = [];
  const rows = await mapImageBatches(split, (x) => {
    const out = teacher.forward(x, { features, maps: mapTargets !== undefined });
    const blocks = [out.logits, ...(features ? [out.features!] : [])];
    if (mapTargets) blocks.push(mapTargets(out.maps!));
    if (widths.length === 0) widths = blocks.map((b) => b.shape[1]!);
    return tf.concat(blocks, 1);
  });
  const [classes, ...rest] = widths;
  const width = rows.length / split.count;
  const column = (offset: number, w: number) => {
    const out = new Float32Array(split.count * w);
    for (let i = 0; i < split.count; i++) {
      out.set(rows.subarray(i * width + offset, i * width + offset + w), i * w);
    }
    return out;
  };
  const table: TeacherLogitTable = { logits: column(0, classes), classes };
  let offset = classes;
  if (features) {
    table.featureDim = rest.shift()!;
    table.features = column(offset, table.featureDim);
    offset += table.featureDim;
  }
  if (mapTargets) {
    table.mapTargetWidth = rest.shift()!;
    table.mapTargets = column(offset, table.mapTargetWidth);
  }
  return table;
}

function checkLogitTable(
  table: TeacherLogitTable,
  split: ImageSplit,
  who: string,
  needsFeatures: boolean,
  needsMaps: boolean,
): void {
  const { logits, classes, features, featureDim, mapTargets, mapTargetWidth } = table;
  if (
    needsMaps && (!mapTargets || mapTargets.length !== split.count * (mapTargetWidth ?? NaN))
  ) {
    throw new Error(
      `${who}: the objective compares block outputs, so teacherLogits must also hold the ` +
        `[${split.count} examples, width] rows of objective.teacherMapTargets over the ` +
        `teacher's blocks (teacherLogitTable(..., { mapTargets }))`,
    );
  }
  if (needsFeatures && (!features || features.length !== split.count * (featureDim ?? NaN))) {
    throw new Error(
      `${who}: the objective compares features, so teacherLogits must also hold the teacher's ` +
        `[${split.count} examples, featureDim] features (teacherLogitTable(..., { features: ` +
        `true }))`,
    );
  }
  if (!(Number.isInteger(classes) && classes >= 2) || logits.length !== split.count * classes) {
    throw new Error(
      `${who}: teacherLogits must hold [${split.count} examples, classes ≥ 2] rows, got ` +
        `${logits.length} values with classes = ${classes}`,
    );
  }
  const bad = logits.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new Error(
      `${who}: teacherLogits holds a non-finite value (${logits[bad]}) at example ` +
        `${Math.floor(bad / classes)}`,
    );
  }
}

/** Throws a named error for views that cannot work with the task's other options. */
function checkViews(
  augment: ClassifierViews,
  teacherView: string,
  hasTable: boolean,
  selfTeacher: boolean,
): void {
  checkAugmentation(augment.views, "classifierTask: augment.views");
  if (!["same", "independent", "clean"].includes(teacherView)) {
    throw new Error(
      `classifierTask: augment.teacher must be "same", "independent" or "clean", got ` +
        `"${teacherView}"`,
    );
  }
  if (hasTable && teacherView !== "clean") {
    throw new Error(
      `classifierTask: teacherLogits hold the teacher's logits on the clean images; with ` +
        `augment.teacher = "${teacherView}" the teacher must run on every view (drop teacherLogits)`,
    );
  }
  if (augment.views.mixup !== undefined && teacherView === "clean") {
    throw new Error(
      "classifierTask: with mixup the teacher must see the mixed images (augment.teacher " +
        '"same" or "independent"), not the clean ones',
    );
  }
  if (selfTeacher) throw new Error("classifierTask: augment is not supported with selfTeacher");
}

/**
 * Throws unless an objective on block outputs (attention transfer) can pair the student's blocks
 * with the teacher's: the student is a CNN, and a teacher model (when given, rather than a table)
 * has as many blocks of the same spatial sizes.
 */
function checkBlockPair(
  objective: Objective,
  student: ImageClassifier,
  teacher: ImageClassifier | undefined,
): void {
  const name = objective.name;
  if (!objective.teacherMapTargets) {
    throw new Error(`classifierTask: objective "${name}" needs maps but has no teacherMapTargets`);
  }
  const sides = mapSides(student);
  if (sides.length === 0) {
    throw new Error(
      `classifierTask: objective "${name}" compares the blocks' spatial maps, so the student ` +
        `must be a CNN, got a ${student.kind}`,
    );
  }
  if (!teacher) return;
  const teacherSides = mapSides(teacher);
  if (teacherSides.join() !== sides.join()) {
    throw new Error(
      `classifierTask: objective "${name}" pairs the student's blocks with the teacher's, so ` +
        `both need blocks of the same spatial sizes: student ${sides.map((s) => `${s}×${s}`)}` +
        `, teacher ${
          teacherSides.length ? teacherSides.map((s) => `${s}×${s}`) : `none (a ${teacher.kind})`
        }`,
    );
  }
}

/** The rows of `indices` of a row-major `[examples, width]` table, as a tensor. */
function gatherRows(table: Float32Array, width: number, indices: Int32Array): tf.Tensor2D {
  const rows = new Float32Array(indices.length * width);
  indices.forEach((i, r) => rows.set(table.subarray(i * width, (i + 1) * width), r * width));
  return tf.tensor2d(rows, [indices.length, width]);
}

/** Training of an image classifier, supervised or distilled (dual-head KD uses its aux head). */
export function classifierTask(options: ClassifierTaskOptions): TrainTask {
  const {
    student,
    objective,
    batcher,
    selfTeacher,
    teacherLogits: table,
    temperature = 1,
    augment,
  } = options;
  let teacher = options.teacher;
  let snapshotIndex = -1;
  if ([teacher, selfTeacher, table].filter((t) => t !== undefined).length > 1) {
    throw new Error("classifierTask: give one of teacher, selfTeacher or teacherLogits");
  }
  if (selfTeacher) {
    teacher = createModel(
      { kind: student.kind, config: student.config } as ModelSpec,
    ) as ImageClassifier;
  }
  const needsFeatures = objective.needsFeatures === true;
  const needsMaps = objective.needsMaps === true;
  if (needsMaps) checkBlockPair(objective, student, teacher);
  if (table) checkLogitTable(table, batcher.split, "classifierTask", needsFeatures, needsMaps);
  if (objective.needsAttention) {
    throw new Error(
      `classifierTask: objective "${objective.name}" compares self-attention, which image ` +
        `classifiers do not have`,
    );
  }
  requireTeacher(objective, teacher ?? table, "classifierTask");
  if (!(temperature > 0)) {
    throw new Error(`classifierTask: temperature must be > 0, got ${temperature}`);
  }
  const teacherView = augment?.teacher ?? "same";
  if (augment) checkViews(augment, teacherView, table !== undefined, selfTeacher !== undefined);
  /** The images the student (view 0) or the teacher (view 1) sees at micro-batch `index`. */
  const view = (clean: ImageSplit, index: number, who: 0 | 1) =>
    augmentImages(
      clean.images,
      clean.count,
      augment!.views,
      hashSeed(batcher.seed, "view", index, who),
    );
  return {
    params: trainable(student, objective),
    objective,
    batch(index) {
      if (selfTeacher && snapshotIndex !== Math.floor(index / selfTeacher.stepsPerEpoch)) {
        if (index % selfTeacher.stepsPerEpoch !== 0) {
          throw new Error(
            "classifierTask: a self-distillation run can only resume at an epoch boundary " +
              "(set checkpoint.every to selfTeacher.stepsPerEpoch)",
          );
        }
        snapshotIndex = index / selfTeacher.stepsPerEpoch;
        for (const [name, v] of Object.entries(teacher!.params)) v.assign(student.params[name]);
      }
      const indices = batcher.indices(index);
      const clean = selectImages(batcher.split, indices);
      const shape: [number, number, number, number] = [clean.count, 28, 28, 1];
      const x = tf.tensor4d(augment ? view(clean, index, 0) : clean.images, shape);
      // Mixup mixes images, not labels: no labels to train on.
      const y = augment?.views.mixup === undefined ? tf.tensor1d(clean.labels, "int32") : undefined;
      const frozen = teacher;
      const fromTeacher = !objective.needsTeacher ? {} : tf.tidy(() => {
        if (table) {
          return {
            teacherLogits: gatherRows(table.logits, table.classes, indices).div(temperature),
            ...(needsFeatures
              ? { teacherFeatures: gatherRows(table.features!, table.featureDim!, indices) }
              : {}),
            ...(needsMaps
              ? { teacherMapTargets: gatherRows(table.mapTargets!, table.mapTargetWidth!, indices) }
              : {}),
          };
        }
        const input = !augment || teacherView === "same"
          ? x
          : tf.tensor4d(teacherView === "clean" ? clean.images : view(clean, index, 1), shape);
        const out = frozen!.forward(input, { features: needsFeatures, maps: needsMaps });
        return {
          teacherLogits: out.logits.div(temperature),
          ...(needsFeatures ? { teacherFeatures: out.features! } : {}),
          ...(needsMaps ? { teacherMapTargets: objective.teacherMapTargets!(out.maps!) } : {}),
        };
      });
      // CRD's memory bank: each row's index in the training split.
      const exampleIds = objective.needsExampleIds ? tf.tensor1d(indices, "int32") : undefined;
      return { x, y, ...fromTeacher, exampleIds };
    },
    loss(batch) {
      const out = student.forward(batch.x!, { features: needsFeatures, maps: needsMaps });
      return objective.loss({
        studentLogits: temperature === 1 ? out.logits : out.logits.div(temperature),
        auxLogits: out.auxLogits,
        teacherLogits: batch.teacherLogits,
        labels: batch.y,
        ...(needsFeatures
          ? {
            teacherFeatures: batch.teacherFeatures,
            studentFeatures: out.features,
            exampleIds: batch.exampleIds,
          }
          : {}),
        ...(needsMaps ? { teacherMapTargets: batch.teacherMapTargets, studentMaps: out.maps } : {}),
      });
    },
  };
}
