/**
 * Float64 reference implementations of the distillation objectives, in plain TypeScript over
 * number arrays, written from the papers' formulas independently of the tfjs code (no shared
 * helpers). Used by the known-answer and finite-difference tests.
 *
 * @module
 */

/** A batch of logit rows. */
export type Rows64 = number[][];

/** log softmax(z / T) of one row, by max-shifted logsumexp. */
export function logSoftmax64(z: number[], T = 1): number[] {
  const x = z.map((v) => v / T);
  const m = Math.max(...x);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return x.map((v) => v - lse);
}

const probs = (l: number[]) => l.map(Math.exp);

/** KL(a‖b) from log-probabilities, with 0·log 0 = 0. */
function kl64(la: number[], lb: number[]): number {
  let s = 0;
  for (let i = 0; i < la.length; i++) {
    const a = Math.exp(la[i]);
    if (a > 0) s += a * (la[i] - lb[i]);
  }
  return s;
}

/** log(w·A + (1−w)·B) elementwise from log-probabilities, computed directly in probability space. */
function mixLog(la: number[], lb: number[], w: number): number[] {
  return la.map((_, i) => Math.log(w * Math.exp(la[i]) + (1 - w) * Math.exp(lb[i])));
}

/** Per-row divergences of one teacher row t and student row s at temperature T. */
export const rowDivergence64 = {
  fkl: (t: number[], s: number[], T = 1) => kl64(logSoftmax64(t, T), logSoftmax64(s, T)),
  rkl: (t: number[], s: number[], T = 1) => kl64(logSoftmax64(s, T), logSoftmax64(t, T)),
  tvd: (t: number[], s: number[], T = 1) => {
    const p = probs(logSoftmax64(t, T)), q = probs(logSoftmax64(s, T));
    return 0.5 * p.reduce((acc, pi, i) => acc + Math.abs(pi - q[i]), 0);
  },
  gjsd: (t: number[], s: number[], T = 1, beta = 0.5) => {
    const lp = logSoftmax64(t, T), lq = logSoftmax64(s, T);
    if (beta === 0) return kl64(lp, lq);
    if (beta === 1) return kl64(lq, lp);
    const lm = mixLog(lp, lq, beta);
    return beta * kl64(lp, lm) + (1 - beta) * kl64(lq, lm);
  },
  skl: (t: number[], s: number[], T = 1, alpha = 0.1) => {
    const lp = logSoftmax64(t, T), lq = logSoftmax64(s, T);
    return kl64(lp, mixLog(lp, lq, alpha));
  },
  srkl: (t: number[], s: number[], T = 1, alpha = 0.1) => {
    const lp = logSoftmax64(t, T), lq = logSoftmax64(s, T);
    return kl64(lq, mixLog(lp, lq, 1 - alpha));
  },
  /** TAID: KL(softmax(((1−t)·s + t·z_T)/T) ‖ softmax(s/T)); the target is held fixed at `sFixed`. */
  taid: (t: number[], s: number[], T = 1, tt = 0.5, sFixed?: number[]) => {
    const base = sFixed ?? s;
    const target = t.map((v, i) => (1 - tt) * base[i] + tt * v);
    return kl64(logSoftmax64(target, T), logSoftmax64(s, T));
  },
};

/** Mean over unmasked rows (mask of 0/1 per row; all ones when absent). */
export function maskedMean64(values: number[], mask?: number[]): number {
  let sum = 0, count = 0;
  values.forEach((v, i) => {
    const m = mask ? mask[i] : 1;
    sum += m * v;
    count += m;
  });
  return sum / count;
}

/**
 * Central finite-difference gradient of `f` with respect to every entry of `x` (float64, step h).
 */
export function numericGradient(f: (x: Rows64) => number, x: Rows64, h = 1e-6): Rows64 {
  return x.map((row, i) =>
    row.map((_, j) => {
      const plus = x.map((r) => r.slice());
      const minus = x.map((r) => r.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    })
  );
}

/** Deterministic pseudo-random logits (LCG), scaled by `scale`. */
export function randomRows(rows: number, cols: number, seed: number, scale = 2): Rows64 {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from(
    { length: rows },
    () => Array.from({ length: cols }, () => (next() * 2 - 1) * scale),
  );
}

// ---- classification-side objectives (per row; labels y) ----

function softmax64(z: number[], T = 1): number[] {
  return logSoftmax64(z, T).map(Math.exp);
}

function lse64(x: number[]): number {
  const m = Math.max(...x);
  return m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
}

/** −log softmax(z)_y. */
export function ce64(z: number[], y: number): number {
  return -logSoftmax64(z)[y];
}

/** Hinton KD per row: w_ce·CE + w_kd·T²·KL(p_T‖q_T). */
export function hinton64(
  t: number[],
  s: number[],
  y: number,
  T: number,
  wce: number,
  wkd: number,
): number {
  return wce * ce64(s, y) + wkd * T * T * rowDivergence64.fkl(t, s, T);
}

/** TCKD and NCKD per row, from probabilities (independent of the log-space tfjs code). */
export function dkdParts64(t: number[], s: number[], y: number, T: number) {
  const p = softmax64(t, T), q = softmax64(s, T);
  const bT = [p[y], 1 - p[y]], bS = [q[y], 1 - q[y]];
  const tckd = bT[0] * Math.log(bT[0] / bS[0]) + bT[1] * Math.log(bT[1] / bS[1]);
  let nckd = 0;
  for (let i = 0; i < t.length; i++) {
    if (i === y) continue;
    const ph = p[i] / (1 - p[y]), qh = q[i] / (1 - q[y]);
    if (ph > 0) nckd += ph * Math.log(ph / qh);
  }
  return { tckd, nckd };
}

export function dkd64(
  t: number[],
  s: number[],
  y: number,
  T: number,
  a: number,
  b: number,
  wce: number,
  w: number,
) {
  const { tckd, nckd } = dkdParts64(t, s, y, T);
  return wce * ce64(s, y) + w * T * T * (a * tckd + b * nckd);
}

export function nkd64(t: number[], s: number[], y: number, T: number, gamma: number, wce: number) {
  const target = -softmax64(t)[y] * logSoftmax64(s)[y];
  const rest = (z: number[]) => logSoftmax64(z.filter((_, i) => i !== y), T);
  const lt = rest(t), ls = rest(s);
  const nonTarget = -lt.reduce((acc, l, i) => acc + Math.exp(l) * ls[i], 0);
  return wce * ce64(s, y) + target + gamma * T * T * nonTarget;
}

export function pld64(t: number[], s: number[], y: number, tau: number) {
  const order = [
    y,
    ...t.map((_, i) => i).filter((i) => i !== y).sort((a, b) => t[b] - t[a] || a - b),
  ];
  const p = softmax64(t, tau);
  let loss = 0;
  for (let k = 0; k < order.length; k++) {
    const suffix = order.slice(k).map((i) => s[i]);
    loss += p[order[k]] * (lse64(suffix) - s[order[k]]);
  }
  return loss;
}

/** Batch Sinkhorn in probability space (plain row/column normalisation of K = exp(−C/ε)). */
export function sinkhorn64(
  teacher: Rows64,
  student: Rows64,
  T: number,
  eps: number,
  iters: number,
) {
  const ps = student.map((r) => softmax64(r, T)), pt = teacher.map((r) => softmax64(r, T));
  const b = ps.length;
  const C = ps.map((a) => pt.map((c) => a.reduce((acc, v, k) => acc + Math.abs(v - c[k]), 0)));
  let K = C.map((row) => row.map((c) => Math.exp(-c / eps)));
  for (let it = 0; it < iters; it++) {
    K = K.map((row) => {
      const sum = row.reduce((a, v) => a + v, 0);
      return row.map((v) => v / sum);
    });
    const colSums = K[0].map((_, j) => K.reduce((a, row) => a + row[j], 0));
    K = K.map((row) => row.map((v, j) => v / colSums[j]));
  }
  let total = 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) total += K[i][j] * C[i][j];
  return total / b;
}

/** BinaryKL-Norm per row with T²: Σ_c KL(Bern(½) ‖ Bern(σ((z_aux − z_T)/T))). */
export function binaryKLNorm64(t: number[], aux: number[], T: number) {
  let sum = 0;
  for (let c = 0; c < t.length; c++) {
    const sig = 1 / (1 + Math.exp(-(aux[c] - t[c]) / T));
    sum += 0.5 * Math.log(0.5 / sig) + 0.5 * Math.log(0.5 / (1 - sig));
  }
  return T * T * sum;
}

/** Adaptive KL per row (head: tokens whose mass of no-larger tokens is ≥ μ). */
export function akl64(t: number[], s: number[], T: number, mu: number) {
  const p = softmax64(t, T), q = softmax64(s, T);
  let gh = 0, gt = 0;
  for (let i = 0; i < p.length; i++) {
    const below = p.reduce((acc, v) => acc + (v <= p[i] ? v : 0), 0);
    const gap = Math.abs(p[i] - q[i]);
    if (below >= mu - 1e-7) gh += gap;
    else gt += gap;
  }
  return (gh * rowDivergence64.fkl(t, s, T) + gt * rowDivergence64.rkl(t, s, T)) /
    (gh + gt + 1e-12);
}

/** Delta-KD per row: KL(π* ‖ q_S) with log π* ∝ ℓ_baseS + κ(ℓ_SFT − ℓ_baseT). */
export function deltaKD64(
  sft: number[],
  baseT: number[],
  baseS: number[],
  s: number[],
  kappa: number,
  T: number,
) {
  const l = (z: number[]) => logSoftmax64(z, T);
  const a = l(baseS), b = l(sft), c = l(baseT);
  const target = a.map((v, i) => v + kappa * (b[i] - c[i]));
  return kl64(logSoftmax64(target), logSoftmax64(s, T));
}

/** Squared-Hellinger f-divergence Σ q·(√(p/q) − 1)². */
export function hellinger64(t: number[], s: number[], T: number) {
  const p = softmax64(t, T), q = softmax64(s, T);
  return q.reduce((acc, qi, i) => acc + qi * (Math.sqrt(p[i] / qi) - 1) ** 2, 0);
}

/**
 * MiniLM's L_AT and L_VR in float64 (Wang et al. 2020, Eqs. 6–8), for attention maps
 * `[B][H][T][T]` and values `[B][H][T][d]`: mean KL over heads and kept queries; the value
 * relation softmax(V·Vᵀ/√d) runs over the allowed keys only (not future ones when `causal`, not
 * padded ones under `mask` `[B][T]`).
 */
export function miniLM64(
  teacherAttention: number[][][][],
  studentAttention: number[][][][],
  teacherValues: number[][][][],
  studentValues: number[][][][],
  options: { causal?: boolean; mask?: number[][] } = {},
): { attention: number; valueRelation: number } {
  const kl = (p: number[], q: number[]) =>
    p.reduce((s, pi, k) => (pi > 0 ? s + pi * (Math.log(pi) - Math.log(q[k])) : s), 0);
  const relation = (v: number[][], b: number): number[][] =>
    v.map((vq, q) => {
      const allowed = v.map((_, k) =>
        (!options.causal || k <= q) && (!options.mask || options.mask[b][k] === 1)
      );
      const scores = v.map((vk) => vq.reduce((s, x, i) => s + x * vk[i], 0) / Math.sqrt(vq.length));
      const top = Math.max(...scores.filter((_, k) => allowed[k]));
      const e = scores.map((s, k) => (allowed[k] ? Math.exp(s - top) : 0));
      const z = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / z);
    });
  let at = 0, vr = 0, count = 0;
  teacherAttention.forEach((heads, b) =>
    heads.forEach((rows, h) => {
      const rt = relation(teacherValues[b][h], b), rs = relation(studentValues[b][h], b);
      rows.forEach((row, q) => {
        if (options.mask && options.mask[b][q] === 0) return;
        at += kl(row, studentAttention[b][h][q]);
        vr += kl(rt[q], rs[q]);
        count++;
      });
    })
  );
  return { attention: at / count, valueRelation: vr / count };
}

/**
 * MiniLMv2's relation terms in float64 (Wang et al. 2021, Eqs. 1–3), for queries, keys and values
 * per head `[B][H][T][d_h]` of each model: each position's heads are concatenated (index
 * h·d_h + c) and cut into `relationHeads` slices of width H·d_h / A_r; each slice's relation is
 * softmax(x_q·x_k/√d_r) over the allowed keys (not future ones when `causal`, not padded ones
 * under `mask` `[B][T]`); each term is the mean KL over relation heads and kept queries.
 */
export function miniLMv2_64(
  teacher: { queries: number[][][][]; keys: number[][][][]; values: number[][][][] },
  student: { queries: number[][][][]; keys: number[][][][]; values: number[][][][] },
  relationHeads: number,
  options: { causal?: boolean; mask?: number[][] } = {},
): { queryQuery: number; keyKey: number; valueValue: number } {
  const concat = (x: number[][][], t: number) => x.flatMap((head) => head[t]);
  const relation = (x: number[][][], b: number, a: number, q: number): number[] => {
    const T = x[0].length;
    const width = concat(x, 0).length / relationHeads;
    const slice = (t: number) => concat(x, t).slice(a * width, (a + 1) * width);
    const xq = slice(q);
    const allowed = (k: number) =>
      (!options.causal || k <= q) && (!options.mask || options.mask[b][k] === 1);
    const scores = Array.from(
      { length: T },
      (_, k) => slice(k).reduce((s, v, i) => s + v * xq[i], 0) / Math.sqrt(width),
    );
    const top = Math.max(...scores.filter((_, k) => allowed(k)));
    const e = scores.map((s, k) => (allowed(k) ? Math.exp(s - top) : 0));
    const z = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / z);
  };
  const kl = (p: number[], q: number[]) =>
    p.reduce((s, pi, k) => (pi > 0 ? s + pi * (Math.log(pi) - Math.log(q[k])) : s), 0);
  const term = (part: "queries" | "keys" | "values") => {
    let sum = 0, count = 0;
    teacher[part].forEach((heads, b) => {
      const T = heads[0].length;
      for (let a = 0; a < relationHeads; a++) {
        for (let q = 0; q < T; q++) {
          if (options.mask && options.mask[b][q] === 0) continue;
          sum += kl(relation(heads, b, a, q), relation(student[part][b], b, a, q));
          count++;
        }
      }
    });
    return sum / count;
  };
  return { queryQuery: term("queries"), keyKey: term("keys"), valueValue: term("values") };
}

/**
 * MiniLLM's loss (Gu et al., ICLR 2024) over rows, in float64: per row, the PPO surrogate
 * max(−A·ρ, −A·clip(ρ, 1 − ε, 1 + ε)) with ρ = w·exp(log q(y) − oldLogProb), plus (with
 * `singleStep`) KL(q ‖ p), averaged over the unmasked rows.
 */
export function miniLLM64(
  teacher: Rows64,
  student: Rows64,
  rollout: { labels: number[]; oldLogProbs: number[]; weights: number[]; advantages: number[] },
  options: { clipRange: number; singleStep: boolean; longTerm?: boolean; mask?: number[] },
): number {
  const { clipRange: eps, singleStep, longTerm = true, mask } = options;
  const perRow = student.map((s, i) => {
    const lq = logSoftmax64(s);
    const ratio = rollout.weights[i] * Math.exp(lq[rollout.labels[i]] - rollout.oldLogProbs[i]);
    const a = rollout.advantages[i];
    const clipped = Math.min(Math.max(ratio, 1 - eps), 1 + eps);
    const policy = longTerm ? Math.max(-a * ratio, -a * clipped) : 0;
    if (!singleStep) return policy;
    const lp = logSoftmax64(teacher[i]);
    let rkl = 0;
    lq.forEach((l, v) => rkl += Math.exp(l) * (l - lp[v]));
    return policy + rkl;
  });
  return maskedMean64(perRow, mask);
}

/**
 * f-distill (Wen et al., ACL 2023, §2.3): a sequence-level divergence estimated from sampled
 * rows. Rows are positions; `fromStudent[i]` is 1 where row i's sequence was sampled from the
 * student, 0 from the teacher; `mask[i]` 0 drops a row. Each term is the mean over its side's
 * rows: KL(p‖q) on the teacher's, KL(q‖p) on the student's; JS = β·KL(q‖M) on the student's +
 * (1−β)·KL(p‖M) on the teacher's with M = βq + (1−β)p; TVD = ½·mean_s + ½·mean_t of ½Σ|p−q|.
 */
export function fDistill64(
  t: Rows64,
  s: Rows64,
  fromStudent: number[],
  mask: number[],
  divergence: "kl" | "rkl" | "js" | "tvd",
  T = 1,
  beta = 0.5,
): number {
  const klOf = (a: number[], b: number[]) =>
    a.reduce((sum, ai, i) => (ai > 0 ? sum + ai * Math.log(ai / b[i]) : sum), 0);
  const sideMean = (side: number, term: (p: number[], q: number[]) => number) => {
    let sum = 0, n = 0;
    t.forEach((row, i) => {
      if (mask[i] === 1 && fromStudent[i] === side) {
        sum += term(softmax64(row, T), softmax64(s[i], T));
        n++;
      }
    });
    return sum / n;
  };
  const mix = (p: number[], q: number[]) => p.map((pi, i) => beta * q[i] + (1 - beta) * pi);
  const tvd = (p: number[], q: number[]) =>
    0.5 * p.reduce((a, pi, i) => a + Math.abs(pi - q[i]), 0);
  switch (divergence) {
    case "kl":
      return sideMean(0, (p, q) => klOf(p, q));
    case "rkl":
      return sideMean(1, (p, q) => klOf(q, p));
    case "js":
      return beta * sideMean(1, (p, q) => klOf(q, mix(p, q))) +
        (1 - beta) * sideMean(0, (p, q) => klOf(p, mix(p, q)));
    case "tvd":
      return 0.5 * sideMean(1, tvd) + 0.5 * sideMean(0, tvd);
  }
}

/**
 * Sparse KD (Anshumann et al., ACL 2025): per row, Σ_k p̂_k·log(p̂_k / q_{id_k}) with q the
 * student's softmax over the whole row, entries of probability 0 skipped; the mean over rows with
 * mask 1.
 */
export function sparseKL64(
  s: Rows64,
  ids: number[][],
  probs: number[][],
  mask?: number[],
): number {
  const perRow = s.map((row, i) => {
    const q = softmax64(row);
    return ids[i].reduce(
      (sum, id, k) => (probs[i][k] > 0 ? sum + probs[i][k] * Math.log(probs[i][k] / q[id]) : sum),
      0,
    );
  });
  return maskedMean64(perRow, mask);
}

/** Pearson correlation in float64: cosine of the centred vectors, ε as `lib/losses/dist.ts`. */
function pearson64(a: number[], b: number[]): number {
  const ma = a.reduce((x, y) => x + y, 0) / a.length;
  const mb = b.reduce((x, y) => x + y, 0) / b.length;
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] - ma) * (b[i] - mb);
    na += (a[i] - ma) ** 2;
    nb += (b[i] - mb) ** 2;
  }
  return dot / Math.sqrt(na * nb + 1e-16);
}

/**
 * DIST over a batch (Huang et al. 2022): w_ce·mean CE + T²·(β·mean_i (1 − ρ(row i)) +
 * γ·mean_j (1 − ρ(column j))), with only the rows whose `keep` is true.
 */
export function dist64(
  t: Rows64,
  s: Rows64,
  y: number[],
  T: number,
  beta: number,
  gamma: number,
  wce: number,
  keep: boolean[] = t.map(() => true),
): number {
  const rows = t.map((_, i) => i).filter((i) => keep[i]);
  const pt = rows.map((i) => logSoftmax64(t[i], T).map(Math.exp));
  const ps = rows.map((i) => logSoftmax64(s[i], T).map(Math.exp));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const inter = avg(ps.map((row, k) => 1 - pearson64(row, pt[k])));
  const column = (m: number[][], j: number) => m.map((row) => row[j]);
  const intra = avg(t[0].map((_, j) => 1 - pearson64(column(ps, j), column(pt, j))));
  const ce = avg(rows.map((i) => ce64(s[i], y[i])));
  return wce * ce + T * T * (beta * inter + gamma * intra);
}

/** A row's Z-score with the unbiased standard deviation + 1e-7 (logit standardization). */
export function standardize64(z: number[]): number[] {
  const m = z.reduce((a, b) => a + b, 0) / z.length;
  const sd = Math.sqrt(z.reduce((a, v) => a + (v - m) ** 2, 0) / (z.length - 1));
  return z.map((v) => (v - m) / (sd + 1e-7));
}
