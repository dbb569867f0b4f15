/**
 * Contrastive representation distillation (Tian, Krishnan & Isola, ICLR 2020, "Contrastive
 * Representation Distillation"): linear heads embed the student's and the teacher's features in
 * a shared space (g = normalize(W·f + b), 128-d), and the student learns to tell the teacher's
 * embedding of *its own* input from the teacher's embeddings of other inputs, which lower-bounds
 * the mutual information between the two representations (Eq. 10–18).
 *
 * The paper estimates it with NCE over a memory bank of 16 384 negatives drawn from the whole
 * training set. Here the negatives are the batch's other examples and the bound is InfoNCE's
 * (Oord et al. 2018; the "softmax" form that CRD's Section 4 discusses next to NCE): with
 * S = g_S·g_Tᵀ/τ, `[B, B]`, the loss is CE(S, diag) + CE(Sᵀ, diag), the mean cross-entropy of
 * finding the positive among B candidates in both directions (teacher anchors and student
 * anchors, as the paper's two symmetric terms). τ = 0.07 and the 128-d embedding follow the
 * paper; both heads train with the student. With B − 1 negatives rather than 16 384 the bound is
 * looser (log B ≈ 4.9 nats at B = 128).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ParamBuilder, type Params } from "../models/params.ts";
import { checkFeaturePair, normalizeRows } from "./checks.ts";
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
  /** Seed of the heads' initial weights. */
  seed: number;
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

/** CRD's two embedding heads and its in-batch contrastive loss; see the module doc. */
export class ContrastiveRepresentation {
  /** The heads' variables `crd.student.{w,b}`, `crd.teacher.{w,b}` (trained with the student). */
  readonly params: Params;
  /** The critic's temperature τ. */
  readonly temperature: number;
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

  /** The loss of a batch of features `[B, d_T]`, `[B, d_S]` (B ≥ 2). */
  loss(teacherFeatures: tf.Tensor, studentFeatures: tf.Tensor): tf.Scalar {
    const fn = "ContrastiveRepresentation";
    checkFeaturePair(fn, teacherFeatures, studentFeatures);
    const [ds, dt] = this.#dims;
    if (studentFeatures.shape[1] !== ds || teacherFeatures.shape[1] !== dt) {
      throw new Error(
        `${fn}: the heads take ${ds} student and ${dt} teacher features, got ` +
          `[${studentFeatures.shape}] and [${teacherFeatures.shape}]`,
      );
    }
    return tf.tidy(() =>
      symmetricInfoNCE(
        this.embed(studentFeatures as tf.Tensor2D, "student"),
        this.embed(teacherFeatures as tf.Tensor2D, "teacher"),
        this.temperature,
      )
    );
  }

  /** Frees the heads. */
  dispose(): void {
    Object.values(this.params).forEach((v) => v.dispose());
  }
}
