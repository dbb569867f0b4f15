/**
 * MiniLM's deep self-attention distillation (Wang et al., NeurIPS 2020, "MiniLM: Deep
 * Self-Attention Distillation for Task-Agnostic Compression of Pre-Trained Transformers", Eqs.
 * 6–8). For the last layer of teacher and student (same head count A_h, sequence length |x|):
 *
 * - attention transfer, L_AT = 1/(A_h·|x|) Σ_a Σ_t KL(A^T_{a,t} ‖ A^S_{a,t}), where A_{a,t} is
 *   head a's attention distribution of query t over the keys (Eq. 6);
 * - value relation, VR_a = softmax(V_a·V_aᵀ/√d_k) row-wise, per head with its own d_k, and L_VR
 *   the same mean KL between the teacher's and the student's VR (Eqs. 7–8);
 * - L = L_AT + L_VR (weights are options here, so that an ablation can drop either).
 *
 * Hidden and head sizes may differ, since only |x|×|x| matrices are compared. With `causal`,
 * keys after the query are left out of the value relation (GPT-style models). With `mask` (padded
 * positions 0), padded queries leave the mean and padded keys get no value-relation mass; the
 * attention maps are taken as given (the models mask their own). The KL is the float32 log-space
 * one of the other divergences: 0·log 0 = 0, and a student row without mass where its teacher's
 * has some gives a large, finite value (probabilities are floored at 1e-30).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues } from "../deferred_checks.ts";
import { logRowKL, logSelfRelation, meanOverKeptRows } from "./self_relation.ts";
import { checkRange } from "./validate.ts";

/** One layer's self-attention as an objective receives it (`ObjectiveInputs` in the registry). */
export interface LayerAttention {
  /** Attention probabilities `[B, H, T, T]`. */
  probabilities: tf.Tensor;
  /** Values per head `[B, H, T, d]`. */
  values: tf.Tensor;
  /** Queries per head `[B, H, T, d]` (MiniLMv2's Q-Q relation). */
  queries?: tf.Tensor;
  /** Keys per head `[B, H, T, d]` (MiniLMv2's K-K relation). */
  keys?: tf.Tensor;
  /** True when queries attend to earlier keys only (a decoder such as our GPT). */
  causal: boolean;
}

/** Options of {@linkcode miniLMAttention}. */
export interface MiniLMOptions {
  /** Exclude future keys from the value relation (default false). */
  causal?: boolean;
  /** 0/1 over positions `[B, T]`; 0 marks padding (default: every position counts). */
  mask?: tf.Tensor;
  /** Weight of L_AT (default 1). */
  attentionWeight?: number;
  /** Weight of L_VR (default 1; 0 is the paper's "w/o value relation" ablation). */
  valueWeight?: number;
  /**
   * Check that the attention maps are row-stochastic and the values finite (one small
   * readback; default true).
   */
  validate?: boolean;
}

/** L_AT and L_VR of one batch (unweighted), as {@linkcode miniLMTerms} returns them. */
export interface MiniLMTerms {
  /** Mean KL between the teacher's and the student's attention distributions (Eq. 6). */
  attention: tf.Scalar;
  /** Mean KL between the teacher's and the student's value relations (Eq. 8). */
  valueRelation: tf.Scalar;
}

const FN = "miniLMAttention";
/** Largest tolerated |row sum − 1| of an attention map (float32 softmax rows). */
const ROW_SUM_TOLERANCE = 1e-3;

function checkShapes(
  teacherAttention: tf.Tensor,
  studentAttention: tf.Tensor,
  teacherValues: tf.Tensor,
  studentValues: tf.Tensor,
  mask: tf.Tensor | undefined,
): void {
  const attentions = [["teacherAttention", teacherAttention], [
    "studentAttention",
    studentAttention,
  ]] as const;
  for (const [name, x] of attentions) {
    if (!(x instanceof tf.Tensor) || x.rank !== 4 || x.shape[2] !== x.shape[3] || x.size === 0) {
      throw new Error(
        `${FN}: ${name} must be [B, H, T, T] attention probabilities, got [${x?.shape}]`,
      );
    }
  }
  if (teacherAttention.shape.join() !== studentAttention.shape.join()) {
    throw new Error(
      `${FN}: attention shapes differ ([${teacherAttention.shape}] vs [${studentAttention.shape}]); ` +
        `head counts and lengths must match`,
    );
  }
  const [B, H, T] = teacherAttention.shape;
  const values = [["teacherValues", teacherValues], ["studentValues", studentValues]] as const;
  for (const [name, v] of values) {
    const ok = v instanceof tf.Tensor && v.rank === 4 &&
      v.shape.slice(0, 3).join() === [B, H, T].join() && (v.shape[3] ?? 0) > 0;
    if (!ok) {
      throw new Error(`${FN}: ${name} must be [${B}, ${H}, ${T}, d] (d ≥ 1), got [${v?.shape}]`);
    }
  }
  if (mask && (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
    throw new Error(`${FN}: mask must be [${B}, ${T}] (batch, positions), got [${mask.shape}]`);
  }
}

/** Reads back once: attention rows in [0, 1] summing to 1, finite values, a 0/1 mask not all 0. */
function checkInputValues(
  attentions: tf.Tensor[],
  values: tf.Tensor[],
  mask: tf.Tensor | undefined,
): void {
  const stats = tf.tidy(() => {
    const rowError = tf.stack(attentions.map((a) => tf.max(tf.abs(tf.sub(tf.sum(a, -1), 1)))));
    const lowest = tf.stack(attentions.map((a) => tf.min(a)));
    const finite = tf.stack(values.map((v) => tf.sum(tf.cast(tf.isFinite(v), "float32"))));
    const nonFinite = tf.sub(tf.tensor1d(values.map((v) => v.size)), finite);
    const maskStats = mask
      ? tf.stack([
        tf.sum(tf.cast(mask, "float32")),
        tf.sum(tf.cast(tf.logicalAnd(tf.notEqual(mask, 0), tf.notEqual(mask, 1)), "float32")),
      ])
      : tf.tensor1d([1, 0]);
    return tf.concat([
      tf.max(rowError).reshape([1]),
      tf.min(lowest).reshape([1]),
      nonFinite,
      maskStats,
    ]);
  });
  checkValues(stats, (s) => {
    const [rowError, lowest, badTeacher, badStudent, kept, nonBinary] = s;
    if (!(rowError <= ROW_SUM_TOLERANCE) || !(lowest >= 0)) {
      return `${FN}: attention maps must be probabilities over the keys (rows ≥ 0 summing to 1); ` +
        `got a row sum off by ${rowError} and a smallest entry ${lowest}`;
    }
    if (badTeacher > 0 || badStudent > 0) {
      return `${FN}: ${badTeacher > 0 ? "teacherValues" : "studentValues"} holds ` +
        `${badTeacher > 0 ? badTeacher : badStudent} NaN/Inf entries`;
    }
    if (nonBinary > 0) return `${FN}: mask must hold only 0 and 1`;
    if (kept === 0) return `${FN}: mask excludes every position (an empty batch)`;
  });
}

/** Per (b, h, query) KL(P ‖ Q) from probabilities, 0·log 0 = 0: [B, H, T]. */
function rowKL(p: tf.Tensor, q: tf.Tensor): tf.Tensor {
  const tiny = 1e-30;
  const terms = tf.where(
    tf.greater(p, 0),
    tf.mul(p, tf.sub(tf.log(tf.maximum(p, tiny)), tf.log(tf.maximum(q, tiny)))),
    tf.zerosLike(p),
  );
  return tf.sum(terms, -1);
}

/**
 * L_AT and L_VR separately (unweighted); see the module doc. Arguments as
 * {@linkcode miniLMAttention}; `attentionWeight` and `valueWeight` are ignored.
 */
export function miniLMTerms(
  teacherAttention: tf.Tensor,
  studentAttention: tf.Tensor,
  teacherValues: tf.Tensor,
  studentValues: tf.Tensor,
  options: MiniLMOptions = {},
): MiniLMTerms {
  const { mask, causal = false } = options;
  checkShapes(teacherAttention, studentAttention, teacherValues, studentValues, mask);
  if (options.validate ?? true) {
    checkInputValues([teacherAttention, studentAttention], [teacherValues, studentValues], mask);
  }
  return tf.tidy(() => {
    const keyMask = mask ? tf.cast(mask, "float32") : undefined;
    // Means over heads and unpadded queries.
    const attention = meanOverKeptRows(rowKL(teacherAttention, studentAttention), keyMask);
    const valueRelation = meanOverKeptRows(
      logRowKL(
        logSelfRelation(teacherValues, causal, keyMask),
        logSelfRelation(studentValues, causal, keyMask),
      ),
      keyMask,
    );
    return { attention, valueRelation };
  });
}

/**
 * MiniLM's last-layer loss `attentionWeight·L_AT + valueWeight·L_VR` (defaults 1 and 1: the
 * paper's L = L_AT + L_VR); see the module doc.
 *
 * @param teacherAttention The teacher's attention probabilities `[B, H, T, T]` (its last layer in
 *   MiniLM; any layer a caller chooses).
 * @param studentAttention The student's, same shape (the head counts must match).
 * @param teacherValues The same layer's values per head `[B, H, T, d_T]`.
 * @param studentValues The student's `[B, H, T, d_S]` (d_S may differ from d_T).
 * @param options Causal value relation, padding mask, the two weights, input checks.
 */
export function miniLMAttention(
  teacherAttention: tf.Tensor,
  studentAttention: tf.Tensor,
  teacherValues: tf.Tensor,
  studentValues: tf.Tensor,
  options: MiniLMOptions = {},
): tf.Scalar {
  const { attentionWeight = 1, valueWeight = 1 } = options;
  checkRange(FN, "attentionWeight", attentionWeight, 0, Infinity);
  checkRange(FN, "valueWeight", valueWeight, 0, Infinity);
  return tf.tidy(() => {
    const { attention, valueRelation } = miniLMTerms(
      teacherAttention,
      studentAttention,
      teacherValues,
      studentValues,
      options,
    );
    return tf.add(tf.mul(attentionWeight, attention), tf.mul(valueWeight, valueRelation));
  }) as tf.Scalar;
}
