/**
 * The supervised scaling law with a free outer exponent, L(N, D) = E + (A/N^α + B/D^β)^γ
 * (Busbridge et al., "Distillation Scaling Laws", ICML 2025, Eq. 1), fitted in the log-sum-exp
 * parametrisation log L̂ = LSE(e, γ·LSE(a − α·log N, b − β·log D)) (App. F.1, Eqs. 41–44) with
 * a summed Huber loss (δ = 1e-4) and L-BFGS from Apple's grid. γ = 1 is the Chinchilla form.
 *
 * @module
 */
import { checkScalingPoints, multistart, type ScalingPoint } from "./chinchilla.ts";

/** Coefficients of E + (A/N^α + B/D^β)^γ. */
export interface SupervisedParams {
  /** E, the irreducible loss. */
  E: number;
  /** A, the parameter term's scale. */
  A: number;
  /** B, the data term's scale. */
  B: number;
  /** α, the parameter exponent. */
  alpha: number;
  /** β, the data exponent. */
  beta: number;
  /** γ, the outer exponent. */
  gamma: number;
}

/** A fit and how it was found. */
export interface SupervisedFit extends SupervisedParams {
  /** The summed Huber objective at the optimum. */
  objective: number;
  /** Starts tried. */
  starts: number;
  /** Starts whose L-BFGS run met a convergence test. */
  converged: number;
}

/** Apple's grid: log A, log B ∈ {0, 5, …, 20}, log E ∈ {−1, …, 1.5}, α, β, γ ∈ {0, 0.5, 1, 1.5}. */
export function appleSupervisedGrid(): number[][] {
  const starts: number[][] = [];
  for (const a of [0, 5, 10, 15, 20]) {
    for (const b of [0, 5, 10, 15, 20]) {
      for (const e of [-1, -0.5, 0, 0.5, 1, 1.5]) {
        for (const alpha of [0, 0.5, 1, 1.5]) {
          for (const beta of [0, 0.5, 1, 1.5]) {
            for (const gamma of [0, 0.5, 1, 1.5]) starts.push([a, b, e, alpha, beta, gamma]);
          }
        }
      }
    }
  }
  return starts;
}

/** L(N, D) under the γ form. */
export function supervisedLoss(p: SupervisedParams, N: number, D: number): number {
  return p.E + (p.A / N ** p.alpha + p.B / D ** p.beta) ** p.gamma;
}

/** Summed Huber objective of [a, b, e, α, β, γ] with its analytic gradient. */
export function supervisedObjective(
  points: ScalingPoint[],
  delta = 1e-4,
): (x: Float64Array, grad: Float64Array) => number {
  const logN = points.map((p) => Math.log(p.N));
  const logD = points.map((p) => Math.log(p.D));
  const logL = points.map((p) => Math.log(p.L));
  return (x, grad) => {
    const [a, b, e, alpha, beta, gamma] = x;
    grad.fill(0);
    let total = 0;
    for (let i = 0; i < points.length; i++) {
      const u1 = a - alpha * logN[i];
      const u2 = b - beta * logD[i];
      const mu = Math.max(u1, u2);
      const s1 = Math.exp(u1 - mu);
      const s2 = Math.exp(u2 - mu);
      const u = mu + Math.log(s1 + s2);
      const w1 = s1 / (s1 + s2);
      const w2 = s2 / (s1 + s2);
      const v = gamma * u;
      const mv = Math.max(e, v);
      const pe = Math.exp(e - mv);
      const pv = Math.exp(v - mv);
      const pred = mv + Math.log(pe + pv);
      const r = pred - logL[i];
      const abs = Math.abs(r);
      total += abs <= delta ? 0.5 * r * r : delta * (abs - 0.5 * delta);
      const dr = Math.max(-delta, Math.min(delta, r));
      const we = pe / (pe + pv);
      const wv = pv / (pe + pv);
      grad[0] += dr * wv * gamma * w1;
      grad[1] += dr * wv * gamma * w2;
      grad[2] += dr * we;
      grad[3] -= dr * wv * gamma * w1 * logN[i];
      grad[4] -= dr * wv * gamma * w2 * logD[i];
      grad[5] += dr * wv * u;
    }
    return total;
  };
}

/** Fits the γ form; starts default to {@link appleSupervisedGrid} (9600 starts). */
export function fitSupervised(
  points: ScalingPoint[],
  options: { delta?: number; starts?: number[][]; maxIterations?: number } = {},
): SupervisedFit {
  checkScalingPoints(points, 6);
  const starts = options.starts ?? appleSupervisedGrid();
  const { best, converged } = multistart(
    supervisedObjective(points, options.delta ?? 1e-4),
    starts,
    options.maxIterations ?? 1000,
    "fitSupervised",
  );
  const [a, b, e, alpha, beta, gamma] = best.x;
  return {
    A: Math.exp(a),
    B: Math.exp(b),
    E: Math.exp(e),
    alpha,
    beta,
    gamma,
    objective: best.f,
    starts: starts.length,
    converged,
  };
}
