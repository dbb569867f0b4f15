/**
 * Training tasks for {@link train}: a language model or an image classifier trained with any
 * objective of the loss registry. With the `sft` objective the same task trains a teacher on
 * labels alone; with a distillation objective a frozen teacher's logits are computed off the
 * gradient tape for every micro-batch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageBatcher, TokenBatcher } from "../data/batches.ts";
import { hashSeed } from "../data/rng.ts";
import type { Objective } from "../losses/registry.ts";
import type { GPT } from "../models/gpt.ts";
import type { Params } from "../models/params.ts";
import type { ImageClassifier } from "../models/vision.ts";
import { createModel, type ModelSpec } from "../models/io.ts";
import type { TrainTask } from "./trainer.ts";

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

/** Token-id range check of a whole stream, once, on the host. */
function checkTokenIds(tokens: Int32Array, vocabSize: number, who: string): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < lo) lo = tokens[i];
    if (tokens[i] > hi) hi = tokens[i];
  }
  if (lo < 0 || hi >= vocabSize) {
    throw new Error(`${who}: token ids must be in [0, ${vocabSize}), the data has [${lo}, ${hi}]`);
  }
}

/** Options of {@link languageModelTask}. */
export interface LanguageModelTaskOptions {
  student: GPT;
  objective: Objective;
  batcher: TokenBatcher;
  /** Frozen teacher (needed unless the objective is `sft`). */
  teacher?: GPT;
  /** Delta-KD's frozen base models. */
  teacherBase?: GPT;
  studentBase?: GPT;
  /** Seed of the dropout masks (default: the batcher's seed). */
  seed?: number;
}

/** Next-token training of a GPT, supervised or distilled. */
export function languageModelTask(options: LanguageModelTaskOptions): TrainTask {
  const { student, objective, batcher, teacher, teacherBase, studentBase } = options;
  requireTeacher(objective, teacher, "languageModelTask");
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
  checkTokenIds(batcher.tokens, student.config.vocabSize, "languageModelTask");
  const seed = options.seed ?? batcher.options.seed;
  const frozen = (model: GPT | undefined, inputs: tf.Tensor) =>
    model ? tf.tidy(() => model.forward(inputs, { checkIds: false }).logits) : undefined;
  return {
    params: trainable(student, objective),
    objective,
    batch(index) {
      const { inputs, targets } = batcher.batch(index);
      return {
        inputs,
        targets,
        teacherLogits: objective.needsTeacher ? frozen(teacher, inputs) : undefined,
        teacherBaseLogits: frozen(teacherBase, inputs),
        studentBaseLogits: frozen(studentBase, inputs),
      };
    },
    loss(batch, index) {
      const studentLogits = student.forward(batch.inputs!, {
        checkIds: false,
        dropoutSeed: hashSeed(seed, "dropout", index),
      }).logits;
      return objective.loss({
        studentLogits,
        teacherLogits: batch.teacherLogits,
        labels: batch.targets,
        teacherBaseLogits: batch.teacherBaseLogits,
        studentBaseLogits: batch.studentBaseLogits,
      });
    },
  };
}

/** Options of {@link classifierTask}. */
export interface ClassifierTaskOptions {
  student: ImageClassifier;
  objective: Objective;
  batcher: ImageBatcher;
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
}

/** Training of an image classifier, supervised or distilled (dual-head KD uses its aux head). */
export function classifierTask(options: ClassifierTaskOptions): TrainTask {
  const { student, objective, batcher, selfTeacher, temperature = 1 } = options;
  let teacher = options.teacher;
  let snapshotIndex = -1;
  if (selfTeacher) {
    if (teacher) throw new Error("classifierTask: give a teacher or selfTeacher, not both");
    teacher = createModel(
      { kind: student.kind, config: student.config } as ModelSpec,
    ) as ImageClassifier;
  }
  requireTeacher(objective, teacher, "classifierTask");
  if (!(temperature > 0)) {
    throw new Error(`classifierTask: temperature must be > 0, got ${temperature}`);
  }
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
      const { x, y } = batcher.batch(index);
      const frozen = teacher;
      const teacherLogits = objective.needsTeacher && frozen
        ? tf.tidy(() => frozen.logits(x).div(temperature))
        : undefined;
      return { x, y, teacherLogits };
    },
    loss(batch) {
      const out = student.forward(batch.x!);
      return objective.loss({
        studentLogits: temperature === 1 ? out.logits : out.logits.div(temperature),
        auxLogits: out.auxLogits,
        teacherLogits: batch.teacherLogits,
        labels: batch.y,
      });
    },
  };
}
