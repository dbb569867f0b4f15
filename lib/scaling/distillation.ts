/**
 * The distillation scaling law (Busbridge et al., "Distillation Scaling Laws", ICML 2025, Eq. 8):
 *
 *   L_S = L_T + L_T^(−c0) · (1 + (L_T / (d1·L̃_S))^(1/f1))^(−c1·f1) · (A′/N_S^α′ + B′/D_S^β′)^γ′
 *
 * where L̃_S = L(N_S, D_S) is the student's *supervised* loss (Eq. 1, {@link supervisedLoss}).
 * The teacher enters only through its loss L_T. Fitted in the log form of App. F.2, Eq. 49:
 *
 *   log L_S = LSE(log L_T, −c0·log L_T − c1·f1·LSE(0, (log L_T − log L̃_S − log d1)/f1)
 *                          + γ′·LSE(log A′ − α′·log N_S, log B′ − β′·log D_S))
 *
 * with a summed Huber loss (δ = 1e-4) and analytic gradients. f1 → 0 is undefined; starts with
 * f1 ≤ 1e-3 are refused as non-finite.
 *
 * @module
 */
import { checkScalingPoints, multistart } from "./chinchilla.ts";
import { supervisedLoss, type SupervisedParams } from "./supervised.ts";

/** One distilled student: its size, tokens, teacher loss, and final loss. */
export interface DistillationPoint {
  /** Student parameters N_S. */
  NS: number;
  /** Student training tokens D_S. */
  DS: number;
  /** The teacher's loss L_T (nats per token). */
  LT: number;
  /** The distilled student's loss L_S (nats per token). */
  LS: number;
}

/** Coefficients of Eq. 8 (primes dropped). */
export interface DistillationParams {
  /** A′ of the parameter term. */
  A: number;
  /** B′ of the data term. */
  B: number;
  /** α′, the parameter exponent. */
  alpha: number;
  /** β′, the data exponent. */
  beta: number;
  /** γ′, the outer exponent of the supervised term. */
  gamma: number;
  /** c0, the exponent of L_T's prefactor. */
  c0: number;
  /** c1, the strength of the teacher–student transition. */
  c1: number;
  /** f1, the sharpness of the transition. */
  f1: number;
  /** d1, where the transition sits in L_T / L̃_S. */
  d1: number;
}

/** Table 6 of Busbridge et al. (distillation column), for curves at the paper's coefficients. */
export const BUSBRIDGE_DISTILLATION: DistillationParams = {
  A: 2243,
  B: 24181,
  alpha: 0.321,
  beta: 0.637,
  gamma: 0.764,
  c0: 2.549,
  c1: 522.6,
  f1: 0.09,
  d1: 1.315,
};

/** Table 6 of Busbridge et al. (supervised column, Eq. 1). */
export const BUSBRIDGE_SUPERVISED: SupervisedParams = {
  E: 1.22,
  A: 3355,
  B: 18186,
  alpha: 0.408,
  beta: 0.431,
  gamma: 0.452,
};

/** The student loss of Eq. 8, with L̃_S from the supervised coefficients. */
export function distillationLoss(
  p: DistillationParams,
  supervised: SupervisedParams,
  NS: number,
  DS: number,
  LT: number,
): number {
  const LS = supervisedLoss(supervised, NS, DS);
  const gap = (1 + (LT / (p.d1 * LS)) ** (1 / p.f1)) ** (-p.c1 * p.f1);
  return LT + LT ** -p.c0 * gap * (p.A / NS ** p.alpha + p.B / DS ** p.beta) ** p.gamma;
}

const lse2 = (x: number, y: number) => {
  const m = Math.max(x, y);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
};

/** Summed Huber objective of [a′, b′, α′, β′, γ′, c0, c1, f1, log d1] and its gradient. */
export function distillationObjective(
  points: DistillationPoint[],
  supervised: SupervisedParams,
  delta = 1e-4,
): (x: Float64Array, grad: Float64Array) => number {
  const lnN = points.map((p) => Math.log(p.NS));
  const lnD = points.map((p) => Math.log(p.DS));
  const lt = points.map((p) => Math.log(p.LT));
  const lsTilde = points.map((p) => Math.log(supervisedLoss(supervised, p.NS, p.DS)));
  const target = points.map((p) => Math.log(p.LS));
  return (x, grad) => {
    const [a, b, alpha, beta, gamma, c0, c1, f1, ld1] = x;
    grad.fill(0);
    if (!(f1 > 1e-3)) return Infinity;
    let total = 0;
    for (let i = 0; i < points.length; i++) {
      const u1 = a - alpha * lnN[i];
      const u2 = b - beta * lnD[i];
      const U = lse2(u1, u2);
      const w1 = Math.exp(u1 - U);
      const w2 = Math.exp(u2 - U);
      const q = (lt[i] - lsTilde[i] - ld1) / f1;
      const K = lse2(0, q);
      const sq = Math.exp(q - K);
      const T2 = -c0 * lt[i] - c1 * f1 * K + gamma * U;
      const pred = lse2(lt[i], T2);
      const p2 = Math.exp(T2 - pred);
      const r = pred - target[i];
      const abs = Math.abs(r);
      total += abs <= delta ? 0.5 * r * r : delta * (abs - 0.5 * delta);
      const g = Math.max(-delta, Math.min(delta, r)) * p2;
      grad[0] += g * gamma * w1;
      grad[1] += g * gamma * w2;
      grad[2] -= g * gamma * w1 * lnN[i];
      grad[3] -= g * gamma * w2 * lnD[i];
      grad[4] += g * U;
      grad[5] -= g * lt[i];
      grad[6] -= g * f1 * K;
      grad[7] += g * c1 * (sq * q - K);
      grad[8] += g * c1 * sq;
    }
    return total;
  };
}

/** Apple's start grid for Eq. 8 (216,000 starts), or a coarser one with `coarse`. */
export function appleDistillationGrid(coarse = false): number[][] {
  const logs = coarse ? [0, 10, 20] : [0, 5, 10, 15, 20];
  const exps = coarse ? [0.5, 1] : [0, 0.5, 1];
  const cs = coarse ? [0.5, 1.5] : [0, 0.5, 1, 1.5];
  const d1s = coarse ? [-0.5, 0.5] : [-1, -0.5, 0, 0.5, 1];
  const starts: number[][] = [];
  for (const a of logs) {
    for (const b of logs) {
      for (const alpha of exps) {
        for (const beta of exps) {
          for (const gamma of exps) {
            for (const c0 of cs) {
              for (const c1 of cs) {
                for (const f1 of cs) {
                  for (const d1 of d1s) starts.push([a, b, alpha, beta, gamma, c0, c1, f1, d1]);
                }
              }
            }
          }
        }
      }
    }
  }
  return starts;
}

/** Fits Eq. 8 given the supervised coefficients; see the module doc. */
export function fitDistillation(
  points: DistillationPoint[],
  supervised: SupervisedParams,
  options: { delta?: number; starts?: number[][]; maxIterations?: number } = {},
): DistillationParams & { objective: number; starts: number; converged: number } {
  checkScalingPoints(points.map((p) => ({ N: p.NS, D: p.DS, L: p.LS })), 9);
  points.forEach((p, i) => {
    if (!(Number.isFinite(p.LT) && p.LT > 0)) {
      throw new Error(`fitDistillation: points[${i}].LT must be finite and > 0, got ${p.LT}`);
    }
  });
  const starts = options.starts ?? appleDistillationGrid(true);
  const { best, converged } = multistart(
    distillationObjective(points, supervised, options.delta ?? 1e-4),
    starts,
    options.maxIterations ?? 3000,
    "fitDistillation",
  );
  const [a, b, alpha, beta, gamma, c0, c1, f1, ld1] = best.x;
  return {
    A: Math.exp(a),
    B: Math.exp(b),
    alpha,
    beta,
    gamma,
    c0,
    c1,
    f1,
    d1: Math.exp(ld1),
    objective: best.f,
    starts: starts.length,
    converged,
  };
}
