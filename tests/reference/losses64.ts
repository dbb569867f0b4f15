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
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (next() * 2 - 1) * scale));
}
