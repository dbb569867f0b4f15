/**
 * ROUGE-L (Lin, "ROUGE: A Package for Automatic Evaluation of Summaries", ACL Workshop 2004,
 * §3.1): how much of a reference a candidate reproduces in order, through their longest common
 * subsequence (LCS). Precision LCS/|candidate|, recall LCS/|reference| and their harmonic mean
 * (F1, the `fmeasure` of Google's `rouge-score`, which MiniLLM and DistiLLM report). Over any
 * symbols: kdlab scores BPE token ids, so its numbers are not the papers' word-level ones.
 *
 * @module
 */

/** ROUGE-L of one candidate against one reference. */
export interface RougeL {
  /** LCS / candidate length. */
  precision: number;
  /** LCS / reference length. */
  recall: number;
  /** Their harmonic mean (0 when the LCS is empty). */
  f1: number;
}

/**
 * The length of the longest common subsequence of `a` and `b` (dynamic programming over two rows,
 * O(|a|·|b|) time, O(|b|) memory).
 */
export function longestCommonSubsequence(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let previous = new Int32Array(b.length + 1);
  let current = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1]
        ? previous[j - 1] + 1
        : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

/**
 * ROUGE-L of `candidate` against `reference` (see the module doc); all zero when either is empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rougeL } from "./rouge.ts";
 * // Lin 2004's example: "police killed the gunman" against "police kill the gunman"
 * // shares "police the gunman" (LCS 3 of 4).
 * const ids = new Map<string, number>();
 * const words = (s: string) =>
 *   s.split(" ").map((w) => ids.get(w) ?? ids.set(w, ids.size).get(w)!);
 * const score = rougeL(words("police kill the gunman"), words("police killed the gunman"));
 * assert.deepEqual(score, { precision: 0.75, recall: 0.75, f1: 0.75 });
 * assert.equal(rougeL([1, 2, 3], [3, 2, 1, 2, 3]).precision, 1);
 * assert.equal(rougeL([], [1]).f1, 0);
 * ```
 */
export function rougeL(candidate: ArrayLike<number>, reference: ArrayLike<number>): RougeL {
  const lcs = longestCommonSubsequence(candidate, reference);
  if (lcs === 0) return { precision: 0, recall: 0, f1: 0 };
  const precision = lcs / candidate.length;
  const recall = lcs / reference.length;
  return { precision, recall, f1: (2 * precision * recall) / (precision + recall) };
}
