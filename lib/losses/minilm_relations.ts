/**
 * MiniLMv2's multi-head self-attention relation distillation (Wang, Bao, Huang, Dong, Wei,
 * "MiniLMv2: Multi-Head Self-Attention Relation Distillation for Compressing Pretrained
 * Transformers", Findings of ACL 2021, Eqs. 1–3). For one layer of teacher and student:
 *
 * - the queries of all attention heads are concatenated (`[T, H·d_h]`, the projection's output)
 *   and split again into A_r **relation heads** of size d_r = H·d_h / A_r (Eq. 1), likewise the
 *   keys and the values; A_r is chosen freely, so teacher and student may have any head counts
 *   and hidden sizes as long as both divide by A_r;
 * - each relation head's self-relation is R = softmax(X·Xᵀ/√d_r) row by row (Eq. 2), for X the
 *   queries (Q-Q), keys (K-K) or values (V-V);
 * - L = Σ over Q-Q, K-K, V-V of 1/(A_r·|x|) Σ_a Σ_t KL(R^T_{a,t} ‖ R^S_{a,t}) (Eq. 3; weights are
 *   options here, default 1 each as in the paper).
 *
 * MiniLM (v1)'s value relation is the V-V term with A_r = the model's head count. With `causal`,
 * keys after the query are left out of every relation (GPT-style models); with `mask` (padded
 * positions 0), padded queries leave the mean and padded keys get no mass. The KL is taken in log
 * space (float32), as MiniLM's value relation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues } from "../deferred_checks.ts";
import { logRowKL, logSelfRelation, meanOverKeptRows } from "./self_relation.ts";
import { checkRange } from "./validate.ts";

/** One layer's queries, keys and values per attention head, each `[B, H, T, d_h]`. */
export interface QueryKeyValue {
  /** Queries per head `[B, H, T, d_h]`. */
  queries: tf.Tensor;
  /** Keys per head `[B, H, T, d_h]`. */
  keys: tf.Tensor;
  /** Values per head `[B, H, T, d_h]`. */
  values: tf.Tensor;
}

/** Options of {@linkcode miniLMv2Relations}. */
export interface MiniLMv2Options {
  /** A_r, the number of relation heads; must divide both models' H·d_h. */
  relationHeads: number;
  /** Exclude future keys from every relation (default false). */
  causal?: boolean;
  /** 0/1 over positions `[B, T]`; 0 marks padding (default: every position counts). */
  mask?: tf.Tensor;
  /** Weight of the Q-Q relation term (default 1). */
  queryWeight?: number;
  /** Weight of the K-K relation term (default 1). */
  keyWeight?: number;
  /** Weight of the V-V relation term (default 1). */
  valueWeight?: number;
  /** Check that every input is finite and the mask 0/1 and not empty (default true). */
  validate?: boolean;
}

/** The three relation terms of one batch (unweighted), as {@linkcode miniLMv2Terms} returns. */
export interface MiniLMv2Terms {
  /** Mean KL between the teacher's and the student's Q-Q relations. */
  queryQuery: tf.Scalar;
  /** Mean KL between the K-K relations. */
  keyKey: tf.Scalar;
  /** Mean KL between the V-V relations. */
  valueValue: tf.Scalar;
}

const FN = "miniLMv2Relations";
const PARTS = ["queries", "keys", "values"] as const;

function checkShapes(
  teacher: QueryKeyValue,
  student: QueryKeyValue,
  relationHeads: number,
  mask: tf.Tensor | undefined,
): void {
  if (!Number.isInteger(relationHeads) || relationHeads < 1) {
    throw new Error(`${FN}: relationHeads must be a positive integer, got ${relationHeads}`);
  }
  let shape: number[] | undefined;
  for (const [model, qkv] of [["teacher", teacher], ["student", student]] as const) {
    const [B, H, T, d] = qkv?.queries?.shape ?? [];
    for (const part of PARTS) {
      const x = qkv?.[part];
      if (
        !(x instanceof tf.Tensor) || x.rank !== 4 || x.size === 0 ||
        x.shape.join() !== [B, H, T, d].join()
      ) {
        throw new Error(
          `${FN}: ${model}.${part} must be [B, H, T, d_h] like ${model}.queries ` +
            `([${B}, ${H}, ${T}, ${d}]), got [${x?.shape}]`,
        );
      }
    }
    if ((H * d) % relationHeads !== 0) {
      throw new Error(
        `${FN}: relationHeads ${relationHeads} must divide the ${model}'s H·d_h = ${H}·${d} = ` +
          `${H * d}`,
      );
    }
    if (shape && (shape[0] !== B || shape[2] !== T)) {
      throw new Error(
        `${FN}: teacher and student must see the same batch and length, got [B, T] = ` +
          `[${shape[0]}, ${shape[2]}] vs [${B}, ${T}]`,
      );
    }
    shape = [B, H, T, d];
  }
  const [B, , T] = shape!;
  if (mask && (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
    throw new Error(`${FN}: mask must be [${B}, ${T}] (batch, positions), got [${mask.shape}]`);
  }
}

/** Reads back once (deferred on GPUs): finite inputs, a 0/1 mask that keeps a position. */
function checkInputValues(teacher: QueryKeyValue, student: QueryKeyValue, mask?: tf.Tensor): void {
  const inputs = [teacher, student].flatMap((m) => PARTS.map((p) => m[p]));
  const stats = tf.tidy(() => {
    const nonFinite = inputs.map((x) =>
      tf.sub(x.size, tf.sum(tf.cast(tf.isFinite(x), "float32"))).reshape([1])
    );
    const maskStats = mask
      ? tf.stack([
        tf.sum(tf.cast(mask, "float32")),
        tf.sum(tf.cast(tf.logicalAnd(tf.notEqual(mask, 0), tf.notEqual(mask, 1)), "float32")),
      ])
      : tf.tensor1d([1, 0]);
    return tf.concat([...nonFinite, maskStats]);
  });
  checkValues(stats, (s) => {
    const bad = Array.from(s.slice(0, 6)).findIndex((n) => n > 0);
    if (bad >= 0) {
      return `${FN}: ${bad < 3 ? "teacher" : "student"}.${PARTS[bad % 3]} holds ${s[bad]} ` +
        `NaN/Inf entries`;
    }
    if (s[7] > 0) return `${FN}: mask must hold only 0 and 1`;
    if (s[6] === 0) return `${FN}: mask excludes every position (an empty batch)`;
  });
}

/** `[B, H, T, d_h]` → `[B, A_r, T, H·d_h/A_r]`: heads concatenated, then split into A_r (Eq. 1). */
function relationHeadsOf(x: tf.Tensor, relationHeads: number): tf.Tensor {
  const [B, H, T, d] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([B, T, relationHeads, (H * d) / relationHeads])
    .transpose([0, 2, 1, 3]);
}

/**
 * The Q-Q, K-K and V-V terms separately (unweighted); see the module doc. Arguments as
 * {@linkcode miniLMv2Relations}; the three weights are ignored.
 */
export function miniLMv2Terms(
  teacher: QueryKeyValue,
  student: QueryKeyValue,
  options: MiniLMv2Options,
): MiniLMv2Terms {
  const { relationHeads, mask, causal = false } = options ?? {};
  checkShapes(teacher, student, relationHeads, mask);
  if (options.validate ?? true) checkInputValues(teacher, student, mask);
  return tf.tidy(() => {
    const keyMask = mask ? tf.cast(mask, "float32") : undefined;
    const term = (part: typeof PARTS[number]) => {
      const logRelation = (x: tf.Tensor) =>
        logSelfRelation(relationHeadsOf(x, relationHeads), causal, keyMask);
      return meanOverKeptRows(
        logRowKL(logRelation(teacher[part]), logRelation(student[part])),
        keyMask,
      );
    };
    return { queryQuery: term("queries"), keyKey: term("keys"), valueValue: term("values") };
  });
}

/**
 * MiniLMv2's loss `queryWeight·L_QQ + keyWeight·L_KK + valueWeight·L_VV` (defaults 1, 1, 1: the
 * paper's Eq. 3); see the module doc.
 *
 * @param teacher The teacher's queries, keys and values per head, each `[B, H_T, T, d_T]`.
 * @param student The student's, each `[B, H_S, T, d_S]` (head counts and sizes may differ).
 * @param options Relation heads A_r, causal relations, padding mask, the weights, input checks.
 */
export function miniLMv2Relations(
  teacher: QueryKeyValue,
  student: QueryKeyValue,
  options: MiniLMv2Options,
): tf.Scalar {
  const { queryWeight = 1, keyWeight = 1, valueWeight = 1 } = options ?? {};
  checkRange(FN, "queryWeight", queryWeight, 0, Infinity);
  checkRange(FN, "keyWeight", keyWeight, 0, Infinity);
  checkRange(FN, "valueWeight", valueWeight, 0, Infinity);
  return tf.tidy(() => {
    const { queryQuery, keyKey, valueValue } = miniLMv2Terms(teacher, student, options);
    return tf.addN([
      tf.mul(queryWeight, queryQuery),
      tf.mul(keyWeight, keyKey),
      tf.mul(valueWeight, valueValue),
    ]);
  }) as tf.Scalar;
}
