/**
 * The Chinchilla scaling law L(N, D) = E + A/N^α + B/D^β (Hoffmann et al., "Training
 * Compute-Optimal Large Language Models", 2022, Eq. 2), fitted as Epoch AI's replication does
 * (Besiroglu et al., "Chinchilla Scaling: A replication attempt", 2024): in the log-sum-exp
 * parametrisation log L̂ = LSE(a − α·log N, b − β·log D, e) with a = log A, b = log B, e = log E,
 * minimising the *summed* Huber loss (δ = 1e-3) of the log residuals with L-BFGS from a grid of
 * starts, keeping the best converged optimum. Gradients are analytic (the LSE's softmax weights).
 *
 * @module
 */
import { minimizeLBFGS, type Objective } from "./lbfgs.ts";

/** One training run: parameters N, tokens D, final loss L. */
export interface ScalingPoint {
  /** Model parameters N. */
  N: number;
  /** Training tokens D. */
  D: number;
  /** Final loss L, nats per token. */
  L: number;
}

/** Fitted coefficients of L = E + A/N^α + B/D^β. */
export interface ChinchillaParams {
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
}

/** A fit and how it was found. */
export interface ChinchillaFit extends ChinchillaParams {
  /** The objective at the optimum (summed or mean Huber loss). */
  objective: number;
  /** Starts tried, and how many converged. */
  starts: number;
  /** Starts whose L-BFGS run met a convergence test. */
  converged: number;
  /** True when the optimum sits on the edge of the start grid in some coordinate (a warning). */
  onGridEdge: boolean;
}

/** Options of {@link fitChinchilla}. */
export interface ChinchillaFitOptions {
  /** Huber threshold on log residuals (default 1e-3). */
  delta?: number;
  /** "sum" (Epoch, default) or "mean" (what made Hoffmann et al.'s optimiser stop early). */
  reduction?: "sum" | "mean";
  /** Starting points as [a, b, e, α, β]; default {@link hoffmannGrid} (4500 starts). */
  starts?: number[][];
  /** L-BFGS iterations per start (default 1000). */
  maxIterations?: number;
}

/** Hoffmann et al.'s start grid: α, β ∈ {0, …, 2}, e ∈ {−1, …, 1}, a, b ∈ {0, 5, …, 25}. */
export function hoffmannGrid(): number[][] {
  const starts: number[][] = [];
  for (const alpha of [0, 0.5, 1, 1.5, 2]) {
    for (const beta of [0, 0.5, 1, 1.5, 2]) {
      for (const e of [-1, -0.5, 0, 0.5, 1]) {
        for (const a of [0, 5, 10, 15, 20, 25]) {
          for (const b of [0, 5, 10, 15, 20, 25]) starts.push([a, b, e, alpha, beta]);
        }
      }
    }
  }
  return starts;
}

/** Rejects points that cannot be fitted, naming the field and index. */
export function checkScalingPoints(points: ScalingPoint[], minimum = 5): void {
  if (points.length < minimum) {
    throw new Error(
      `scaling fit: ${points.length} points cannot determine ${minimum} parameters; give at least ${minimum}`,
    );
  }
  points.forEach((p, i) => {
    for (const key of ["N", "D", "L"] as const) {
      if (!Number.isFinite(p[key]) || p[key] <= 0) {
        throw new Error(`scaling fit: points[${i}].${key} must be finite and > 0, got ${p[key]}`);
      }
    }
  });
}

/** The summed (or mean) Huber objective of [a, b, e, α, β] and its gradient. */
export function chinchillaObjective(
  points: ScalingPoint[],
  delta = 1e-3,
  reduction: "sum" | "mean" = "sum",
): (x: Float64Array, grad: Float64Array) => number {
  const logN = points.map((p) => Math.log(p.N));
  const logD = points.map((p) => Math.log(p.D));
  const logL = points.map((p) => Math.log(p.L));
  const scale = reduction === "mean" ? 1 / points.length : 1;
  return (x, grad) => {
    const [a, b, e, alpha, beta] = x;
    grad.fill(0);
    let total = 0;
    for (let i = 0; i < points.length; i++) {
      const u1 = a - alpha * logN[i];
      const u2 = b - beta * logD[i];
      const m = Math.max(u1, u2, e);
      const z1 = Math.exp(u1 - m);
      const z2 = Math.exp(u2 - m);
      const z3 = Math.exp(e - m);
      const sum = z1 + z2 + z3;
      const r = m + Math.log(sum) - logL[i];
      const abs = Math.abs(r);
      total += abs <= delta ? 0.5 * r * r : delta * (abs - 0.5 * delta);
      const dr = Math.max(-delta, Math.min(delta, r)) * scale;
      const w1 = z1 / sum;
      const w2 = z2 / sum;
      grad[0] += dr * w1;
      grad[1] += dr * w2;
      grad[2] += dr * (z3 / sum);
      grad[3] -= dr * w1 * logN[i];
      grad[4] -= dr * w2 * logD[i];
    }
    return total * scale;
  };
}

/** Coefficients from the log parametrisation [a, b, e, α, β]. */
export const chinchillaFromVector = (x: ArrayLike<number>): ChinchillaParams => ({
  A: Math.exp(x[0]),
  B: Math.exp(x[1]),
  E: Math.exp(x[2]),
  alpha: x[3],
  beta: x[4],
});

/** [a, b, e, α, β] of coefficients. */
export const chinchillaToVector = (p: ChinchillaParams): number[] => [
  Math.log(p.A),
  Math.log(p.B),
  Math.log(p.E),
  p.alpha,
  p.beta,
];

/** L(N, D) under fitted coefficients. */
export function chinchillaLoss(p: ChinchillaParams, N: number, D: number): number {
  return p.E + p.A / N ** p.alpha + p.B / D ** p.beta;
}

/**
 * L-BFGS from every start; the lowest objective among converged runs, or an error when none
 * converged (never a silent non-answer).
 */
export function multistart(
  objective: Objective,
  starts: number[][],
  maxIterations = 1000,
  who = "multistart",
): { best: { x: Float64Array; f: number }; converged: number } {
  if (starts.length === 0) throw new Error(`${who}: no starting points`);
  let best: { x: Float64Array; f: number } | undefined;
  let converged = 0;
  for (const start of starts) {
    const result = minimizeLBFGS(objective, start, { maxIterations });
    if (!result.converged || !Number.isFinite(result.f)) continue;
    converged++;
    if (!best || result.f < best.f) best = { x: result.x, f: result.f };
  }
  if (!best) throw new Error(`${who}: none of ${starts.length} starts converged; check the data`);
  return { best, converged };
}

/** The best of an L-BFGS run from every start; see the module doc. */
export function fitChinchilla(
  points: ScalingPoint[],
  options: ChinchillaFitOptions = {},
): ChinchillaFit {
  checkScalingPoints(points);
  const { delta = 1e-3, reduction = "sum", maxIterations = 1000 } = options;
  const starts = options.starts ?? hoffmannGrid();
  const objective = chinchillaObjective(points, delta, reduction);
  const { best, converged } = multistart(objective, starts, maxIterations, "fitChinchilla");
  const lows = [0, 0, -1, 0, 0];
  const highs = [25, 25, 1, 2, 2];
  const onGridEdge = options.starts === undefined &&
    best.x.some((v, i) => v <= lows[i] || v >= highs[i]);
  return {
    ...chinchillaFromVector(best.x),
    objective: best.f,
    starts: starts.length,
    converged,
    onGridEdge,
  };
}

/**
 * Compute-optimal N and D for a budget C = 6·N·D under L = E + A/N^α + B/D^β (Hoffmann et al.,
 * Eq. 4): N_opt = G·(C/6)^(β/(α+β)), D_opt = G⁻¹·(C/6)^(α/(α+β)), G = (αA / (βB))^(1/(α+β)).
 */
export function chinchillaOptimal(
  p: ChinchillaParams,
  C: number,
): { N: number; D: number; L: number } {
  if (!(C > 0) || !Number.isFinite(C)) {
    throw new Error(`chinchillaOptimal: C must be finite and > 0, got ${C}`);
  }
  const G = ((p.alpha * p.A) / (p.beta * p.B)) ** (1 / (p.alpha + p.beta));
  const N = G * (C / 6) ** (p.beta / (p.alpha + p.beta));
  const D = (C / 6) ** (p.alpha / (p.alpha + p.beta)) / G;
  return { N, D, L: chinchillaLoss(p, N, D) };
}

/** The Epoch data set: `data/chinchilla_epoch.csv` rows as (N, D = C/(6N), L). */
export function parseChinchillaCSV(text: string): ScalingPoint[] {
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const cols = header.split(",");
  const iN = cols.indexOf("Model Size");
  const iC = cols.indexOf("Training FLOP");
  const iL = cols.indexOf("loss");
  if (iN < 0 || iC < 0 || iL < 0) {
    throw new Error(
      'parseChinchillaCSV: expected columns "Model Size", "Training FLOP" and "loss"',
    );
  }
  return lines.map((line) => {
    const f = line.split(",");
    const N = Number(f[iN]);
    return { N, D: Number(f[iC]) / (6 * N), L: Number(f[iL]) };
  });
}

/** Epoch's outlier rule: drop the `k` highest losses (keep L strictly below the k-th largest). */
export function dropHighestLosses(points: ScalingPoint[], k = 5): ScalingPoint[] {
  if (k <= 0) return [...points];
  const threshold = [...points].map((p) => p.L).sort((a, b) => b - a)[k - 1];
  return points.filter((p) => p.L < threshold);
}
