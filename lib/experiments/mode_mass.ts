/**
 * Mode behaviour of a token distribution, the metric of TAID's Table 3 (Shing et al., ICLR 2025):
 * "head" is the total probability of the 10 most probable tokens; "tail" the total probability of
 * the tokens in the 80–100th percentile of the ranking (the least probable 20% of the
 * vocabulary). Mode collapse (reverse KL) raises the head and empties the tail; mode averaging
 * (forward KL) does the opposite.
 *
 * @module
 */

/** Head and tail mass of a token distribution; see the module doc. */
export interface ModeMass {
  /** Total probability of the `head` most probable tokens. */
  head: number;
  /** Total probability of the tokens ranked from the `tailFrom` quantile down. */
  tail: number;
}

/** Head and tail mass of one probability row (sorted on a copy). */
export function rowModeMass(
  probs: Float32Array | number[],
  head = 10,
  tailFrom = 0.8,
): ModeMass {
  const sorted = Float64Array.from(probs).sort().reverse();
  const V = sorted.length;
  if (V === 0) throw new Error("rowModeMass: empty row");
  if (!(tailFrom >= 0 && tailFrom < 1)) {
    throw new Error(`rowModeMass: tailFrom must be in [0, 1), got ${tailFrom}`);
  }
  let headMass = 0;
  for (let i = 0; i < Math.min(head, V); i++) headMass += sorted[i];
  let tailMass = 0;
  for (let i = Math.floor(tailFrom * V); i < V; i++) tailMass += sorted[i];
  return { head: headMass, tail: tailMass };
}

/** Mean head and tail mass over the rows of a row-major `[N × V]` probability matrix. */
export function modeMass(
  probs: Float32Array,
  vocab: number,
  head = 10,
  tailFrom = 0.8,
): ModeMass {
  const rows = probs.length / vocab;
  if (!Number.isInteger(rows) || rows === 0) {
    throw new Error(`modeMass: ${probs.length} values are not rows of ${vocab}`);
  }
  let h = 0;
  let t = 0;
  for (let r = 0; r < rows; r++) {
    const m = rowModeMass(probs.subarray(r * vocab, (r + 1) * vocab), head, tailFrom);
    h += m.head;
    t += m.tail;
  }
  return { head: h / rows, tail: t / rows };
}
