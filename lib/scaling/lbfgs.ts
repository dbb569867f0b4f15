/**
 * L-BFGS (Liu & Nocedal, "On the limited memory BFGS method for large scale optimization",
 * Math. Programming 1989) with a strong-Wolfe line search (Nocedal & Wright, "Numerical
 * Optimization", 2nd ed., Algorithms 3.5–3.6 and 7.4), in float64.
 *
 * The stopping rules are scale-free, on purpose: SciPy's L-BFGS-B compares the decrease of f to
 * `max(|f|, 1)`, so an objective far below 1 (a summed Huber loss of ~1e-3) stops after a couple
 * of iterations; that is one reason the published Chinchilla fit did not converge
 * (`shared/reference/scaling.md` §2.7). Here convergence is a small gradient or a relative
 * decrease of f with no floor.
 *
 * @module
 */

/** f(x) and its gradient, written into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Options of {@link minimizeLBFGS}. */
export interface LBFGSOptions {
  /** History pairs kept (default 10). */
  memory?: number;
  /** Iteration cap (default 1000). */
  maxIterations?: number;
  /** Stop when ‖∇f‖∞ ≤ gradTolerance (default 1e-10). */
  gradTolerance?: number;
  /** Stop when (f_k − f_{k+1}) ≤ relTolerance·max(|f_k|, |f_{k+1}|, floor) (default 1e-13). */
  relTolerance?: number;
  /**
   * The `floor` above (default 0: scale-free). SciPy's L-BFGS-B uses 1 with relTolerance
   * 2.2e-9 (factr 1e7); set both to reproduce how it stops early on objectives far below 1.
   */
  floor?: number;
}

/** The outcome of a minimisation. */
export interface LBFGSResult {
  /** The best point found. */
  x: Float64Array;
  /** The objective there. */
  f: number;
  /** Euclidean norm of the gradient there. */
  gradNorm: number;
  /** Iterations taken. */
  iterations: number;
  /** Objective evaluations (line-search steps included). */
  evaluations: number;
  /** True when a convergence test (not the iteration cap or a failed line search) stopped it. */
  converged: boolean;
  /** What stopped it. */
  reason: "gradient" | "relative-decrease" | "max-iterations" | "line-search" | "non-finite";
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const normInf = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Minimises `f` from `x0`; see the module doc. */
export function minimizeLBFGS(
  f: Objective,
  x0: ArrayLike<number>,
  options: LBFGSOptions = {},
): LBFGSResult {
  const {
    memory = 10,
    maxIterations = 1000,
    gradTolerance = 1e-10,
    relTolerance = 1e-13,
    floor = 0,
  } = options;
  const n = x0.length;
  let x: Float64Array = Float64Array.from(x0);
  let g: Float64Array = new Float64Array(n);
  let evaluations = 1;
  let fx = f(x, g);
  if (!Number.isFinite(fx) || g.some((v) => !Number.isFinite(v))) {
    return {
      x,
      f: fx,
      gradNorm: NaN,
      iterations: 0,
      evaluations,
      converged: false,
      reason: "non-finite",
    };
  }
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let iterations = 0;
  let reason: LBFGSResult["reason"] = "max-iterations";
  while (iterations < maxIterations) {
    if (normInf(g) <= gradTolerance) {
      reason = "gradient";
      break;
    }
    // Two-loop recursion: d = −H g.
    const q = Float64Array.from(g);
    const alpha = new Array<number>(S.length);
    for (let i = S.length - 1; i >= 0; i--) {
      alpha[i] = rho[i] * dot(S[i], q);
      for (let j = 0; j < n; j++) q[j] -= alpha[i] * Y[i][j];
    }
    const gamma = S.length
      ? dot(S.at(-1)!, Y.at(-1)!) / dot(Y.at(-1)!, Y.at(-1)!)
      : 1 / Math.max(1, normInf(g));
    for (let j = 0; j < n; j++) q[j] *= gamma;
    for (let i = 0; i < S.length; i++) {
      const beta = rho[i] * dot(Y[i], q);
      for (let j = 0; j < n; j++) q[j] += S[i][j] * (alpha[i] - beta);
    }
    let d = q.map((v) => -v);
    if (dot(d, g) >= 0) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      d = g.map((v) => -v / Math.max(1, normInf(g)));
    }
    const search = wolfeLineSearch(f, x, fx, g, d);
    evaluations += search.evaluations;
    if (!search.ok) {
      reason = "line-search";
      break;
    }
    const s = search.x.map((v, i) => v - x[i]);
    const y = search.g.map((v, i) => v - g[i]);
    const sy = dot(s, y);
    const previous = fx;
    x = search.x;
    g = search.g;
    fx = search.f;
    iterations++;
    if (sy > 1e-300) {
      S.push(s), Y.push(y), rho.push(1 / sy);
      if (S.length > memory) S.shift(), Y.shift(), rho.shift();
    }
    if (previous - fx <= relTolerance * Math.max(Math.abs(previous), Math.abs(fx), floor)) {
      reason = "relative-decrease";
      break;
    }
  }
  if (reason === "max-iterations" && normInf(g) <= gradTolerance) reason = "gradient";
  return {
    x,
    f: fx,
    gradNorm: normInf(g),
    iterations,
    evaluations,
    converged: reason === "gradient" || reason === "relative-decrease",
    reason,
  };
}

/** A step satisfying the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9), by bracketing and zoom. */
function wolfeLineSearch(
  f: Objective,
  x: Float64Array,
  fx: number,
  g: Float64Array,
  d: Float64Array,
): { ok: boolean; x: Float64Array; f: number; g: Float64Array; evaluations: number } {
  const c1 = 1e-4;
  const c2 = 0.9;
  const d0 = dot(g, d);
  let evaluations = 0;
  const at = (t: number) => {
    const xt: Float64Array = x.map((v, i) => v + t * d[i]);
    const gt: Float64Array = new Float64Array(x.length);
    const ft = f(xt, gt);
    evaluations++;
    return { t, x: xt, f: ft, g: gt, slope: dot(gt, d) };
  };
  type Point = ReturnType<typeof at>;
  const zoom = (lo: Point, hi: Point) => {
    for (let k = 0; k < 60; k++) {
      const t = cubicMinimizer(lo, hi);
      const p = at(t);
      if (!Number.isFinite(p.f) || p.f > fx + c1 * t * d0 || p.f >= lo.f) hi = p;
      else {
        if (Math.abs(p.slope) <= -c2 * d0) return p;
        if (p.slope * (hi.t - lo.t) >= 0) hi = lo;
        lo = p;
      }
      if (Math.abs(hi.t - lo.t) < 1e-16 * Math.max(1, Math.abs(lo.t))) break;
    }
    return lo.t > 0 && lo.f < fx ? lo : undefined;
  };
  let previous: Point = { t: 0, x, f: fx, g, slope: d0 };
  let t = 1;
  for (let k = 0; k < 60; k++) {
    const p = at(t);
    if (!Number.isFinite(p.f) || p.f > fx + c1 * t * d0 || (k > 0 && p.f >= previous.f)) {
      const z = zoom(previous, p);
      return z ? { ok: true, ...z, evaluations } : { ok: false, x, f: fx, g, evaluations };
    }
    if (Math.abs(p.slope) <= -c2 * d0) return { ok: true, ...p, evaluations };
    if (p.slope >= 0) {
      const z = zoom(p, previous);
      return z ? { ok: true, ...z, evaluations } : { ok: false, x, f: fx, g, evaluations };
    }
    previous = p;
    t *= 2;
  }
  return { ok: false, x, f: fx, g, evaluations };
}

/** The minimiser of the cubic through two points with slopes, kept inside the bracket. */
function cubicMinimizer(
  a: { t: number; f: number; slope: number },
  b: { t: number; f: number; slope: number },
): number {
  const lo = Math.min(a.t, b.t);
  const hi = Math.max(a.t, b.t);
  if (Number.isFinite(b.f) && Number.isFinite(b.slope)) {
    const d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t);
    const disc = d1 * d1 - a.slope * b.slope;
    if (disc >= 0) {
      const d2 = Math.sign(b.t - a.t) * Math.sqrt(disc);
      const t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2);
      const margin = 0.1 * (hi - lo);
      if (Number.isFinite(t) && t > lo + margin && t < hi - margin) return t;
    }
  }
  return (lo + hi) / 2;
}
