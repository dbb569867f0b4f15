/**
 * Sparse teacher targets, built once on the host from the teacher's logits and cached (Anshumann
 * et al., "Sparse Logit Sampling: Accelerating Knowledge Distillation in LLMs", ACL 2025):
 *
 * - **Top-K**: the K most probable tokens with their probabilities p_k, optionally
 *   renormalised to sum to 1. Either way E[p̂] ≠ p: the tail's mass is lost or moved onto the
 *   head, so the student is pushed to be over-confident.
 * - **Random sampling** (Random-Sampling KD): S tokens drawn with replacement from the proposal
 *   q ∝ p^(1/τ); each distinct token x gets the weight c_x·p_x/q_x (c_x its count), normalised to
 *   sum to 1. At τ = 1 the weight is c_x/S, an unbiased estimate of p (E[c_x/S] = p_x), so the
 *   distillation gradient is the dense KL's in expectation; τ > 1 flattens the proposal (more
 *   distinct tokens) at the price of a self-normalised, only consistent, estimate.
 *
 * Rows are stored compressed (CSR): `offsets[r]..offsets[r + 1]` index row r's ids and
 * probabilities, so a position costs as many entries as it has distinct tokens.
 *
 * @module
 */
import { Rng } from "../data/rng.ts";

/** How a teacher distribution is made sparse (see the module doc). */
export type Sparsifier =
  | {
    /** Keep the K most probable tokens. */
    kind: "top_k";
    /** K ≥ 1. */
    k: number;
    /** Renormalise the kept probabilities to sum to 1 (default true). */
    normalize?: boolean;
  }
  | {
    /** Random-Sampling KD: importance-weighted counts of sampled tokens. */
    kind: "sample";
    /** Draws per position, S ≥ 1 (the stored tokens are the distinct ones among them). */
    samples: number;
    /** Proposal temperature τ > 0 (default 1: sample from the teacher itself). */
    temperature?: number;
  };

/** Sparse distributions over a vocabulary, one per row, stored compressed. */
export interface SparseRows {
  /** Vocabulary size V. */
  vocabSize: number;
  /** `[rows + 1]`: row r's entries are `offsets[r]` up to `offsets[r + 1]`. */
  offsets: Int32Array;
  /** Token id of each entry, in [0, V). */
  ids: Int32Array;
  /** Probability of each entry (a row sums to at most 1). */
  probs: Float32Array;
  /** Per row: the teacher's own probability mass on the row's stored ids (Σ p over them). */
  teacherMass: Float32Array;
}

/** Throws unless `sparsifier` is a valid {@linkcode Sparsifier} for vocabulary size `V`. */
export function checkSparsifier(sparsifier: Sparsifier, V: number): void {
  const fn = "sparsifier";
  if (sparsifier?.kind === "top_k") {
    const { k, normalize } = sparsifier;
    if (!(Number.isInteger(k) && k >= 1 && k <= V)) {
      throw new Error(`${fn}: top_k's k must be an integer in [1, ${V}], got ${k}`);
    }
    if (normalize !== undefined && typeof normalize !== "boolean") {
      throw new Error(`${fn}: top_k's normalize must be a boolean, got ${normalize}`);
    }
    checkKeys(sparsifier, ["kind", "k", "normalize"]);
  } else if (sparsifier?.kind === "sample") {
    const { samples, temperature = 1 } = sparsifier;
    if (!(Number.isInteger(samples) && samples >= 1)) {
      throw new Error(`${fn}: sample's samples must be a positive integer, got ${samples}`);
    }
    if (!(Number.isFinite(temperature) && temperature > 0)) {
      throw new Error(
        `${fn}: sample's temperature must be a finite number > 0, got ${temperature}`,
      );
    }
    checkKeys(sparsifier, ["kind", "samples", "temperature"]);
  } else {
    throw new Error(
      `${fn}: kind must be "top_k" or "sample", got ${
        JSON.stringify((sparsifier as { kind?: unknown })?.kind)
      }`,
    );
  }
}

function checkKeys(sparsifier: object, keys: string[]): void {
  const unknown = Object.keys(sparsifier).filter((k) => !keys.includes(k));
  if (unknown.length > 0) {
    throw new Error(`sparsifier: unknown keys ${unknown.join(", ")} (known: ${keys.join(", ")})`);
  }
}

/**
 * Sparse targets of `rows` teacher distributions given by their logits (`[rows, V]`, row-major),
 * each row drawn (for sampling) with `rngOfRow(r)`, so a row's entries do not depend on how rows
 * are batched. Softmaxes are computed in float64.
 */
export function sparsifyLogits(
  logits: Float32Array,
  V: number,
  sparsifier: Sparsifier,
  rngOfRow: (row: number) => Rng,
): SparseRows {
  checkSparsifier(sparsifier, V);
  if (!(Number.isInteger(V) && V >= 1) || logits.length % V !== 0) {
    throw new Error(`sparsifyLogits: logits (${logits.length} numbers) must be [rows, ${V}]`);
  }
  const rows = logits.length / V;
  const offsets = new Int32Array(rows + 1);
  const ids: number[] = [];
  const probs: number[] = [];
  const teacherMass = new Float32Array(rows);
  const p = new Float64Array(V);
  const q = new Float64Array(V);
  const counts = new Int32Array(V);
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    softmaxInto(row, 1, p, "sparsifyLogits");
    let entries: { id: number; prob: number }[];
    if (sparsifier.kind === "top_k") {
      entries = topK(p, sparsifier.k).map((id) => ({ id, prob: p[id] }));
      const kept = entries.reduce((a, e) => a + e.prob, 0);
      if (sparsifier.normalize ?? true) entries.forEach((e) => e.prob /= kept);
    } else {
      const tau = sparsifier.temperature ?? 1;
      if (tau !== 1) softmaxInto(row, tau, q, "sparsifyLogits");
      entries = sampledEntries(tau === 1 ? p : q, p, sparsifier.samples, rngOfRow(r), counts);
    }
    for (const e of entries) {
      ids.push(e.id);
      probs.push(e.prob);
      teacherMass[r] += p[e.id];
    }
    offsets[r + 1] = ids.length;
  }
  return {
    vocabSize: V,
    offsets,
    ids: Int32Array.from(ids),
    probs: Float32Array.from(probs),
    teacherMass,
  };
}

/** softmax(row / T) into `out` (float64); throws on a non-finite logit. */
function softmaxInto(row: Float32Array, T: number, out: Float64Array, fn: string): void {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (!Number.isFinite(row[i])) throw new Error(`${fn}: teacher logits contain NaN or Inf`);
    if (row[i] > max) max = row[i];
  }
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp((row[i] - max) / T);
  for (let i = 0; i < row.length; i++) out[i] /= sum;
}

/** Ids of the k largest entries of `p`, largest first (ties: the smaller id first). */
export function topK(p: ArrayLike<number>, k: number): number[] {
  // A min-heap of the best k so far: O(V log k).
  const heap: number[] = [];
  const less = (a: number, b: number) => p[a] < p[b] || (p[a] === p[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let id = 0; id < p.length; id++) {
    if (heap.length < k) {
      heap.push(id);
      for (let i = heap.length - 1; i > 0;) {
        const parent = (i - 1) >> 1;
        if (!less(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (less(heap[0], id)) {
      heap[0] = id;
      down(0);
    }
  }
  return heap.sort((a, b) => less(a, b) ? 1 : -1);
}

/**
 * The distinct tokens among `samples` draws from `proposal`, weighted c_x·p_x/q_x and normalised
 * (ascending ids). `counts` is V zeros of scratch space, left zero.
 */
function sampledEntries(
  proposal: Float64Array,
  p: Float64Array,
  samples: number,
  rng: Rng,
  counts: Int32Array,
): { id: number; prob: number }[] {
  const V = proposal.length;
  const cdf = new Float64Array(V);
  let acc = 0;
  for (let i = 0; i < V; i++) cdf[i] = acc += proposal[i];
  const drawn: number[] = [];
  for (let s = 0; s < samples; s++) {
    const u = rng.next() * acc;
    // The first index with cdf > u; tokens of zero probability are never drawn.
    let lo = 0, hi = V - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    if (counts[lo]++ === 0) drawn.push(lo);
  }
  drawn.sort((a, b) => a - b);
  const weights = drawn.map((id) => counts[id] * (proposal === p ? 1 : p[id] / proposal[id]));
  const total = weights.reduce((a, b) => a + b, 0);
  const entries = drawn.map((id, i) => ({ id, prob: weights[i] / total }));
  for (const id of drawn) counts[id] = 0;
  return entries;
}

/** Rows of several {@linkcode SparseRows} one after another. */
export function concatSparseRows(parts: SparseRows[]): SparseRows {
  if (parts.length === 0) throw new Error("concatSparseRows: no parts");
  const V = parts[0].vocabSize;
  if (parts.some((x) => x.vocabSize !== V)) {
    throw new Error("concatSparseRows: parts have different vocabulary sizes");
  }
  const rows = parts.reduce((a, x) => a + x.offsets.length - 1, 0);
  const entries = parts.reduce((a, x) => a + x.ids.length, 0);
  const out: SparseRows = {
    vocabSize: V,
    offsets: new Int32Array(rows + 1),
    ids: new Int32Array(entries),
    probs: new Float32Array(entries),
    teacherMass: new Float32Array(rows),
  };
  let r = 0, e = 0;
  for (const x of parts) {
    const n = x.offsets.length - 1;
    for (let i = 0; i < n; i++) out.offsets[r + i + 1] = e + x.offsets[i + 1];
    out.ids.set(x.ids, e);
    out.probs.set(x.probs, e);
    out.teacherMass.set(x.teacherMass, r);
    r += n;
    e += x.ids.length;
  }
  return out;
}

/**
 * Rows `rowIds` padded to the widest of them: ids and probabilities `[rowIds.length, K]`
 * (padding: id 0, probability 0), ready for `sparseKL`.
 */
export function paddedRows(
  sparse: SparseRows,
  rowIds: ArrayLike<number>,
): { ids: Int32Array; probs: Float32Array; k: number } {
  let k = 1;
  for (let i = 0; i < rowIds.length; i++) {
    const r = rowIds[i];
    k = Math.max(k, sparse.offsets[r + 1] - sparse.offsets[r]);
  }
  const ids = new Int32Array(rowIds.length * k);
  const probs = new Float32Array(rowIds.length * k);
  for (let i = 0; i < rowIds.length; i++) {
    const start = sparse.offsets[rowIds[i]], end = sparse.offsets[rowIds[i] + 1];
    ids.set(sparse.ids.subarray(start, end), i * k);
    probs.set(sparse.probs.subarray(start, end), i * k);
  }
  return { ids, probs, k };
}
