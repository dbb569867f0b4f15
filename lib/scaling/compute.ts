/**
 * Compute accounting for distillation (Busbridge et al., "Distillation Scaling Laws", ICML 2025,
 * §5 Eq. 9 and App. H): FLOPs = 3F(N_S)·D_S + F(N_T)·(δ_Lgt·D_S + δ_Pre·3·D_T), where F(N) is the
 * forward FLOPs per token, and the four scenarios of Table 2 that set δ_Lgt and δ_Pre.
 *
 * @module
 */

/** The accounting scenarios of Busbridge et al., Table 2. */
export const SCENARIOS = {
  /** The teacher is free (its logits exist, its training is amortised): pick the best L_T. */
  "best-case": { logits: 0, pretraining: 0 },
  /** The teacher exists; pay for its logits on the student's tokens. */
  "teacher-inference": { logits: 1, pretraining: 0 },
  /** The teacher must be trained; its logits are stored and shared by many students. */
  "teacher-pretraining": { logits: 0, pretraining: 1 },
  /** Train the teacher and distil one student: pay for everything. */
  "teacher-pretraining+inference": { logits: 1, pretraining: 1 },
} as const;

/** One of {@link SCENARIOS}. */
export type Scenario = keyof typeof SCENARIOS;

/** Options of {@link forwardFlopsPerToken}. */
export interface FlopsShape {
  /** Context length (default 4096, the paper's). */
  nCtx?: number;
  /** Vocabulary size (default 32168). */
  nVocab?: number;
  /** Aspect ratio d_model / n_layers (default 128). */
  rho?: number;
  /** ω = 2 + 2/g_size + n_ffn·ρ_ffn (default 12). */
  omega?: number;
}

/**
 * Forward FLOPs per token of a fixed-aspect-ratio transformer with N non-embedding parameters
 * (App. H.1, Eq. 69): F(N) = 2N·(1 + σ1·n_ctx/N^(1/3) + σ2·n_vocab/N^(2/3)), with
 * σ1 = (1/(ρω²))^(1/3) and σ2 = (ρ/ω)^(1/3). At small N the context and vocabulary terms dominate.
 */
export function forwardFlopsPerToken(N: number, shape: FlopsShape = {}): number {
  const { nCtx = 4096, nVocab = 32168, rho = 128, omega = 12 } = shape;
  if (!(N > 0) || !Number.isFinite(N)) {
    throw new Error(`forwardFlopsPerToken: N must be > 0, got ${N}`);
  }
  const s1 = (1 / (rho * omega * omega)) ** (1 / 3);
  const s2 = (rho / omega) ** (1 / 3);
  return 2 * N * (1 + s1 * nCtx / N ** (1 / 3) + s2 * nVocab / N ** (2 / 3));
}

/**
 * Forward FLOPs per token of one of our GPTs, counted exactly: 2 per multiply-add of every
 * matrix (QKV, output, MLP, LM head) plus attention scores and weighted values over a causal
 * context of average length T/2 (embedding look-ups are free).
 */
export function gptForwardFlopsPerToken(
  config: { nLayer: number; dModel: number; vocabSize: number; contextLength: number },
): number {
  const { nLayer: L, dModel: d, vocabSize: V, contextLength: T } = config;
  return L * (2 * 12 * d * d + 2 * 2 * (T / 2) * d) + 2 * d * V;
}

/** Total FLOPs of distilling a student of N_S on D_S tokens from a teacher of N_T trained on D_T. */
export function distillationFlops(
  options: {
    NS: number;
    DS: number;
    NT: number;
    DT: number;
    scenario: Scenario;
    /** Forward FLOPs per token as a function of N (default 2N, the headline approximation). */
    flopsPerToken?: (N: number) => number;
  },
): number {
  const { NS, DS, NT, DT, scenario } = options;
  const F = options.flopsPerToken ?? ((N: number) => 2 * N);
  const s = SCENARIOS[scenario];
  if (!s) throw new Error(`distillationFlops: unknown scenario "${scenario}"`);
  return 3 * F(NS) * DS + F(NT) * (s.logits * DS + s.pretraining * 3 * DT);
}
