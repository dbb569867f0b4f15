/**
 * Contrastive representation distillation (Tian, Krishnan & Isola, ICLR 2020, "Contrastive
 * Representation Distillation"): linear heads embed the student's and the teacher's features in
 * a shared space (g = normalize(W·f + b), 128-d), and the student learns to tell the teacher's
 * embedding of *its own* input from the teacher's embeddings of other inputs, which lower-bounds
 * the mutual information between the two representations.
 *
 * With `memory`, the loss is the paper's: NCE over memory banks of every training example's
 * embeddings, with 16 384 negatives (`crd_memory.ts`; the batch's example indices are needed).
 * Without, the negatives are the batch's other examples and the bound is InfoNCE's (Oord et al.
 * 2018): with S = g_S·g_Tᵀ/τ, `[B, B]`, the loss is CE(S, diag) + CE(Sᵀ, diag), the mean
 * cross-entropy of finding the positive among B candidates in both directions (teacher anchors and
 * student anchors, as the paper's two symmetric terms); with B − 1 negatives rather than 16 384
 * the bound is looser (log B ≈ 4.9 nats at B = 128). τ = 0.07 and the 128-d embedding follow the
 * paper; both heads train with the student.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ParamBuilder, type Params } from "../models/params.ts";
import { checkFeaturePair, normalizeRows } from "./checks.ts";
import { ContrastMemory, type ContrastMemoryOptions } from "./crd_memory.ts";
import { checkWidth } from "./fitnet_hint.ts";

/** Widths, temperature and seed of a {@linkcode ContrastiveRepresentation}. */
export interface ContrastiveRepresentationOptions {
  /** Width of the student's features. */
  studentDim: number;
  /** Width of the teacher's features. */
  teacherDim: number;
  /** Width of the shared embedding (default 128). */
  embedDim?: number;
  /** Temperature τ of the critic (default 0.07). */
  temperature?: number;
  /** Seed of the heads' initial weights (and of the memory's banks and draws). */
  seed: number;
  /** The paper's NCE over memory banks (N examples, K negatives, momentum); absent: in-batch. */
  memory?: Pick<ContrastMemoryOptions, "dataSize" | "negatives" | "momentum">;
}

/**
 * The symmetric in-batch InfoNCE loss of unit embeddings `[B, k]` paired row by row:
 * CE(g_S·g_Tᵀ/τ, diag) + CE(g_T·g_Sᵀ/τ, diag), each the mean over the B anchors.
 */
export function symmetricInfoNCE(
  studentEmbeddings: tf.Tensor2D,
  teacherEmbeddings: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    const scores = tf.div(
      tf.matMul(studentEmbeddings, teacherEmbeddings, false, true),
      temperature,
    );
    const diagonal = tf.sum(tf.mul(scores, tf.eye(scores.shape[0])), 1);
    const rows = tf.mean(tf.sub(tf.logSumExp(scores, 1), diagonal));
    const columns = tf.mean(tf.sub(tf.logSumExp(scores, 0), diagonal));
    return tf.add(rows, columns) as tf.Scalar;
  });
}

/** CRD's two embedding heads and its loss (in-batch InfoNCE, or NCE over memory banks); see the module doc. */
export class ContrastiveRepresentation {
  /** The heads' variables `crd.student.{w,b}`, `crd.teacher.{w,b}` (trained with the student). */
  readonly params: Params;
  /** The critic's temperature τ. */
  readonly temperature: number;
  /** The memory banks, when the loss is the paper's NCE. */
  readonly memory?: ContrastMemory;
  readonly #dims: [number, number];

  /** Heads initialised as PyTorch's `nn.Linear` would be in scale: N(0, 1/d_in), bias 0. */
  constructor(options: ContrastiveRepresentationOptions) {
    const fn = "ContrastiveRepresentation";
    const ds = checkWidth(fn, "studentDim", options.studentDim);
    const dt = checkWidth(fn, "teacherDim", options.teacherDim);
    const k = checkWidth(fn, "embedDim", options.embedDim ?? 128);
    const temperature = options.temperature ?? 0.07;
    if (!(Number.isFinite(temperature) && temperature > 0)) {
      throw new Error(`${fn}: temperature must be a finite number > 0, got ${temperature}`);
    }
    const init = new ParamBuilder(options.seed, "crd.");
    init.normal("student.w", [ds, k], 1 / Math.sqrt(ds));
    init.fill("student.b", [k], 0);
    init.normal("teacher.w", [dt, k], 1 / Math.sqrt(dt));
    init.fill("teacher.b", [k], 0);
    this.params = init.params;
    this.temperature = temperature;
    this.#dims = [ds, dt];
    if (options.memory) {
      this.memory = new ContrastMemory({
        ...options.memory,
        embedDim: k,
        temperature,
        seed: options.seed,
      });
    }
  }

  /** Unit embeddings of a model's features through its head. */
  embed(features: tf.Tensor2D, side: "student" | "teacher"): tf.Tensor2D {
    return tf.tidy(() =>
      normalizeRows(
        tf.add(
          tf.matMul(features, this.params[`crd.${side}.w`] as tf.Tensor2D),
          this.params[`crd.${side}.b`],
        ),
      ) as tf.Tensor2D
    );
  }

  /**
   * The loss of a batch of features `[B, d_T]`, `[B, d_S]` (B ≥ 2); with a memory, also of the
   * rows' indices in the training split (int32 `[B]`), and the banks move towards the batch.
   */
  loss(teacherFeatures: tf.Tensor, studentFeatures: tf.Tensor, exampleIds?: tf.Tensor): tf.Scalar {
    const fn = "ContrastiveRepresentation";
    checkFeaturePair(fn, teacherFeatures, studentFeatures);
    const [ds, dt] = this.#dims;
    if (studentFeatures.shape[1] !== ds || teacherFeatures.shape[1] !== dt) {
      throw new Error(
        `${fn}: the heads take ${ds} student and ${dt} teacher features, got ` +
          `[${studentFeatures.shape}] and [${teacherFeatures.shape}]`,
      );
    }
    if (this.memory && !exampleIds) {
      throw new Error(`${fn}: with a memory bank, exampleIds (the rows' indices) are required`);
    }
    return tf.tidy(() => {
      const student = this.embed(studentFeatures as tf.Tensor2D, "student");
      const teacher = this.embed(teacherFeatures as tf.Tensor2D, "teacher");
      return this.memory
        ? this.memory.loss(student, teacher, exampleIds!)
        : symmetricInfoNCE(student, teacher, this.temperature);
    });
  }

  /** Frees the heads and the memory. */
  dispose(): void {
    Object.values(this.params).forEach((v) => v.dispose());
    this.memory?.dispose();
  }
}
