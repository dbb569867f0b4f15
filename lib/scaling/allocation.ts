/**
 * Compute-optimal distillation (Busbridge et al., ICML 2025, §5.3 Eq. 10): for a student of N_S
 * and a budget C, choose the student's tokens D_S and the teacher (N_T, D_T) to minimise the
 * distilled student's loss under a {@link Scenario}; compare with training the same student
 * supervised on the whole budget. Every size and token count is bounded to [1e6, 1e17], as in the
 * paper; the search is a log-space grid refined by golden-section coordinate descent, and the
 * brute-force grid test checks it.
 *
 * @module
 */
import { distillationFlops, type Scenario, SCENARIOS } from "./compute.ts";
import { distillationLoss, type DistillationParams } from "./distillation.ts";
import { supervisedLoss, type SupervisedParams } from "./supervised.ts";

const LOG_MIN = Math.log(1e6);
const LOG_MAX = Math.log(1e17);

/** The chosen allocation and what it achieves. */
export interface DistillationAllocation {
  /** Which compute the budget covers (the paper's four scenarios). */
  scenario: Scenario;
  /** Student parameters N_S (given). */
  NS: number;
  /** Student tokens D_S (chosen). */
  DS: number;
  /** Teacher parameters N_T (chosen, or given by the scenario). */
  NT: number;
  /** Teacher tokens D_T (chosen, or given by the scenario). */
  DT: number;
  /** The teacher's supervised loss L_T at (N_T, D_T). */
  LT: number;
  /** The distilled student's loss L_S. */
  LS: number;
  /** The same student trained supervised on the whole budget: D = C / (3F(N_S)). */
  supervisedLS: number;
  /** True when distillation gives the lower loss at this budget. */
  distillationWins: boolean;
  /** FLOPs shares: student training, teacher logits, teacher training. */
  shares: { student: number; logits: number; teacher: number };
}

/** Golden-section minimisation of f on [lo, hi]. */
function golden(f: (x: number) => number, lo: number, hi: number, iterations = 80): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let a = lo, b = hi;
  let c = b - r * (b - a), d = a + r * (b - a);
  let fc = f(c), fd = f(d);
  for (let i = 0; i < iterations; i++) {
    if (fc < fd) b = d, d = c, fd = fc, c = b - r * (b - a), fc = f(c);
    else a = c, c = d, fc = fd, d = a + r * (b - a), fd = f(d);
  }
  return (a + b) / 2;
}

/** Compute-optimal distillation of a student of `NS` parameters with `C` FLOPs; see the module doc. */
export function optimalDistillation(options: {
  NS: number;
  C: number;
  scenario: Scenario;
  supervised: SupervisedParams;
  distillation: DistillationParams;
  flopsPerToken?: (N: number) => number;
}): DistillationAllocation {
  const { NS, C, scenario, supervised, distillation } = options;
  if (!SCENARIOS[scenario]) throw new Error(`optimalDistillation: unknown scenario "${scenario}"`);
  if (!(NS > 0 && C > 0) || !Number.isFinite(NS * C)) {
    throw new Error(`optimalDistillation: NS and C must be finite and > 0`);
  }
  const F = options.flopsPerToken ?? ((N: number) => 2 * N);
  const s = SCENARIOS[scenario];
  // D_S from the budget left after the teacher's pretraining, or undefined when nothing is left.
  const studentTokens = (NT: number, DT: number) => {
    const left = C - s.pretraining * 3 * F(NT) * DT;
    const DS = left / (3 * F(NS) + s.logits * F(NT));
    return DS >= 1e6 ? Math.min(DS, 1e17) : undefined;
  };
  const loss = (lnNT: number, lnDT: number) => {
    const NT = Math.exp(lnNT), DT = Math.exp(lnDT);
    const DS = studentTokens(NT, DT);
    if (DS === undefined) return Infinity;
    return distillationLoss(distillation, supervised, NS, DS, supervisedLoss(supervised, NT, DT));
  };
  let best = { x: LOG_MIN, y: LOG_MIN, f: Infinity };
  const steps = 60;
  for (let i = 0; i <= steps; i++) {
    for (let j = 0; j <= steps; j++) {
      const x = LOG_MIN + (LOG_MAX - LOG_MIN) * i / steps;
      const y = LOG_MIN + (LOG_MAX - LOG_MIN) * j / steps;
      const f = loss(x, y);
      if (f < best.f) best = { x, y, f };
    }
  }
  if (!Number.isFinite(best.f)) {
    throw new Error(
      `optimalDistillation: the budget C = ${C} cannot train the student on 1e6 tokens`,
    );
  }
  const width = (LOG_MAX - LOG_MIN) / steps;
  for (let round = 0; round < 30; round++) {
    const x = golden(
      (v) => loss(v, best.y),
      Math.max(LOG_MIN, best.x - width),
      Math.min(LOG_MAX, best.x + width),
    );
    const y = golden(
      (v) => loss(x, v),
      Math.max(LOG_MIN, best.y - width),
      Math.min(LOG_MAX, best.y + width),
    );
    const f = loss(x, y);
    if (f <= best.f) best = { x, y, f };
  }
  const NT = Math.exp(best.x), DT = Math.exp(best.y);
  const DS = studentTokens(NT, DT)!;
  const supervisedDS = Math.min(C / (3 * F(NS)), 1e17);
  const supervisedLS = supervisedLoss(supervised, NS, supervisedDS);
  const parts = {
    student: 3 * F(NS) * DS,
    logits: s.logits * F(NT) * DS,
    teacher: s.pretraining * 3 * F(NT) * DT,
  };
  const total = distillationFlops({ NS, DS, NT, DT, scenario, flopsPerToken: F });
  return {
    scenario,
    NS,
    DS,
    NT,
    DT,
    LT: supervisedLoss(supervised, NT, DT),
    LS: best.f,
    supervisedLS,
    distillationWins: best.f < supervisedLS,
    shares: {
      student: parts.student / total,
      logits: parts.logits / total,
      teacher: parts.teacher / total,
    },
  };
}
