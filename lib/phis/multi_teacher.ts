/**
 * The multi-teacher feature-distillation harness of AM-RADIO / PHI-S (Ranzinger et al., arXiv
 * 2410.01680, §2 and Fig. 1): one student trunk, one adaptor head per teacher (an MLP ending in a
 * linear layer whose bias starts at 0, as in NVIDIA TAO), each teacher's targets mapped by that
 * teacher's own frozen {@link Normalizer}, per-teacher feature losses summed with weights (1 by
 * default: the paper balances teachers through the targets, not the weights), optionally
 * balanced by {@link AdaLoss}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { StepObservation } from "../losses/registry.ts";
import { gelu, linear } from "../models/ops.ts";
import { ParamBuilder, type Params } from "../models/params.ts";
import { AdaLoss, type AdaLossState } from "./ada_loss.ts";
import { StepMeans } from "./step_means.ts";
import { featureLoss, type FeatureLossName, type FeatureLossOptions } from "./feature_losses.ts";
import type { Normalizer } from "./normalizer.ts";

/** One teacher as the student sees it. */
export interface TeacherTarget {
  /** Unique name: the key of its head, targets and logged term. */
  name: string;
  /** The teacher's frozen normaliser; its width is the teacher's feature width. */
  normalizer: Normalizer;
  /** Weight of its loss term (default 1). */
  weight?: number;
}

/** Options of {@link MultiTeacherHeads}. */
export interface MultiTeacherOptions {
  /** The teachers, one head each. */
  teachers: TeacherTarget[];
  /** Width of the student trunk's features. */
  trunkDim: number;
  /** Hidden width of each adaptor MLP (default 2 × trunkDim). */
  hidden?: number;
  /** Feature loss of every head (default MSE). */
  loss?: FeatureLossName;
  /** Options of the feature loss. */
  lossOptions?: FeatureLossOptions;
  /** Balance the teachers' terms with AdaLoss (decay 0.99 unless given). */
  adaLoss?: boolean | { decay: number };
  /** Seed of the heads' initialisation. */
  seed: number;
}

/** Per-teacher adaptor heads and the summed loss; see the module doc. */
export class MultiTeacherHeads {
  /** The heads' parameters (`<teacher>.*`), trained with the student. */
  readonly params: Params;
  /** The teachers, in order. */
  readonly teachers: TeacherTarget[];
  /** The feature loss of every head. */
  readonly lossName: FeatureLossName;
  /** The objective's name in logs. */
  readonly name = "multi_teacher";
  readonly #options: MultiTeacherOptions;
  readonly #ada?: AdaLoss;
  /** Each teacher's raw term per loss call since the last {@link observe}, on the device. */
  #terms = new StepMeans();

  /** Builds one adaptor head per teacher. */
  constructor(options: MultiTeacherOptions) {
    if (options.teachers.length === 0) throw new Error("MultiTeacherHeads: no teachers");
    const names = new Set(options.teachers.map((t) => t.name));
    if (names.size !== options.teachers.length) {
      throw new Error("MultiTeacherHeads: teacher names must be unique");
    }
    if (!(Number.isInteger(options.trunkDim) && options.trunkDim > 0)) {
      throw new Error(
        `MultiTeacherHeads: trunkDim must be a positive integer, got ${options.trunkDim}`,
      );
    }
    this.#options = options;
    this.teachers = options.teachers;
    this.lossName = options.loss ?? "mse";
    const hidden = options.hidden ?? 2 * options.trunkDim;
    const init = new ParamBuilder(options.seed, "adaptor.");
    for (const t of options.teachers) {
      const c = t.normalizer.width;
      init.he(`${t.name}.w1`, [options.trunkDim, hidden], options.trunkDim);
      init.fill(`${t.name}.b1`, [hidden], 0);
      init.normal(`${t.name}.w2`, [hidden, c], 1 / Math.sqrt(hidden));
      init.fill(`${t.name}.b2`, [c], 0);
    }
    this.params = init.params;
    if (options.adaLoss) {
      this.#ada = new AdaLoss(
        typeof options.adaLoss === "object" ? options.adaLoss.decay : undefined,
      );
    }
  }

  #teacher(name: string): TeacherTarget {
    const t = this.teachers.find((x) => x.name === name);
    if (!t) throw new Error(`MultiTeacherHeads: unknown teacher "${name}"`);
    return t;
  }

  /** Head `teacher`'s prediction in its normalised space, from trunk features [N, trunkDim]. */
  predict(features: tf.Tensor2D, teacher: string): tf.Tensor2D {
    this.#teacher(teacher);
    const p = (k: string) => this.params[`adaptor.${teacher}.${k}`];
    return tf.tidy(() => {
      const h = gelu(linear(features, p("w1") as tf.Tensor2D, p("b1") as tf.Tensor1D));
      return linear(h, p("w2") as tf.Tensor2D, p("b2") as tf.Tensor1D) as tf.Tensor2D;
    });
  }

  /** The prediction mapped back to teacher space (the normaliser's inverse). */
  predictTeacherSpace(features: tf.Tensor2D, teacher: string): tf.Tensor2D {
    return tf.tidy(() =>
      this.#teacher(teacher).normalizer.inverse(this.predict(features, teacher))
    );
  }

  /** Raw teacher features → the normalised targets the heads regress (off the tape). */
  targets(raw: Record<string, tf.Tensor2D>): Record<string, tf.Tensor2D> {
    const out: Record<string, tf.Tensor2D> = {};
    for (const t of this.teachers) {
      if (!raw[t.name]) {
        throw new Error(`MultiTeacherHeads.targets: missing features of teacher "${t.name}"`);
      }
      out[t.name] = t.normalizer.forward(raw[t.name]);
    }
    return out;
  }

  /** Σ_t w_t · loss(head_t(features), target_t) over normalised targets (see {@link targets}). */
  loss(features: tf.Tensor2D, targets: Record<string, tf.Tensor2D>): tf.Scalar {
    const terms: tf.Scalar[] = [];
    for (const t of this.teachers) {
      const target = targets[t.name];
      if (!target) {
        throw new Error(`MultiTeacherHeads.loss: missing targets of teacher "${t.name}"`);
      }
      const term = tf.tidy(() =>
        featureLoss(
          this.lossName,
          this.predict(features, t.name),
          target,
          this.#options.lossOptions,
        )
      );
      this.#terms.record(t.name, term);
      const balanced = this.#ada ? this.#ada.divide(t.name, term) : term;
      terms.push(tf.mul(balanced, t.weight ?? 1) as tf.Scalar);
    }
    return tf.addN(terms) as tf.Scalar;
  }

  /**
   * The trainer's per-step hook: folds the step's terms into AdaLoss's averages (on the device,
   * behind the trainer's gate) and returns each teacher's raw term, averaged over the step's
   * micro-batches, as `loss_<teacher>` scalars to log. Nothing is read back.
   */
  observe(step?: Pick<StepObservation, "gate">): Record<string, tf.Tensor> {
    const means = this.#terms.take();
    this.#ada?.update(means, step?.gate);
    const out: Record<string, tf.Tensor> = {};
    for (const [name, mean] of Object.entries(means)) out[`loss_${name}`] = mean;
    return out;
  }

  /** AdaLoss's state, read from the device (checkpointed). */
  async state(): Promise<{ ada?: AdaLossState }> {
    return this.#ada ? { ada: await this.#ada.state() } : {};
  }

  /** Restores {@link state} (AdaLoss's averages). */
  load(state: unknown): void {
    const s = state as { ada?: AdaLossState };
    if (this.#ada && s?.ada) this.#ada.load(s.ada);
  }

  /** Frees AdaLoss's averages and the recorded terms (not the parameters). */
  dispose(): void {
    this.#ada?.dispose();
    this.#terms.dispose();
  }

  /**
   * Head `teacher`'s final linear layer with the inverse normaliser folded in: it then predicts
   * teacher-space features directly (paper App. A.6). Returns new tensors.
   */
  foldedFinalLayer(teacher: string): { kernel: tf.Tensor2D; bias: tf.Tensor1D } {
    const t = this.#teacher(teacher);
    return t.normalizer.foldIntoLinear(
      this.params[`adaptor.${teacher}.w2`] as tf.Tensor2D,
      this.params[`adaptor.${teacher}.b2`] as tf.Tensor1D,
    );
  }
}
