/**
 * The objective registry: notebooks, sweeps and the trainer choose objectives by name
 * (`getLoss("taid", { totalSteps: 2000 })`), in the spirit of torchdistill's registries but with
 * one function per objective. Every entry documents its config keys; unknown keys are errors.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DeviceTAID, type TAIDConfig, type TAIDState } from "../taid/mod.ts";
import { adaptiveKL } from "./adaptive_kl.ts";
import { ctkd, ctkdLambda, CTKDTemperature } from "./ctkd.ts";
import { deltaKD } from "./delta_kd.ts";
import { dist } from "./dist.ts";
import { dkd } from "./dkd.ts";
import { dualHeadKD } from "./dual_head_kd.ts";
import { F_DISTILL_SIDES, fDistill, type FDistillDivergence, type SampleSide } from "./fdistill.ts";
import { forwardKL } from "./forward_kl.ts";
import { generalizedJSD } from "./generalized_jsd.ts";
import { hintonKD } from "./hinton_kd.ts";
import { checkLabels, crossEntropyRows } from "./labels.ts";
import { type LayerAttention, miniLMAttention } from "./minilm_attention.ts";
import { miniLMv2Relations } from "./minilm_relations.ts";
import { miniLLMLoss, type PolicyRollout } from "./minillm.ts";
import { nkd } from "./nkd.ts";
import { pld } from "./pld.ts";
import { psKDTargets, softTargetCrossEntropy } from "./ps_kd.ts";
import { reverseKL } from "./reverse_kl.ts";
import { sinKD, sinkhornKD } from "./sinkhorn_kd.ts";
import { skewKL, skewReverseKL } from "./skew_kl.ts";
import { sparseKL, type SparseTargetTensors } from "./sparse_kd.ts";
import { totalVariation } from "./total_variation.ts";
import { checkRange, reduceRows, toRows } from "./validate.ts";
import {
  ActivationBoundary,
  attentionTargets,
  attentionTransfer,
  BlockFitNetHint,
  BlockVariationalInformation,
  checkChannels,
  checkCorrelationOptions,
  checkExponent,
  ContrastiveRepresentation,
  correlationCongruence,
  FactorTransfer,
  FitNetHint,
  flattenBlocks,
  neuronSelectivityTransfer,
  probabilisticKT,
  relationalKD,
  similarityPreserving,
  trainStudentFlow,
  unflattenBlocks,
  VariationalInformation,
} from "../representation/mod.ts";

/** What an objective may need for one batch. */
export interface ObjectiveInputs {
  /** The frozen teacher's logits (every objective but SFT). */
  teacherLogits?: tf.Tensor;
  /** The student's logits, [N, V] or [B, T, V]. */
  studentLogits: tf.Tensor;
  /** Class ids [N] or next-token ids [B, T] (SFT, DKD, NKD, PLD, dual-head, CTKD, Hinton's CE). */
  labels?: tf.Tensor;
  /** 0/1 over positions. */
  mask?: tf.Tensor;
  /** Dual-head KD's auxiliary head. */
  auxLogits?: tf.Tensor;
  /** Delta-KD's frozen base models. */
  teacherBaseLogits?: tf.Tensor;
  /** Delta-KD's frozen student base model's logits. */
  studentBaseLogits?: tf.Tensor;
  /** MiniLM, MiniLMv2: the frozen teacher's self-attention (last layer, or `teacherLayer`). */
  teacherAttention?: LayerAttention;
  /** MiniLM, MiniLMv2: the student's last-layer self-attention (on the gradient tape). */
  studentAttention?: LayerAttention;
  /** MiniLLM: what the rollout fixed for each position (`labels` are the sampled tokens). */
  rollout?: PolicyRollout;
  /**
   * f-distill: 0/1 per sequence (`[B]`), 1 where its output was sampled from the student, 0 from
   * the teacher.
   */
  studentRows?: tf.Tensor;
  /**
   * Sparse KD: the teacher's cached sparse distribution of each position (ids and probabilities
   * `[..., K]`; `lib/train/teacher_targets.ts`), in place of its logits.
   */
  teacherTargets?: SparseTargetTensors;
  /** Representation KD: the frozen teacher's penultimate features `[N, d_T]`. */
  teacherFeatures?: tf.Tensor;
  /** Representation KD: the student's penultimate features `[N, d_S]` (on the gradient tape). */
  studentFeatures?: tf.Tensor;
  /** CRD's memory bank: each row's index in the training split (int32 `[N]`). */
  exampleIds?: tf.Tensor;
  /** Attention transfer: the student's block outputs `[N, H_j, W_j, C_j]` (on the gradient tape). */
  studentMaps?: tf.Tensor[];
  /**
   * Attention transfer: the frozen teacher's block outputs reduced by
   * {@link Objective.teacherMapTargets}, `[N, width]` (from a table or the teacher's forward pass).
   */
  teacherMapTargets?: tf.Tensor;
}

/** What the trainer tells an objective after each optimiser step ({@link Objective.observe}). */
export interface StepObservation {
  /** The step's loss (the mean over its micro-batches): a scalar on the device, not read back. */
  loss: tf.Scalar;
  /** Optimiser steps done before this one. */
  step: number;
  /**
   * float32 [1], 0 when the step's update was skipped on the device (a NaN/Inf loss or gradient
   * norm in the trainer's unread window): the objective must not adapt to the step either. Absent
   * when the trainer reads every step (it stops on a bad step before any other).
   */
  gate?: tf.Tensor;
}

/** Numbers an objective logs with a step: scalars on the device (read with the loss) or numbers. */
export type ObjectiveFields = Record<string, tf.Tensor | number>;

/** What {@link Objective.prepare} gets from the task that trains the student. */
export interface PrepareContext {
  /**
   * The frozen teacher's block outputs `[B, H_j, W_j, C_j]` for the `step`-th of a fixed sequence
   * of training batches; created in the caller's `tf.tidy`, so freed with it.
   */
  teacherMaps(step: number): tf.Tensor4D[];
  /**
   * The same batches' teacher block outputs before their ReLU (`[B, H_j, W_j, C_j]`, the block's
   * hidden neurons); absent where the task has none to give.
   */
  teacherPreactivations?(step: number): tf.Tensor4D[];
  /**
   * The student, for a first stage that trains its own blocks (activation boundaries); absent
   * where the task has no such student (an MLP has no blocks).
   */
  student?: {
    /** The variables its block outputs depend on (a CNN's conv layers), by name. */
    blockVariables: Record<string, tf.Variable>;
    /**
     * Its block outputs before their ReLU for the same batches, computed with its current
     * variables (so differentiable in them), in the caller's `tf.tidy`.
     */
    preactivations(step: number): tf.Tensor4D[];
    /** Its block outputs (after the ReLU), likewise. */
    maps(step: number): tf.Tensor4D[];
  };
}

/** A distillation objective chosen by name. */
export interface Objective {
  /** The registry name. */
  readonly name: string;
  /** False for objectives that use no teacher (SFT). */
  readonly needsTeacher: boolean;
  /**
   * Set for objectives that compare self-attention: the task then runs the teacher and the
   * student with the attention probabilities, queries, keys and values of the student's last
   * layer and of the teacher's last (or {@link teacherLayer}) ({@link ObjectiveInputs.teacherAttention}). `"heads"`: head by head, so both models need the
   * same head count (MiniLM); `"relations"`: through relation heads, any head counts (MiniLMv2).
   */
  readonly needsAttention?: "heads" | "relations";
  /**
   * With {@link needsAttention}: the teacher's layer compared with the student's last, numbered
   * from 1 (MiniLMv2, Wang et al. 2021, selects an upper-middle layer of a large-size teacher);
   * absent: the teacher's last layer, as in MiniLM.
   */
  readonly teacherLayer?: number;
  /**
   * Set for policy-gradient objectives (MiniLLM): the task then trains on rollouts, the student's
   * teacher-mixed samples with their old log-probabilities, importance weights and advantages
   * ({@link ObjectiveInputs.rollout}; `lib/train/minillm_rollout.ts`).
   */
  readonly needsRollout?: boolean;
  /**
   * Set for objectives that estimate a sequence-level divergence from sampled outputs
   * (f-distill): whose continuations of the data's prompts the task must draw; rows are told
   * apart by {@link ObjectiveInputs.studentRows} (`lib/train/sequence_samples.ts`).
   */
  readonly needsSamples?: SampleSide[];
  /**
   * Set for objectives that learn from the teacher's cached sparse targets
   * ({@link ObjectiveInputs.teacherTargets}) instead of running the teacher (sparse KD).
   */
  readonly needsTargets?: boolean;
  /**
   * Set for objectives that compare the two models' penultimate features (representation KD:
   * FitNets, RKD, SP, PKT, CRD; `lib/representation/`): the task then passes
   * {@link ObjectiveInputs.teacherFeatures} and {@link ObjectiveInputs.studentFeatures}.
   */
  readonly needsFeatures?: boolean;
  /**
   * With {@link needsFeatures}: the objective also needs each row's index in the training split
   * ({@link ObjectiveInputs.exampleIds}; CRD's memory bank).
   */
  readonly needsExampleIds?: boolean;
  /**
   * Set for objectives that compare the two models' intermediate block outputs (attention
   * transfer): the task passes the student's {@link ObjectiveInputs.studentMaps} and the teacher's
   * maps reduced by {@link teacherMapTargets} ({@link ObjectiveInputs.teacherMapTargets}).
   */
  readonly needsMaps?: boolean;
  /**
   * With {@link needsMaps}: what the objective needs of the frozen teacher's block outputs, one row
   * per example (attention transfer: the normalised attention maps), so that a task can compute it
   * once per training split instead of running the teacher on every batch.
   */
  teacherMapTargets?(teacherMaps: tf.Tensor[]): tf.Tensor2D;
  /** With {@link needsMaps}: names what {@link teacherMapTargets} computes, for caches (`"at:p2"`). */
  readonly mapTargetsKey?: string;
  /** The loss of one batch (a scalar to minimise). */
  loss(inputs: ObjectiveInputs): tf.Scalar;
  /**
   * Called once per optimiser step, before anything is read back (every GPU readback costs
   * ≥ 10 ms under Deno): adapts the objective's state to the step on the device (TAID's t) or to
   * the step count (DKD's warm-up). Returns numbers to log in the step's row as `<name>_<key>`;
   * the trainer reads tensors back with the loss and disposes them.
   */
  observe?(step: StepObservation): ObjectiveFields | void;
  /**
   * A first training stage of the objective's own, run once by the task before the student
   * trains: factor transfer's paraphraser, trained on the teacher's blocks alone; AB's and FSP's,
   * the student's own conv blocks trained alone on the teacher's. Resolves to numbers for the
   * run's summary.
   */
  prepare?(context: PrepareContext): Promise<Record<string, number>>;
  /** Extra trainable variables (CTKD's temperature). */
  variables?(): tf.Variable[];
  /**
   * Untrained state too large for {@link state}'s JSON (CRD's memory banks), by name: the trainer
   * saves it in checkpoints and assigns it back on resume.
   */
  buffers?(): Record<string, tf.Variable>;
  /**
   * Objective state for checkpoints (TAID's t). A promise where it is read from the device
   * (TAID's state, CTKD's θ: asynchronous reads work on every backend); the trainer awaits it.
   */
  state?(): unknown;
  /** Restores {@link state}. */
  load?(state: unknown): void;
  /** Frees what the objective holds on the device (TAID's state, CTKD's temperature). */
  dispose?(): void;
}

type Config = Record<string, unknown>;

interface Entry {
  description: string;
  keys: string[];
  make(config: Config): Objective;
}

/**
 * The loss of MiniLM's and MiniLMv2's objectives: checks what both need (the two models'
 * self-attention, with queries and keys for MiniLMv2; the same causality; no mask, since the maps cover
 * every position), then adds `ceWeight`·CE against the labels to `transfer(teacher, student)`.
 */
function attentionObjectiveLoss(
  name: "minilm" | "minilmv2",
  x: ObjectiveInputs,
  ceWeight: number,
  transfer: (teacher: LayerAttention, student: LayerAttention) => tf.Scalar,
): tf.Scalar {
  return tf.tidy(() => {
    const { teacherAttention: t, studentAttention: s } = x;
    const relations = name === "minilmv2";
    if (!t || !s || (relations && (!t.queries || !t.keys || !s.queries || !s.keys))) {
      throw new Error(
        `${name}: inputs.teacherAttention and inputs.studentAttention ` +
          `${relations ? "with queries and keys " : ""}are required (the task runs both ` +
          `models with their attention: the student's last layer, the teacher's last or ` +
          `teacherLayer)`,
      );
    }
    if (t.causal !== s.causal) {
      throw new Error(`${name}: teacher and student must both be causal or both not`);
    }
    if (x.mask) {
      throw new Error(
        `${name}: inputs.mask is not supported (the ${
          relations ? "relations" : "attention maps"
        } cover every position)`,
      );
    }
    const loss = transfer(t, s);
    if (ceWeight === 0) return loss;
    return tf.add(loss, tf.mul(ceWeight, labelCrossEntropy(name, x))) as tf.Scalar;
  });
}

/**
 * The `teacherLayer` key of MiniLM's and MiniLMv2's configs, checked: absent, or a layer number
 * from 1 (whether the teacher has it is checked where the teacher is known, by the task).
 */
function teacherLayerOf(name: string, teacherLayer: unknown): { teacherLayer?: number } {
  if (teacherLayer === undefined) return {};
  if (!(Number.isInteger(teacherLayer) && (teacherLayer as number) >= 1)) {
    throw new Error(
      `${name}: config.teacherLayer must be a layer number from 1 (default: the teacher's ` +
        `last), got ${teacherLayer}`,
    );
  }
  return { teacherLayer: teacherLayer as number };
}

/** The batch's teacher logits, or an error naming the objective that needs them. */
const teacherOf = (name: string, inputs: ObjectiveInputs): tf.Tensor => {
  if (!inputs.teacherLogits) throw new Error(`${name}: inputs.teacherLogits is required`);
  return inputs.teacherLogits;
};

function divergence(
  name: string,
  description: string,
  keys: string[],
  fn: (
    t: tf.Tensor,
    s: tf.Tensor,
    o: Config & { mask?: tf.Tensor; labels?: tf.Tensor },
  ) => tf.Scalar,
): Entry {
  return {
    description,
    keys,
    make: (config) => ({
      name,
      needsTeacher: true,
      loss: (x) =>
        fn(teacherOf(name, x), x.studentLogits, { ...config, mask: x.mask, labels: x.labels }),
    }),
  };
}

/** The student's mean cross-entropy against `inputs.labels` over unmasked positions. */
function labelCrossEntropy(name: string, x: ObjectiveInputs): tf.Scalar {
  const rows = toRows(name, x.studentLogits, x.studentLogits, { mask: x.mask, validate: false });
  if (!x.labels) throw new Error(`${name}: inputs.labels is required`);
  const y = checkLabels(name, x.labels.reshape([-1]), rows.student.shape[0], rows.vocab);
  return reduceRows(crossEntropyRows(rows.student, y), rows) as tf.Scalar;
}

/** A representation loss with what it owns: trainable heads and memory banks, if any. */
interface FeatureTerm {
  loss(teacherFeatures: tf.Tensor, studentFeatures: tf.Tensor, exampleIds?: tf.Tensor): tf.Scalar;
  variables?: tf.Variable[];
  /** Needs each row's index in the training split (CRD's memory). */
  needsExampleIds?: boolean;
  buffers?(): Record<string, tf.Variable>;
  state?(): unknown;
  load?(state: unknown): void;
  dispose?(): void;
}

/**
 * A loss on the two models' block outputs (attention transfer, NST, VID on blocks): the teacher's
 * reduced once to per-example rows by `targets`, named by `key` for caches; with trainable heads,
 * their `variables`.
 */
interface MapTerm {
  maps: true;
  targets(teacherMaps: tf.Tensor[]): tf.Tensor2D;
  key: string;
  loss(teacherTargets: tf.Tensor, studentMaps: tf.Tensor[]): tf.Scalar;
  variables?: tf.Variable[];
  buffers?(): Record<string, tf.Variable>;
  prepare?(context: PrepareContext): Promise<Record<string, number>>;
  dispose?(): void;
}

/**
 * A {@link MapTerm} on the teacher's raw block outputs (flattened per example, one table shared
 * by every such objective): `loss` gets them back as `[B, H_j, W_j, C_j]`, with the student's
 * spatial sizes and the teacher's `teacherChannels`.
 */
function rawBlocksTerm(
  name: string,
  teacherChannels: number[],
  loss: (teacherMaps: tf.Tensor[], studentMaps: tf.Tensor[]) => tf.Scalar,
  heads: Pick<MapTerm, "variables" | "buffers" | "prepare" | "dispose"> = {},
): MapTerm {
  return {
    maps: true,
    key: "blocks",
    targets: (maps) => flattenBlocks(maps),
    loss: (targets, studentMaps) =>
      tf.tidy(() => {
        if (studentMaps.length !== teacherChannels.length) {
          throw new Error(
            `${name}: the teacher's targets hold ${teacherChannels.length} blocks (config.` +
              `teacherChannels), the student has ${studentMaps.length}`,
          );
        }
        const shapes = studentMaps.map((m, j) =>
          [m.shape[1], m.shape[2], teacherChannels[j]] as [number, number, number]
        );
        return loss(unflattenBlocks(targets, shapes), studentMaps);
      }),
    ...heads,
  };
}

/** The `studentDim`, `teacherDim` and `seed` keys of an objective with trainable heads, checked. */
function headConfig(
  name: string,
  c: Config,
): { studentDim: number; teacherDim: number; seed: number } {
  for (const key of ["studentDim", "teacherDim", "seed"]) {
    if (!Number.isInteger(c[key])) {
      throw new Error(
        `${name}: config.${key} must be an integer (the heads' widths and seed; runVision fills ` +
          `them from the two models and the run's seed), got ${c[key]}`,
      );
    }
  }
  return {
    studentDim: c.studentDim as number,
    teacherDim: c.teacherDim as number,
    seed: c.seed as number,
  };
}

/**
 * The `studentChannels`, `teacherChannels` and `seed` keys of an objective with heads on the
 * blocks (VID, FitNets, FT), checked.
 */
function blockHeadConfig(
  name: string,
  c: Config,
): { studentChannels: number[]; teacherChannels: number[]; seed: number } {
  const teacherChannels = checkChannels(name, "config.teacherChannels", c.teacherChannels);
  const studentChannels = checkChannels(name, "config.studentChannels", c.studentChannels);
  if (!Number.isInteger(c.seed)) {
    throw new Error(
      `${name}: config.seed must be an integer (the regressors' seed; runVision fills it with ` +
        `the run's seed), got ${c.seed}`,
    );
  }
  return { studentChannels, teacherChannels, seed: c.seed as number };
}

/** The `block` key of an objective on one of the blocks, checked: by default the last block. */
function blockIndex(name: string, c: Config, teacherChannels: number[]): number {
  const last = teacherChannels.length - 1;
  const j = c.block ?? last;
  if (!(Number.isInteger(j) && (j as number) >= 0 && (j as number) <= last)) {
    throw new Error(`${name}: config.block must be a block index in [0, ${last}], got ${j}`);
  }
  return j as number;
}

/**
 * The labels' and the teacher's terms that representation KD and the first-stage methods add to
 * their own (RepDistiller's `-r` and `-a`): ceWeight·CE + kdWeight·T²·KL(p_T ‖ p_S) at temperature
 * T, from `config.ceWeight` (default 1), `config.kdWeight` (default 0) and `config.temperature`
 * (default 4), checked.
 */
function labelAndKDTerms(name: string, config: Config) {
  const ceWeight = (config.ceWeight ?? 1) as number;
  const kdWeight = (config.kdWeight ?? 0) as number;
  const temperature = (config[T] ?? 4) as number;
  checkRange(name, "config.ceWeight", ceWeight, 0, Infinity);
  checkRange(name, "config.kdWeight", kdWeight, 0, Infinity);
  checkRange(name, "config.temperature", temperature, 1e-6, Infinity);
  return {
    ceWeight,
    kdWeight,
    /** `loss` plus the terms with a positive weight, in the caller's tidy. */
    add: (loss: tf.Tensor, x: ObjectiveInputs): tf.Scalar => {
      if (ceWeight > 0) loss = tf.add(loss, tf.mul(ceWeight, labelCrossEntropy(name, x)));
      if (kdWeight > 0) {
        loss = tf.add(
          loss,
          hintonKD(teacherOf(name, x), x.studentLogits, { temperature, kdWeight, mask: x.mask }),
        );
      }
      return loss as tf.Scalar;
    },
  };
}

/**
 * The `initSteps` (default 1,000; `what` they train, for the error) and `initLearningRate`
 * (default 1e-3) keys of an objective with a first stage (FT, AB, FSP), checked.
 */
function firstStageConfig(
  name: string,
  c: Config,
  what: string,
): { steps: number; learningRate: number } {
  const steps = (c.initSteps ?? 1000) as number;
  if (!(Number.isInteger(steps) && steps >= 0)) {
    throw new Error(`${name}: config.initSteps must be an integer ≥ 0 (${what}), got ${steps}`);
  }
  const learningRate = (c.initLearningRate ?? 1e-3) as number;
  checkRange(name, "config.initLearningRate", learningRate, 1e-12, Infinity);
  return { steps, learningRate };
}

/**
 * Representation KD as the CRD benchmark trains it (Tian et al., ICLR 2020; RepDistiller's
 * `train_student.py`): L = ceWeight·CE + kdWeight·T²·KL(p_T ‖ p_S) at temperature T +
 * weight·feature loss (on the penultimate features, or with a {@link MapTerm} on the block
 * outputs). Defaults: CE 1, KD 0 (the benchmark's "+KD" rows set 1), T = 4, and the benchmark's
 * weight of each method (`defaultWeight`).
 */
function representationEntry(
  name: string,
  description: string,
  defaultWeight: number,
  keys: string[],
  build: (config: Config) => FeatureTerm | MapTerm,
): Entry {
  return {
    description,
    keys: ["weight", "ceWeight", "kdWeight", T, ...keys],
    make: (config) => {
      const weight = (config.weight ?? defaultWeight) as number;
      checkRange(name, "config.weight", weight, 0, Infinity);
      const labelsAndKD = labelAndKDTerms(name, config);
      const term = build(config);
      const termLoss = (x: ObjectiveInputs): tf.Scalar => {
        if ("maps" in term) {
          if (!x.teacherMapTargets || !x.studentMaps) {
            throw new Error(
              `${name}: inputs.teacherMapTargets and inputs.studentMaps are required (an ` +
                `image-classifier task passes the CNN student's block outputs and the teacher's ` +
                `reduced by objective.teacherMapTargets)`,
            );
          }
          return term.loss(x.teacherMapTargets, x.studentMaps);
        }
        if (!x.teacherFeatures || !x.studentFeatures) {
          throw new Error(
            `${name}: inputs.teacherFeatures and inputs.studentFeatures are required (an ` +
              `image-classifier task passes both models' penultimate features)`,
          );
        }
        if (term.needsExampleIds && !x.exampleIds) {
          throw new Error(
            `${name}: inputs.exampleIds is required (each row's index in the training ` +
              `split, for the memory bank)`,
          );
        }
        return term.loss(x.teacherFeatures, x.studentFeatures, x.exampleIds);
      };
      const needs = "maps" in term
        ? {
          needsMaps: true,
          teacherMapTargets: (maps: tf.Tensor[]) => term.targets(maps),
          mapTargetsKey: term.key,
        }
        : { needsFeatures: true, ...(term.needsExampleIds ? { needsExampleIds: true } : {}) };
      const owned: Partial<FeatureTerm> & Pick<MapTerm, "prepare"> = "maps" in term
        ? {
          variables: term.variables,
          buffers: term.buffers,
          prepare: term.prepare,
          dispose: term.dispose,
        }
        : term;
      return {
        name,
        needsTeacher: true,
        ...needs,
        loss: (x) => tf.tidy(() => labelsAndKD.add(tf.mul(weight, termLoss(x)), x)),
        ...(owned.variables ? { variables: () => owned.variables! } : {}),
        ...(owned.buffers ? { buffers: () => owned.buffers!() } : {}),
        ...(owned.prepare ? { prepare: (context) => owned.prepare!(context) } : {}),
        ...(owned.state ? { state: () => owned.state!(), load: (s) => owned.load!(s) } : {}),
        ...(owned.dispose ? { dispose: () => owned.dispose!() } : {}),
      };
    },
  };
}

/** {@link representationEntry} with a loss on the penultimate features. */
const representation = (
  name: string,
  description: string,
  defaultWeight: number,
  keys: string[],
  build: (config: Config) => FeatureTerm,
): Entry => representationEntry(name, description, defaultWeight, keys, build);

/** A first stage that trains the student's own blocks: see {@link studentFirstStageEntry}. */
interface StudentFirstStage {
  /** Trains `student.blockVariables`; resolves to numbers for the run's summary. */
  stage(
    context: PrepareContext,
    student: NonNullable<PrepareContext["student"]>,
    options: { steps: number; learningRate: number },
  ): Promise<Record<string, number>>;
  /** The stage reads the teacher's blocks before their ReLU (`context.teacherPreactivations`). */
  needsPreactivations?: boolean;
  dispose?(): void;
}

/**
 * A method whose teacher acts only through a first stage that trains the student's own conv
 * blocks (AB, FSP), as the CRD benchmark runs them (RepDistiller's `init`, then `loss_kd = 0`):
 * `prepare` runs the stage (`initSteps` of AdamW at `initLearningRate`; 0 skips it, for tours and
 * tests), then the student trains on ceWeight·CE + kdWeight·T²·KL at temperature T (defaults:
 * CE 1, KD 0, T = 4; the benchmark: CE alone). The loss refuses to run before the stage has.
 */
function studentFirstStageEntry(
  name: string,
  description: string,
  keys: string[],
  build: (config: Config) => StudentFirstStage,
): Entry {
  return {
    description,
    keys: ["ceWeight", "kdWeight", T, "initSteps", "initLearningRate", ...keys],
    make: (c) => {
      const labelsAndKD = labelAndKDTerms(name, c);
      if (labelsAndKD.ceWeight + labelsAndKD.kdWeight === 0) {
        throw new Error(`${name}: config.ceWeight and config.kdWeight must not both be 0`);
      }
      const { steps, learningRate } = firstStageConfig(name, c, "the first stage's training steps");
      const first = build(c);
      let prepared = steps === 0;
      return {
        name,
        needsTeacher: labelsAndKD.kdWeight > 0,
        loss: (x) => {
          if (!prepared) {
            throw new Error(
              `${name}: the student's blocks are not initialised: await ` +
                `objective.prepare(context) before the student trains (runVision does), or set ` +
                `config.initSteps to 0`,
            );
          }
          return tf.tidy(() => labelsAndKD.add(tf.scalar(0), x));
        },
        prepare: async (context) => {
          if (steps === 0) return {};
          if (!context.student || (first.needsPreactivations && !context.teacherPreactivations)) {
            throw new Error(
              `${name}: prepare needs context.student${
                first.needsPreactivations ? " and context.teacherPreactivations" : ""
              } (the models' blocks: runVision passes them for CNNs)`,
            );
          }
          const fields = await first.stage(context, context.student, { steps, learningRate });
          prepared = true;
          return fields;
        },
        ...(first.dispose ? { dispose: () => first.dispose!() } : {}),
      };
    },
  };
}

/** {@link representationEntry} with a loss on the block outputs. */
const blockRepresentation = (
  name: string,
  description: string,
  defaultWeight: number,
  keys: string[],
  build: (config: Config) => MapTerm,
): Entry => representationEntry(name, description, defaultWeight, keys, build);

/** A term that owns trainable heads (and, for CRD's NCE, memory banks). */
function withHeads(
  head: FitNetHint | VariationalInformation | ContrastiveRepresentation,
): FeatureTerm {
  const memory = head instanceof ContrastiveRepresentation ? head.memory : undefined;
  return {
    loss: (t, s, ids) =>
      head instanceof ContrastiveRepresentation ? head.loss(t, s, ids) : head.loss(t, s),
    variables: Object.values(head.params),
    dispose: () => head.dispose(),
    ...(memory
      ? {
        needsExampleIds: true,
        buffers: () => memory.buffers(),
        state: () => ({ draws: memory.draws }),
        load: (state: unknown) => void (memory.draws = (state as { draws: number }).draws),
      }
      : {}),
  };
}

const T = "temperature";
/**
 * CRD (`ContrastiveRepresentation`) at the benchmark's weight 0.8: in-batch InfoNCE, or with
 * `memory` the paper's NCE over memory banks, which takes the training split's size (`dataSize`,
 * filled by runVision), the negatives per batch and the banks' momentum too.
 */
function crdEntry(name: string, description: string, memory = false): Entry {
  const keys = ["studentDim", "teacherDim", "seed", "embedDim", "contrastTemperature"];
  return representation(
    name,
    description,
    0.8,
    memory ? [...keys, "dataSize", "negatives", "momentum"] : keys,
    (c) => {
      if (memory && !Number.isInteger(c.dataSize)) {
        throw new Error(
          `${name}: config.dataSize must be an integer (the training split's size: the memory ` +
            `banks' rows; runVision fills it), got ${c.dataSize}`,
        );
      }
      return withHeads(
        new ContrastiveRepresentation({
          ...headConfig(name, c),
          embedDim: c.embedDim as number | undefined,
          temperature: c.contrastTemperature as number | undefined,
          ...(memory
            ? {
              memory: {
                dataSize: c.dataSize as number,
                negatives: c.negatives as number | undefined,
                momentum: c.momentum as number | undefined,
              },
            }
            : {}),
        }),
      );
    },
  );
}

const REGISTRY: Record<string, Entry> = {
  sft: {
    description: "cross-entropy against the true labels / next tokens (no teacher)",
    keys: [],
    make: () => ({
      name: "sft",
      needsTeacher: false,
      loss: (x) => tf.tidy(() => labelCrossEntropy("sft", x)),
    }),
  },
  fkl: divergence("fkl", "forward KL(p_T‖q_S)", [T, "chunkElements"], forwardKL),
  rkl: divergence("rkl", "reverse KL(q_S‖p_T)", [T, "chunkElements"], reverseKL),
  tvd: divergence("tvd", "total variation ½Σ|p−q|", [T, "chunkElements"], totalVariation),
  gjsd: divergence(
    "gjsd",
    "generalized JSD (β weights the teacher)",
    [T, "beta", "chunkElements"],
    generalizedJSD,
  ),
  skl: divergence("skl", "skew KL(p ‖ αp + (1−α)q)", [T, "alpha", "chunkElements"], skewKL),
  srkl: divergence(
    "srkl",
    "skew reverse KL(q ‖ (1−α)p + αq)",
    [T, "alpha", "chunkElements"],
    skewReverseKL,
  ),
  akl: divergence("akl", "adaptive KL (head/tail-weighted FKL + RKL)", [T, "mu"], adaptiveKL),
  kd: divergence(
    "kd",
    "Hinton KD: T²·KL (+ ceWeight·CE); standardize: Z-scored logits (Sun et al. 2024)",
    [T, "ceWeight", "kdWeight", "standardize"],
    hintonKD,
  ),
  dist: divergence(
    "dist",
    "DIST: τ²·(β·inter-class + γ·intra-class Pearson relations) + ceWeight·CE (labels)",
    [T, "beta", "gamma", "ceWeight"],
    dist,
  ),
  nkd: divergence("nkd", "normalized KD (labels)", [T, "gamma", "ceWeight"], nkd),
  pld: divergence("pld", "Plackett–Luce distillation (labels)", [T], pld),
  sinkhorn: divergence(
    "sinkhorn",
    "batch-wise Sinkhorn distance",
    [T, "epsilon", "iterations"],
    (t, s, o) => {
      const { mask: _m, labels: _l, ...rest } = o;
      return sinkhornKD(t, s, rest);
    },
  ),
  sinkd: divergence(
    "sinkd",
    "SinKD: α·soft CE + (1−α)·CE + β·Sinkhorn (labels)",
    [T, "epsilon", "iterations", "alpha", "beta", "kdTemperature"],
    (t, s, o) => {
      const { mask: _m, ...rest } = o;
      return sinKD(t, s, rest);
    },
  ),
  dkd: {
    description: "decoupled KD (labels); config stepsPerEpoch drives the warm-up",
    keys: [T, "alpha", "beta", "ceWeight", "warmup", "stepsPerEpoch"],
    make: (config) => {
      const { stepsPerEpoch = 1, ...options } = config as Config & { stepsPerEpoch?: number };
      let epoch = 1;
      return {
        name: "dkd",
        needsTeacher: true,
        loss: (x) =>
          dkd(teacherOf("dkd", x), x.studentLogits, {
            ...options,
            epoch,
            mask: x.mask,
            labels: x.labels,
          }),
        observe: ({ step }) => {
          epoch = Math.floor((step + 1) / stepsPerEpoch) + 1;
          return { epoch };
        },
        state: () => ({ epoch }),
        load: (state) => {
          epoch = (state as { epoch: number }).epoch;
        },
      };
    },
  },
  ps_kd: {
    description: "progressive self-KD: targets mix labels with the model's previous-epoch " +
      "predictions (pass the previous-epoch snapshot as the teacher)",
    keys: ["alphaT", "epochs", "stepsPerEpoch"],
    make: (config) => {
      const { alphaT = 0.8, epochs, stepsPerEpoch } = config as {
        alphaT?: number;
        epochs?: number;
        stepsPerEpoch?: number;
      };
      if (!(Number.isInteger(epochs) && epochs! >= 1)) {
        throw new Error("ps_kd: config.epochs (a positive integer) is required");
      }
      if (!(Number.isInteger(stepsPerEpoch) && stepsPerEpoch! >= 1)) {
        throw new Error("ps_kd: config.stepsPerEpoch (a positive integer) is required");
      }
      let epoch = 0;
      return {
        name: "ps_kd",
        needsTeacher: true,
        loss: (x) =>
          tf.tidy(() => {
            const rows = toRows("ps_kd", teacherOf("ps_kd", x), x.studentLogits, {
              validate: false,
            });
            // Epoch 0 has no previous predictions: plain cross-entropy on the labels.
            const previous = epoch === 0
              ? tf.oneHot(
                checkLabels("ps_kd", x.labels?.reshape([-1]), rows.student.shape[0], rows.vocab),
                rows.vocab,
              ).toFloat() as tf.Tensor2D
              : tf.softmax(rows.teacher) as tf.Tensor2D;
            const targets = psKDTargets(
              x.labels!.reshape([-1]),
              previous,
              Math.min(epoch, epochs! - 1),
              epochs!,
              alphaT,
            );
            return softTargetCrossEntropy(targets, rows.student);
          }),
        observe: ({ step }) => {
          epoch = Math.floor((step + 1) / stepsPerEpoch!);
          return { epoch };
        },
        state: () => ({ epoch }),
        load: (state) => {
          epoch = (state as { epoch: number }).epoch;
        },
      };
    },
  },
  dual_head: {
    description: "dual-head KD: CE on the main head + BinaryKL-Norm on inputs.auxLogits",
    keys: [T, "gamma", "alpha"],
    make: (config) => ({
      name: "dual_head",
      needsTeacher: true,
      loss: (x) =>
        dualHeadKD(teacherOf("dual_head", x), x.studentLogits, {
          ...config,
          auxLogits: x.auxLogits,
          labels: x.labels,
          mask: x.mask,
        }),
    }),
  },
  ctkd: {
    description: "curriculum temperature KD (learnable T via gradient reversal)",
    keys: ["tStart", "tEnd", "decayEpochs", "stepsPerEpoch", "ceWeight", "kdWeight"],
    make: (config) => {
      const c = config as {
        tStart?: number;
        tEnd?: number;
        decayEpochs?: number;
        stepsPerEpoch?: number;
        ceWeight?: number;
        kdWeight?: number;
      };
      const temperature = new CTKDTemperature(c.tStart, c.tEnd);
      let step = 0;
      return {
        name: "ctkd",
        needsTeacher: true,
        loss: (x) => {
          const lambda = ctkdLambda(step / (c.stepsPerEpoch ?? 1), c.decayEpochs ?? 10);
          return ctkd(teacherOf("ctkd", x), x.studentLogits, {
            temperature: temperature.temperature(lambda),
            labels: x.labels,
            mask: x.mask,
            ceWeight: c.ceWeight,
            kdWeight: c.kdWeight,
          });
        },
        // Logs θ as this step's loss used it (observe runs before the optimiser's update).
        observe: (observed) => {
          step = observed.step + 1;
          return { theta: tf.clone(temperature.theta) };
        },
        variables: () => [temperature.theta],
        // Read asynchronously on every backend (webgpu has no synchronous reads); the trainer awaits.
        state: async () => ({ step, theta: (await temperature.theta.data())[0] }),
        dispose: () => temperature.theta.dispose(),
        load: (state) => {
          const s = state as { step: number; theta: number };
          step = s.step;
          temperature.theta.assign(tf.scalar(s.theta));
        },
      };
    },
  },
  minilm: {
    description:
      "MiniLM: last-layer attention transfer + value relation (optional CE, teacher layer)",
    keys: ["attentionWeight", "valueWeight", "ceWeight", "teacherLayer"],
    make: (config) => {
      const c = config as {
        attentionWeight?: number;
        valueWeight?: number;
        ceWeight?: number;
        teacherLayer?: number;
      };
      const ceWeight = c.ceWeight ?? 0;
      checkRange("minilm", "ceWeight", ceWeight, 0, Infinity);
      checkRange("minilm", "attentionWeight", c.attentionWeight ?? 1, 0, Infinity);
      checkRange("minilm", "valueWeight", c.valueWeight ?? 1, 0, Infinity);
      return {
        name: "minilm",
        needsTeacher: true,
        needsAttention: "heads",
        ...teacherLayerOf("minilm", c.teacherLayer),
        loss: (x) =>
          attentionObjectiveLoss(
            "minilm",
            x,
            ceWeight,
            (t, s) =>
              miniLMAttention(t.probabilities, s.probabilities, t.values, s.values, {
                causal: t.causal,
                attentionWeight: c.attentionWeight,
                valueWeight: c.valueWeight,
              }),
          ),
      };
    },
  },
  minilmv2: {
    description:
      "MiniLMv2: Q-Q, K-K, V-V self-attention relations over relation heads (optional CE, teacher layer)",
    keys: ["relationHeads", "queryWeight", "keyWeight", "valueWeight", "ceWeight", "teacherLayer"],
    make: (config) => {
      const c = config as {
        relationHeads?: number;
        queryWeight?: number;
        keyWeight?: number;
        valueWeight?: number;
        ceWeight?: number;
        teacherLayer?: number;
      };
      const ceWeight = c.ceWeight ?? 0;
      checkRange("minilmv2", "ceWeight", ceWeight, 0, Infinity);
      for (const key of ["queryWeight", "keyWeight", "valueWeight"] as const) {
        checkRange("minilmv2", key, c[key] ?? 1, 0, Infinity);
      }
      if (!Number.isInteger(c.relationHeads) || c.relationHeads! < 1) {
        throw new Error(
          `minilmv2: config.relationHeads must be a positive integer (MiniLMv2's A_r, dividing ` +
            `both models' width), got ${c.relationHeads}`,
        );
      }
      return {
        name: "minilmv2",
        needsTeacher: true,
        needsAttention: "relations",
        ...teacherLayerOf("minilmv2", c.teacherLayer),
        loss: (x) =>
          attentionObjectiveLoss("minilmv2", x, ceWeight, (t, s) =>
            miniLMv2Relations(
              { queries: t.queries!, keys: t.keys!, values: t.values },
              { queries: s.queries!, keys: s.keys!, values: s.values },
              {
                relationHeads: c.relationHeads!,
                causal: t.causal,
                queryWeight: c.queryWeight,
                keyWeight: c.keyWeight,
                valueWeight: c.valueWeight,
              },
            )),
      };
    },
  },
  delta_kd: {
    description:
      "Delta-KD: the teacher's SFT shift applied to the student's base model (assumed operator)",
    keys: [T, "kappa", "chunkElements"],
    make: (config) => ({
      name: "delta_kd",
      needsTeacher: true,
      loss: (x) =>
        deltaKD(teacherOf("delta_kd", x), x.studentLogits, {
          ...config,
          mask: x.mask,
          teacherBaseLogits: x.teacherBaseLogits,
          studentBaseLogits: x.studentBaseLogits,
        }),
    }),
  },
  taid: {
    description:
      "TAID with adaptive t (config: totalSteps required; tStart, tEnd, alpha, beta, adaptive)",
    keys: ["totalSteps", "tStart", "tEnd", "alpha", "beta", "adaptive", T, "chunkElements"],
    make: (config) => {
      const { temperature, chunkElements, ...taidConfig } = config as Config & {
        temperature?: number;
        chunkElements?: number;
      };
      // t lives on the device and moves there from the loss tensor: nothing is read back.
      const taid = new DeviceTAID(taidConfig as unknown as TAIDConfig);
      return {
        name: "taid",
        needsTeacher: true,
        loss: (x) =>
          taid.loss(teacherOf("taid", x), x.studentLogits, {
            mask: x.mask,
            temperature,
            chunkElements,
          }),
        observe: ({ loss, step, gate }) => {
          taid.update(loss, step, gate);
          return taid.fields();
        },
        state: () => taid.state(),
        load: (state) => taid.load(state as TAIDState),
        dispose: () => taid.dispose(),
      };
    },
  },
  fdistill: {
    description: "f-distill: sequence-level KL / RKL / JS / TVD from teacher and student samples",
    keys: [T, "divergence", "beta", "chunkElements"],
    make: (config) => {
      const { divergence = "tvd", ...rest } = config as {
        divergence?: FDistillDivergence;
        beta?: number;
      };
      if (!Object.hasOwn(F_DISTILL_SIDES, divergence)) {
        throw new Error(
          `fdistill: config.divergence must be one of ${
            Object.keys(F_DISTILL_SIDES).join(", ")
          }, ` +
            `got ${JSON.stringify(divergence)}`,
        );
      }
      if (rest.beta !== undefined) {
        if (divergence !== "js") throw new Error("fdistill: config.beta applies to divergence js");
        if (!(typeof rest.beta === "number" && rest.beta > 0 && rest.beta < 1)) {
          throw new Error(`fdistill: config.beta must be a number in (0, 1), got ${rest.beta}`);
        }
      }
      return {
        name: "fdistill",
        needsTeacher: true,
        needsSamples: F_DISTILL_SIDES[divergence],
        loss: (x) => {
          if (!x.studentRows) {
            throw new Error(
              "fdistill: inputs.studentRows is required (the task trains on sampled outputs: " +
                "languageModelTask's sequenceSamples option)",
            );
          }
          return fDistill(teacherOf("fdistill", x), x.studentLogits, {
            ...rest,
            divergence,
            studentRows: x.studentRows,
            mask: x.mask,
          });
        },
      };
    },
  },
  sparse_kd: {
    description: "sparse KD: KL from cached Top-K or sampled teacher targets (+ ceWeight·CE)",
    keys: ["ceWeight"],
    make: (config) => {
      const { ceWeight = 0 } = config as { ceWeight?: number };
      checkRange("sparse_kd", "config.ceWeight", ceWeight, 0, Infinity);
      return {
        name: "sparse_kd",
        needsTeacher: false,
        needsTargets: true,
        loss: (x) => {
          if (!x.teacherTargets) {
            throw new Error(
              "sparse_kd: inputs.teacherTargets is required (the task reads them from a cache: " +
                "languageModelTask's teacherTargets option)",
            );
          }
          const kl = sparseKL(x.studentLogits, x.teacherTargets, { mask: x.mask }) as tf.Scalar;
          if (ceWeight === 0) return kl;
          return tf.tidy(() => tf.add(kl, tf.mul(ceWeight, labelCrossEntropy("sparse_kd", x))));
        },
      };
    },
  },
  fitnet: representation(
    "fitnet",
    "FitNets' hint: MSE from a learned regressor of the student's features to the teacher's (+ CE)",
    100,
    ["studentDim", "teacherDim", "seed"],
    (c) => withHeads(new FitNetHint(headConfig("fitnet", c))),
  ),
  rkd: representation(
    "rkd",
    "relational KD: distances and angles among the batch's features (+ CE)",
    1,
    ["distanceWeight", "angleWeight"],
    (c) => ({
      loss: (t, s) =>
        relationalKD(t, s, {
          distanceWeight: c.distanceWeight as number | undefined,
          angleWeight: c.angleWeight as number | undefined,
        }),
    }),
  ),
  sp: representation(
    "sp",
    "similarity-preserving KD: the batch's normalised Gram matrices (+ CE)",
    3000,
    [],
    () => ({ loss: similarityPreserving }),
  ),
  pkt: representation(
    "pkt",
    "probabilistic knowledge transfer: cosine-kernel probabilities among the batch (+ CE)",
    30000,
    [],
    () => ({ loss: probabilisticKT }),
  ),
  // CCKD (Peng et al., ICCV 2019) in the paper's kernel form, at the weight the
  // Knowledge-Distillation-Zoo gives it (100; the CRD benchmark's 0.02 is for its other form).
  cc: representation(
    "cc",
    "correlation congruence: Taylor-expanded RBF correlations among the batch's features (+ CE)",
    100,
    ["gamma", "order"],
    (c) => {
      const options = checkCorrelationOptions("cc", c, "config.");
      return { loss: (t, s) => correlationCongruence(t, s, options) };
    },
  ),
  // VID (Ahn et al., CVPR 2019) at the CRD benchmark's weight 1: the teacher's features'
  // Gaussian likelihood given a regressor of the student's, with learned variances.
  vid: representation(
    "vid",
    "variational information distillation: the teacher's features' likelihood given the " +
      "student's (+ CE)",
    1,
    ["studentDim", "teacherDim", "seed", "initialVariance"],
    (c) =>
      withHeads(
        new VariationalInformation({
          ...headConfig("vid", c),
          initialVariance: c.initialVariance as number | undefined,
        }),
      ),
  ),
  // Attention transfer (Zagoruyko & Komodakis, ICLR 2017, Eq. 2 with the released at_loss) at
  // RepDistiller's β = 1000: the CNN blocks' normalised Σ_c |a|^p maps (p = 2, the paper's).
  at: blockRepresentation(
    "at",
    "attention transfer: the CNN blocks' normalised spatial attention maps (+ CE)",
    1000,
    ["p"],
    (c) => {
      const p = checkExponent("at", "config.p", c.p ?? 2);
      return {
        maps: true,
        key: `at:p${p}`,
        targets: (maps) => attentionTargets(maps, p),
        loss: (t, s) => attentionTransfer(t, s, p),
      };
    },
  ),
  // NST (Huang & Wang 2017) at the CRD benchmark's weight 50: MMD² (polynomial kernel, d = 2)
  // between the blocks' normalised channel patterns, on the teacher's raw block outputs.
  nst: blockRepresentation(
    "nst",
    "neuron selectivity transfer: MMD of the CNN blocks' normalised channel patterns (+ CE)",
    50,
    ["teacherChannels"],
    (c) =>
      rawBlocksTerm(
        "nst",
        checkChannels("nst", "config.teacherChannels", c.teacherChannels),
        neuronSelectivityTransfer,
      ),
  ),
  // VID on the blocks (Ahn et al. 2019, VID-I) at the benchmark's weight 1: per block, 1×1-conv
  // regressors and per-channel variances.
  vid_maps: blockRepresentation(
    "vid_maps",
    "variational information distillation on the CNN blocks: 1×1-conv regressors (+ CE)",
    1,
    ["studentChannels", "teacherChannels", "seed", "initialVariance"],
    (c) => {
      const config = blockHeadConfig("vid_maps", c);
      const vid = new BlockVariationalInformation({
        ...config,
        initialVariance: c.initialVariance as number | undefined,
      });
      return rawBlocksTerm("vid_maps", config.teacherChannels, (t, s) => vid.loss(t, s), {
        variables: Object.values(vid.params),
        dispose: () => vid.dispose(),
      });
    },
  ),
  // FitNets' hint as the paper places it (a middle block, a convolutional regressor), at the CRD
  // benchmark's weight 100: by default the last conv block, the deepest before the feature layer.
  fitnet_maps: blockRepresentation(
    "fitnet_maps",
    "FitNets' hint on a CNN block: MSE from a 3×3-conv regressor of the student's block (+ CE)",
    100,
    ["studentChannels", "teacherChannels", "seed", "block"],
    (c) => {
      const { studentChannels, teacherChannels, seed } = blockHeadConfig("fitnet_maps", c);
      const block = blockIndex("fitnet_maps", c, teacherChannels);
      const hint = new BlockFitNetHint({
        studentChannels: studentChannels[block],
        teacherChannels: teacherChannels[block],
        seed,
      });
      return rawBlocksTerm(
        "fitnet_maps",
        teacherChannels,
        (t, s) => hint.loss(t[block], s[block]),
        { variables: Object.values(hint.params), dispose: () => hint.dispose() },
      );
    },
  ),
  // Factor transfer (Kim et al. 2018) at the CRD benchmark's weight 200, on the last conv block by
  // default: a paraphraser trained first on the teacher's block (prepare: `initSteps` of AdamW at
  // `initLearningRate`; 0 steps leaves it untrained, for tours and tests), then frozen; a
  // translator trained with the student.
  ft: blockRepresentation(
    "ft",
    "factor transfer: a paraphraser pretrained on the teacher's block, a translator on the " +
      "student's; L1 between their normalised factor maps (+ CE)",
    200,
    [
      "studentChannels",
      "teacherChannels",
      "seed",
      "block",
      "rate",
      "initSteps",
      "initLearningRate",
    ],
    (c) => {
      const { studentChannels, teacherChannels, seed } = blockHeadConfig("ft", c);
      const block = blockIndex("ft", c, teacherChannels);
      const { steps, learningRate } = firstStageConfig("ft", c, "the paraphraser's training steps");
      const ft = new FactorTransfer({
        studentChannels: studentChannels[block],
        teacherChannels: teacherChannels[block],
        rate: c.rate as number | undefined,
        seed,
      });
      let prepared = steps === 0;
      return rawBlocksTerm(
        "ft",
        teacherChannels,
        (t, s) => {
          if (!prepared) {
            throw new Error(
              "ft: the paraphraser is untrained: await objective.prepare(context) before the " +
                "student trains (runVision does), or set config.initSteps to 0",
            );
          }
          return ft.loss(t[block], s[block]);
        },
        {
          variables: Object.values(ft.translator),
          buffers: () => ({ ...ft.paraphraser }),
          prepare: async (context): Promise<Record<string, number>> => {
            if (steps === 0) return {};
            const fit = await ft.trainParaphraser(
              (step) => context.teacherMaps(step)[block],
              { steps, learningRate },
            );
            prepared = true;
            return { paraphraser_mse_first: fit.initialLoss, paraphraser_mse_last: fit.finalLoss };
          },
          dispose: () => ft.dispose(),
        },
      );
    },
  ),
  // Activation boundaries (Heo et al. 2019) as the CRD benchmark runs them: the first stage trains
  // the student's conv blocks so that their neurons, through 1×1 connectors, fire where the
  // teacher's do (the margin hinge).
  ab: studentFirstStageEntry(
    "ab",
    "activation boundaries: the student's conv blocks first trained alone so that their neurons " +
      "fire where the teacher's do, then CE (+ KD)",
    ["studentChannels", "teacherChannels", "seed", "margin"],
    (c) => {
      const ab = new ActivationBoundary({
        ...blockHeadConfig("ab", c),
        margin: c.margin as number | undefined,
      });
      return {
        stage: async (context, student, options) => {
          const fit = await ab.trainStudentBlocks(
            (step) => context.teacherPreactivations!(step),
            (step) => student.preactivations(step),
            student.blockVariables,
            options,
          );
          return {
            ab_loss_first: fit.initialLoss,
            ab_loss_last: fit.finalLoss,
            agreement_first: fit.initialAgreement,
            agreement_last: fit.finalAgreement,
          };
        },
        needsPreactivations: true,
        dispose: () => ab.dispose(),
      };
    },
  ),
  // FSP (Yim et al. 2017) as the CRD benchmark runs it: the first stage trains the student's conv
  // blocks so that the FSP matrices of consecutive blocks match the teacher's (the student's
  // blocks must have the teacher's channels).
  fsp: studentFirstStageEntry(
    "fsp",
    "FSP: the student's conv blocks first trained alone so that the flow between consecutive " +
      "blocks matches the teacher's, then CE (+ KD)",
    [],
    () => ({
      stage: async (context, student, options) => {
        const fit = await trainStudentFlow(
          (step) => context.teacherMaps(step),
          (step) => student.maps(step),
          student.blockVariables,
          options,
        );
        return { fsp_loss_first: fit.initialLoss, fsp_loss_last: fit.finalLoss };
      },
    }),
  ),
  crd: crdEntry("crd", "contrastive representation distillation, in-batch negatives (+ CE)"),
  crd_nce: crdEntry(
    "crd_nce",
    "contrastive representation distillation, the paper's NCE over memory banks (+ CE)",
    true,
  ),
  minillm: {
    description:
      "MiniLLM: sequence-level reverse KL by policy gradient (PPO clip) + single-step reverse KL",
    keys: ["clipRange", "singleStep", "longTerm"],
    make: (config) => {
      const c = config as { clipRange?: number; singleStep?: boolean; longTerm?: boolean };
      const clipRange = c.clipRange ?? 0.2;
      if (!(typeof clipRange === "number" && clipRange > 0 && clipRange < 1)) {
        throw new Error(`minillm: config.clipRange must be a number in (0, 1), got ${clipRange}`);
      }
      for (const key of ["singleStep", "longTerm"] as const) {
        if (c[key] !== undefined && typeof c[key] !== "boolean") {
          throw new Error(`minillm: config.${key} must be true or false, got ${c[key]}`);
        }
      }
      if (c.singleStep === false && c.longTerm === false) {
        throw new Error("minillm: config.singleStep and config.longTerm are both false");
      }
      return {
        name: "minillm",
        needsTeacher: true,
        needsRollout: true,
        loss: (x) => {
          if (!x.rollout || !x.labels) {
            throw new Error(
              "minillm: inputs.rollout and inputs.labels are required (the task trains on " +
                "rollouts: languageModelTask's miniLLM option)",
            );
          }
          return miniLLMLoss(teacherOf("minillm", x), x.studentLogits, {
            labels: x.labels,
            rollout: x.rollout,
            mask: x.mask,
            clipRange,
            singleStep: c.singleStep,
            longTerm: c.longTerm,
          });
        },
      };
    },
  },
};

/** The feature widths {@linkcode minimalConfig} gives the objectives with heads (FitNets, VID, CRD). */
export const MINIMAL_HEAD_WIDTHS = { studentDim: 3, teacherDim: 4 } as const;

/**
 * The channels per block {@linkcode minimalConfig} gives the objectives on the teacher's raw
 * block outputs (`nst`, `vid_maps`, `fitnet_maps`): one block, 2 student and 5 teacher channels.
 */
export const MINIMAL_MAP_CHANNELS = { studentChannels: [2], teacherChannels: [5] } as const;

/** The training-split size {@linkcode minimalConfig} gives CRD's memory banks (`crd_nce`). */
export const MINIMAL_DATA_SIZE = 64;

/**
 * A valid config with only the required keys filled (TAID's `totalSteps`, PS-KD's `epochs` and
 * `stepsPerEpoch`, MiniLMv2's `relationHeads`: 1, which divides any width, the heads' widths
 * {@linkcode MINIMAL_HEAD_WIDTHS} and seed 0 of FitNets, VID and CRD, the blocks' channels
 * {@linkcode MINIMAL_MAP_CHANNELS} (and seed 0) of NST, VID, FitNets, FT and AB on blocks (FT with an
 * untrained paraphraser, AB without its first stage: `initSteps` 0; FSP likewise), and for CRD's
 * memory banks {@linkcode MINIMAL_DATA_SIZE} examples and 16 negatives), for tours and tests that
 * build every objective: `getLoss(name, minimalConfig(name))`.
 */
export function minimalConfig(name: string): Config {
  if (name === "taid") return { totalSteps: 100 };
  if (name === "minilmv2") return { relationHeads: 1 };
  if (name === "ps_kd") return { epochs: 10, stepsPerEpoch: 10 };
  if (name === "nst") return { teacherChannels: [...MINIMAL_MAP_CHANNELS.teacherChannels] };
  if (name === "fsp") return { initSteps: 0 };
  if (name === "vid_maps" || name === "fitnet_maps" || name === "ft" || name === "ab") {
    return {
      studentChannels: [...MINIMAL_MAP_CHANNELS.studentChannels],
      teacherChannels: [...MINIMAL_MAP_CHANNELS.teacherChannels],
      seed: 0,
      ...(name === "ft" || name === "ab" ? { initSteps: 0 } : {}),
    };
  }
  if (name === "fitnet" || name === "vid" || name === "crd") {
    return { ...MINIMAL_HEAD_WIDTHS, seed: 0 };
  }
  if (name === "crd_nce") {
    return { ...MINIMAL_HEAD_WIDTHS, seed: 0, dataSize: MINIMAL_DATA_SIZE, negatives: 16 };
  }
  return {};
}

/** The config keys the objective registered as `name` takes. */
export function objectiveKeys(name: string): string[] {
  const entry = REGISTRY[name];
  if (!entry) throw new Error(`objectiveKeys: unknown objective "${name}"`);
  return [...entry.keys];
}

/** Names of the registered objectives, with a one-line description each. */
export function lossNames(): Record<string, string> {
  return Object.fromEntries(Object.entries(REGISTRY).map(([name, e]) => [name, e.description]));
}

/**
 * The objective registered as `name`, configured by `config` (keys listed by the entry).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { getLoss } from "./registry.ts";
 * const fkl = getLoss("fkl", { temperature: 2 });
 * const loss = fkl.loss({ teacherLogits: tf.tensor2d([[0, 1]]), studentLogits: tf.tensor2d([[1, 0]]) });
 * assert.ok(Math.abs((await loss.data())[0] - 0.1224593) < 1e-6); // KL at T = 2, in float64
 * assert.throws(() => getLoss("fkl", { temprature: 2 }), /takes temperature, chunkElements/);
 * ```
 */
export function getLoss(name: string, config: Config = {}): Objective {
  const entry = REGISTRY[name];
  if (!entry) {
    throw new Error(
      `getLoss: unknown objective "${name}"; registered: ${Object.keys(REGISTRY).join(", ")}`,
    );
  }
  for (const key of Object.keys(config)) {
    if (!entry.keys.includes(key)) {
      throw new Error(
        `getLoss: "${name}" takes ${
          entry.keys.length ? entry.keys.join(", ") : "no config"
        }; got "${key}"`,
      );
    }
  }
  return entry.make(config);
}
