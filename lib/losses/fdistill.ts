/**
 * f-distill's sequence-level divergences (Wen, Li, Du & Mou, "f-Divergence Minimization for
 * Sequence-Level Knowledge Distillation", ACL 2023, §2.2–2.3 and Table 1). A sequence-level
 * f-divergence between teacher p and student q is an expectation over whole output sequences;
 * f-distill estimates it with one sampled sequence per prompt and step-wise (token-level) terms,
 * each expectation over the distribution it is taken under:
 *
 * - KL(p‖q): Σ_t KL(p_t‖q_t) on **teacher**-sampled sequences (exact step-wise decomposition);
 * - RKL = KL(q‖p): Σ_t KL(q_t‖p_t) on **student**-sampled sequences (exact);
 * - JS: β·KL(q‖M) on student samples + (1−β)·KL(p‖M) on teacher samples, M = β·q + (1−β)·p
 *   (β weights the student, the reverse of TRL's generalized JSD; the two agree at β = ½);
 * - TVD: ½·TVD on student samples + ½·TVD on teacher samples, TVD_t = ½ Σ_v |q_t − p_t| (the
 *   paper's step-wise upper bound of the sequence-level TVD).
 *
 * A batch holds both kinds of rows, told apart by `studentRows` (1 where the row's output was
 * sampled from the student); each term is the mean over its own rows' unmasked positions, and the
 * terms are summed with the weights above, as the official code (`dart/kd.py`) does. KL(p‖M) is
 * DistiLLM's skew KL with α = 1 − β and KL(q‖M) its skew reverse KL with α = β
 * (`./skew_kl.ts`), so each term runs through the fused divergence kernels where a backend has
 * them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues as checkLater } from "../deferred_checks.ts";
import { forwardKL } from "./forward_kl.ts";
import type { PointwiseOptions } from "./pointwise.ts";
import { reverseKL } from "./reverse_kl.ts";
import { skewKL, skewReverseKL } from "./skew_kl.ts";
import { totalVariation } from "./total_variation.ts";
import { checkLogitShape } from "./validate.ts";

/** The four divergences of f-distill's Table 1. */
export type FDistillDivergence = "kl" | "rkl" | "js" | "tvd";

/** Whose samples a sequence-level estimate is taken under. */
export type SampleSide = "teacher" | "student";

/** The sampled rows each divergence needs (f-distill §2.3). */
export const F_DISTILL_SIDES: Record<FDistillDivergence, SampleSide[]> = {
  kl: ["teacher"],
  rkl: ["student"],
  js: ["teacher", "student"],
  tvd: ["teacher", "student"],
};

/** Options of {@linkcode fDistill}. */
export interface FDistillOptions extends Omit<PointwiseOptions, "reduction"> {
  /** Which of f-distill's divergences. */
  divergence: FDistillDivergence;
  /**
   * 0/1 per row of the logits' first axis (`[B]` for `[B, T, V]` logits, `[N]` for `[N, V]`):
   * 1 where the row's output was sampled from the student, 0 from the teacher.
   */
  studentRows: tf.Tensor;
  /** JS's weight β ∈ (0, 1) on the student's term (default ½). */
  beta?: number;
}

/**
 * f-distill's estimate of a sequence-level divergence from teacher- and student-sampled rows
 * (see the module doc), per output token.
 *
 * @example JS at β = ½ on one teacher-sampled and one student-sampled row
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { fDistill, skewKL, skewReverseKL } from "./mod.ts";
 * const teacher = tf.tensor2d([[0, 2, -1], [1, 0, 0]]);
 * const student = tf.tensor2d([[1, 0, 0], [0, 0, 3]]);
 * const studentRows = tf.tensor1d([0, 1]);
 * const js = await fDistill(teacher, student, { divergence: "js", studentRows }).data();
 * // ½·KL(p‖M) on row 0 (the teacher's sample) + ½·KL(q‖M) on row 1 (the student's).
 * const row = (i: number): [tf.Tensor, tf.Tensor] => [
 *   teacher.slice([i, 0], [1, 3]),
 *   student.slice([i, 0], [1, 3]),
 * ];
 * const onTeacher = await skewKL(...row(0), { alpha: 0.5 }).data();
 * const onStudent = await skewReverseKL(...row(1), { alpha: 0.5 }).data();
 * assert.ok(Math.abs(js[0] - 0.5 * (onTeacher[0] + onStudent[0])) < 1e-6);
 * assert.throws(
 *   () => fDistill(teacher, student, { divergence: "kl", studentRows: tf.tensor1d([1, 1]) }),
 *   /teacher-sampled/,
 * );
 * ```
 */
export function fDistill(
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  options: FDistillOptions,
): tf.Scalar {
  const fn = "fDistill";
  const { divergence, studentRows, beta = 0.5, mask, ...rest } = options;
  const sides = Object.hasOwn(F_DISTILL_SIDES, divergence)
    ? F_DISTILL_SIDES[divergence]
    : undefined;
  if (!sides) {
    throw new Error(
      `${fn}: divergence must be one of ${Object.keys(F_DISTILL_SIDES).join(", ")}, got ` +
        `${JSON.stringify(divergence)}`,
    );
  }
  if (!(typeof beta === "number" && beta > 0 && beta < 1)) {
    throw new Error(`${fn}: beta must be a number in (0, 1), got ${beta}`);
  }
  if ((options as { reduction?: unknown }).reduction !== undefined) {
    throw new Error(`${fn}: reduction is not supported (each term is a mean over its own rows)`);
  }
  checkLogitShape(fn, "studentLogits", studentLogits);
  const leading = studentLogits.shape.slice(0, -1);
  if (!(studentRows instanceof tf.Tensor) || studentRows.shape.join() !== `${leading[0]}`) {
    throw new Error(
      `${fn}: studentRows must be a tensor of shape [${leading[0]}] (one 0/1 per row of the ` +
        `logits' first axis), got ${
          studentRows instanceof tf.Tensor ? `[${studentRows.shape}]` : typeof studentRows
        }`,
    );
  }
  checkSides(fn, divergence, studentRows, sides);
  return tf.tidy(() => {
    const s = studentRows.toFloat().reshape([leading[0], ...leading.slice(1).map(() => 1)]);
    const base = mask ? mask.toFloat() : tf.ones(leading);
    const onStudent = tf.mul(base, s);
    const onTeacher = tf.mul(base, tf.sub(1, s));
    // The first term validates the logits and the mask; the second reuses that check.
    const first = { ...rest, validate: rest.validate ?? true };
    const second = { ...rest, validate: false };
    switch (divergence) {
      case "kl":
        return forwardKL(teacherLogits, studentLogits, { ...first, mask: onTeacher });
      case "rkl":
        return reverseKL(teacherLogits, studentLogits, { ...first, mask: onStudent });
      case "js":
        return tf.add(
          tf.mul(
            1 - beta,
            skewKL(teacherLogits, studentLogits, { ...first, alpha: 1 - beta, mask: onTeacher }),
          ),
          tf.mul(
            beta,
            skewReverseKL(teacherLogits, studentLogits, {
              ...second,
              alpha: beta,
              mask: onStudent,
            }),
          ),
        ) as tf.Scalar;
      case "tvd":
        return tf.mul(
          0.5,
          tf.add(
            totalVariation(teacherLogits, studentLogits, { ...first, mask: onTeacher }),
            totalVariation(teacherLogits, studentLogits, { ...second, mask: onStudent }),
          ),
        ) as tf.Scalar;
    }
  });
}

/** Rejects `studentRows` that are not 0/1 or lack a kind of row the divergence needs. */
function checkSides(
  fn: string,
  divergence: FDistillDivergence,
  studentRows: tf.Tensor,
  sides: SampleSide[],
): void {
  const flags = tf.tidy(() => {
    const s = studentRows.toFloat();
    return tf.stack([tf.sum(tf.abs(tf.mul(s, tf.sub(1, s)))), tf.sum(s), tf.sum(tf.sub(1, s))]);
  });
  checkLater(flags, ([bad, students, teachers]) => {
    if (!(bad === 0)) return `${fn}: studentRows must hold only 0 and 1`;
    for (const side of sides) {
      if ((side === "student" ? students : teachers) === 0) {
        return `${fn}: divergence "${divergence}" needs ${side}-sampled rows (studentRows ` +
          `${side === "student" ? "1" : "0"}); the batch has none`;
      }
    }
  });
}
