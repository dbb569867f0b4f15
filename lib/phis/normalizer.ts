/**
 * Feature normalisers for multi-teacher distillation, after Ranzinger et al., "PHI-S: Distribution
 * Balancing for Label-Free Multi-Teacher Distillation" (arXiv 2410.01680). Each is an invertible
 * affine map y′ = W·(y − μ) fitted on one teacher's features; the student regresses y′ with MSE,
 * and y = Θ·y′ + μ (Θ = W⁻¹) maps its predictions back to teacher space (App. A.6).
 *
 * | kind          | W                      | Θ                     | paper        |
 * |---------------|------------------------|-----------------------|--------------|
 * | `none`        | I (μ = 0)              | I                     | eq. 1        |
 * | `global-std`  | I/σ_g (μ = μ_g·1)      | σ_g·I                 | eq. 5        |
 * | `per-dim-std` | diag(1/σ_c)            | diag(σ_c)             | eq. 6        |
 * | `pca-whiten`  | Λ^-½·Uᵀ                | U·Λ^½                 | eq. 10       |
 * | `zca-whiten`  | U·Λ^-½·Uᵀ              | U·Λ^½·Uᵀ              | eq. 11       |
 * | `hca`         | H·Λ^-½·Uᵀ              | U·Λ^½·Hᵀ              | eq. 12       |
 * | `phi-s`       | α·H·Uᵀ, α = (mean λ)^-½ | (1/α)·U·Hᵀ            | eq. 22–26    |
 *
 * Σ = U·Λ·Uᵀ is the features' covariance and H the normalised Hadamard matrix of the width
 * ({@link hadamard}). PHI-S gives every output channel variance exactly 1 (Theorem 2.1) with one
 * scalar gain, so it never divides by a tiny eigenvalue; the whitening kinds and `per-dim-std` do,
 * so eigenvalues/variances below `eigenFloor × mean` are raised to that floor, with a warning.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  identity,
  type Matrix,
  matrix,
  multiply,
  symmetricEigen,
  transpose,
} from "../linalg/mod.ts";
import { featureMatrix, FeatureMoments, type FeatureRows } from "./feature_moments.ts";
import { hadamard, hadamardConstruction } from "./hadamard.ts";

/** The normalisers compared in the PHI-S paper (Tab. 1), by name. */
export const NORMALIZER_KINDS = [
  "none",
  "global-std",
  "per-dim-std",
  "pca-whiten",
  "zca-whiten",
  "hca",
  "phi-s",
] as const;

/** One of {@link NORMALIZER_KINDS}. */
export type NormalizerKind = typeof NORMALIZER_KINDS[number];

/** Options of {@link fitNormalizer}. */
export interface NormalizerOptions {
  /**
   * Whitening and `per-dim-std`: eigenvalues (variances) below `eigenFloor × mean eigenvalue` are
   * raised to it before inverting (default 1e-6, the floor of NVIDIA TAO's covariance whitening).
   */
  eigenFloor?: number;
  /**
   * PHI-S and HCA: use this orthogonal matrix instead of the Hadamard matrix. An ablation only:
   * a random orthogonal matrix (the reference code's silent fallback) loses the equal-variance
   * property.
   */
  rotation?: Matrix;
  /** Where warnings (floored eigenvalues) go (default `console.warn`). */
  onWarning?: (message: string) => void;
}

/** A fitted normaliser as JSON. */
export interface NormalizerState {
  /** Which normaliser. */
  kind: NormalizerKind;
  /** Feature width. */
  width: number;
  /** μ, the mean the normaliser subtracts. */
  mean: number[];
  /** W, row-major. */
  forward: number[];
  /** Θ = W⁻¹, row-major. */
  inverse: number[];
  /** Eigenvalues of the fitted covariance (ascending, clamped at 0), for the eigen kinds. */
  eigenvalues?: number[];
  /** PHI-S's α or 1/σ_g for `global-std`. */
  alpha?: number;
  /** Rows the statistics came from. */
  count: number;
  /** What the fit noticed (e.g. a clamped negative eigenvalue). */
  warnings: string[];
}

/** A fitted, frozen normaliser; see the module doc. */
export class Normalizer {
  /** Which normaliser. */
  readonly kind: NormalizerKind;
  /** Feature width. */
  readonly width: number;
  /** μ, the mean subtracted before W. */
  readonly mean: Float64Array;
  /** W: y′ = W·(y − μ). */
  readonly forwardMatrix: Matrix;
  /** Θ: y = Θ·y′ + μ. */
  readonly inverseMatrix: Matrix;
  /** Eigenvalues of the fitted covariance (ascending, clamped at 0), for the eigen kinds. */
  readonly eigenvalues?: Float64Array;
  /** PHI-S's α or 1/σ_g for `global-std`. */
  readonly alpha?: number;
  /** Rows the statistics came from. */
  readonly count: number;
  /** What the fit noticed (e.g. a clamped negative eigenvalue). */
  readonly warnings: string[];
  #tensors?: { mean: tf.Tensor1D; forwardT: tf.Tensor2D; inverseT: tf.Tensor2D };

  /** A normaliser from its state (see {@linkcode fitNormalizer} to fit one). */
  constructor(state: NormalizerState) {
    const c = state.width;
    if (!NORMALIZER_KINDS.includes(state.kind)) {
      throw new Error(
        `Normalizer: unknown kind "${state.kind}"; expected one of ${NORMALIZER_KINDS.join(", ")}`,
      );
    }
    if (
      state.mean.length !== c || state.forward.length !== c * c || state.inverse.length !== c * c
    ) {
      throw new Error(`Normalizer: state arrays do not match width ${c}`);
    }
    this.kind = state.kind;
    this.width = c;
    this.mean = Float64Array.from(state.mean);
    this.forwardMatrix = matrix(c, c, state.forward);
    this.inverseMatrix = matrix(c, c, state.inverse);
    this.eigenvalues = state.eigenvalues ? Float64Array.from(state.eigenvalues) : undefined;
    this.alpha = state.alpha;
    this.count = state.count;
    this.warnings = [...state.warnings];
  }

  /** Restores {@link state}'s output. */
  static load(state: NormalizerState): Normalizer {
    return new Normalizer(state);
  }

  /** JSON-able state (save it with the student: the map must stay frozen). */
  state(): NormalizerState {
    return {
      kind: this.kind,
      width: this.width,
      mean: Array.from(this.mean),
      forward: Array.from(this.forwardMatrix.data),
      inverse: Array.from(this.inverseMatrix.data),
      ...(this.eigenvalues ? { eigenvalues: Array.from(this.eigenvalues) } : {}),
      ...(this.alpha !== undefined ? { alpha: this.alpha } : {}),
      count: this.count,
      warnings: this.warnings,
    };
  }

  #constants() {
    return this.#tensors ??= tf.tidy(() => ({
      mean: tf.keep(tf.tensor1d(Float32Array.from(this.mean))),
      forwardT: tf.keep(
        tf.tensor2d(Float32Array.from(transpose(this.forwardMatrix).data), [
          this.width,
          this.width,
        ]),
      ),
      inverseT: tf.keep(
        tf.tensor2d(Float32Array.from(transpose(this.inverseMatrix).data), [
          this.width,
          this.width,
        ]),
      ),
    }));
  }

  #checkTensor(x: tf.Tensor, who: string): void {
    if (x.rank !== 2 || x.shape[1] !== this.width) {
      throw new Error(`${who}: expected a [N, ${this.width}] tensor, got [${x.shape}]`);
    }
    if (x.shape[0] === 0) throw new Error(`${who}: empty batch`);
  }

  /** y′ = W·(y − μ) for each row (float64 rows, or a float32 tensor [N, width]). */
  forward(rows: FeatureRows): Matrix;
  /** y′ = W·(y − μ) for each row of a float32 tensor [N, width], on its backend. */
  forward(rows: tf.Tensor2D): tf.Tensor2D;
  forward(rows: FeatureRows | tf.Tensor2D): Matrix | tf.Tensor2D {
    if (rows instanceof tf.Tensor) {
      this.#checkTensor(rows, `Normalizer(${this.kind}).forward`);
      const k = this.#constants();
      return tf.tidy(() => tf.matMul(tf.sub(rows, k.mean), k.forwardT));
    }
    const x = featureMatrix(rows, `Normalizer(${this.kind}).forward`, this.width);
    const centred = matrix(x.rows, x.cols, x.data.map((v, i) => v - this.mean[i % this.width]));
    return multiply(centred, transpose(this.forwardMatrix));
  }

  /** y = Θ·y′ + μ for each row. */
  inverse(rows: FeatureRows): Matrix;
  /** y = Θ·y′ + μ for each row of a float32 tensor [N, width], on its backend. */
  inverse(rows: tf.Tensor2D): tf.Tensor2D;
  inverse(rows: FeatureRows | tf.Tensor2D): Matrix | tf.Tensor2D {
    if (rows instanceof tf.Tensor) {
      this.#checkTensor(rows, `Normalizer(${this.kind}).inverse`);
      const k = this.#constants();
      return tf.tidy(() => tf.add(tf.matMul(rows, k.inverseT), k.mean));
    }
    const x = featureMatrix(rows, `Normalizer(${this.kind}).inverse`, this.width);
    const out = multiply(x, transpose(this.inverseMatrix));
    for (let i = 0; i < out.data.length; i++) out.data[i] += this.mean[i % this.width];
    return out;
  }

  /**
   * Folds the inverse into a head's final linear layer y′ = h·K + b (K: [in, width], tfjs
   * layout): returns K·Θᵀ and b·Θᵀ + μ, so the folded head predicts teacher-space features
   * directly (paper App. A.6, eq. 39–44). Computed in float64 for matrices; for tensors, on their
   * backend in float32 (no readback, so it works on webgpu too).
   */
  foldIntoLinear(kernel: Matrix, bias: ArrayLike<number>): { kernel: Matrix; bias: Float64Array };
  /** The same fold for tensors, on their backend in float32. */
  foldIntoLinear(
    kernel: tf.Tensor2D,
    bias: tf.Tensor1D,
  ): { kernel: tf.Tensor2D; bias: tf.Tensor1D };
  foldIntoLinear(
    kernel: Matrix | tf.Tensor2D,
    bias: ArrayLike<number> | tf.Tensor1D,
  ): { kernel: Matrix | tf.Tensor2D; bias: Float64Array | tf.Tensor1D } {
    const [rows, cols] = kernel instanceof tf.Tensor ? kernel.shape : [kernel.rows, kernel.cols];
    const width = bias instanceof tf.Tensor ? bias.size : bias.length;
    if (
      cols !== this.width || width !== this.width ||
      (kernel instanceof tf.Tensor) !== (bias instanceof tf.Tensor)
    ) {
      throw new Error(
        `Normalizer.foldIntoLinear: kernel must be [in, ${this.width}] and bias [${this.width}], ` +
          `both tensors or both host arrays; got [${rows}, ${cols}] and [${width}]`,
      );
    }
    if (kernel instanceof tf.Tensor) {
      const { inverseT, mean } = this.#constants();
      return tf.tidy(() => ({
        kernel: tf.matMul(kernel, inverseT) as tf.Tensor2D,
        bias: tf.add(tf.matMul(tf.reshape(bias as tf.Tensor1D, [1, this.width]), inverseT), mean)
          .reshape([this.width]) as tf.Tensor1D,
      }));
    }
    const thetaT = transpose(this.inverseMatrix);
    const newBias = multiply(matrix(1, this.width, bias as ArrayLike<number>), thetaT).data
      .map((v, i) => v + this.mean[i]);
    return { kernel: multiply(kernel, thetaT), bias: newBias };
  }

  /** ‖W‖₂: the largest factor by which a teacher-space deviation is amplified in targets. */
  gain(): number {
    const wtw = multiply(transpose(this.forwardMatrix), this.forwardMatrix);
    const values = symmetricEigen(wtw).values;
    return Math.sqrt(Math.max(0, values[values.length - 1]));
  }

  /** Frees the cached tensor constants (the float64 state stays usable). */
  dispose(): void {
    if (this.#tensors) tf.dispose(Object.values(this.#tensors));
    this.#tensors = undefined;
  }
}

type Source = FeatureRows | FeatureMoments | Iterable<FeatureRows>;

/**
 * The eigendecomposition of a covariance; should the QL iteration fail to converge, it is retried
 * on Σ + j·s·I for j in 1e-8, 1e-6, 1e-4 (s = mean variance), with a warning (NVIDIA TAO's later
 * PHI-S code does the same around `torch.linalg.eigh`).
 */
function eigenWithJitter(cov: Matrix, scale: number, note: (m: string) => void) {
  try {
    return symmetricEigen(cov);
  } catch (error) {
    const c = cov.rows;
    for (const jitter of [1e-8, 1e-6, 1e-4]) {
      const shifted = matrix(c, c, cov.data);
      for (let i = 0; i < c; i++) shifted.data[i * c + i] += jitter * scale;
      try {
        const out = symmetricEigen(shifted);
        note(
          `eigendecomposition failed (${(error as Error).message}); retried with jitter ${jitter}`,
        );
        return out;
      } catch {
        // try a larger jitter
      }
    }
    throw error;
  }
}

function isRows(x: unknown): x is FeatureRows {
  if (typeof x !== "object" || x === null) return false;
  if ("data" in x && "rows" in x && "cols" in x) return true;
  if (!Array.isArray(x)) return false;
  const first = x[0] as unknown;
  return x.length === 0 || ArrayBuffer.isView(first) ||
    (Array.isArray(first) && (first.length === 0 || typeof first[0] === "number"));
}

function momentsOf(source: Source): FeatureMoments {
  if (source instanceof FeatureMoments) return source;
  if (isRows(source)) {
    const x = featureMatrix(source, "fitNormalizer");
    return new FeatureMoments(x.cols).update(x);
  }
  let m: FeatureMoments | undefined;
  for (const batch of source as Iterable<FeatureRows>) {
    const x = featureMatrix(batch, "fitNormalizer (batch)", m?.width);
    (m ??= new FeatureMoments(x.cols)).update(x);
  }
  if (!m) throw new Error("fitNormalizer: the batch stream was empty");
  return m;
}

/**
 * Fits a normaliser of `kind` on feature rows, a stream (iterable) of row batches, or
 * accumulated {@link FeatureMoments}. Needs at least 2 rows; throws on non-finite values,
 * ragged rows, constant features, or (PHI-S, HCA) a width with no Hadamard matrix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitNormalizer } from "./normalizer.ts";
 * const rows = Array.from({ length: 64 }, (_, i) => [Math.sin(i), 10 * Math.cos(i), i % 3, 1]);
 * const phis = fitNormalizer("phi-s", rows); // a constant channel is fine: no division by it
 * const y = phis.forward(rows);
 * for (let c = 0; c < 4; c++) { // every column has variance 1 (divisor n − 1, as the fit's)
 *   const column = Array.from({ length: 64 }, (_, r) => y.data[4 * r + c]);
 *   const mean = column.reduce((a, b) => a + b) / 64;
 *   const variance = column.reduce((s, v) => s + (v - mean) ** 2, 0) / 63;
 *   assert.ok(Math.abs(variance - 1) < 1e-9);
 * }
 * ```
 */
export function fitNormalizer(
  kind: NormalizerKind,
  source: Source,
  options: NormalizerOptions = {},
): Normalizer {
  if (!NORMALIZER_KINDS.includes(kind)) {
    throw new Error(
      `fitNormalizer: unknown kind "${kind}"; expected one of ${NORMALIZER_KINDS.join(", ")}`,
    );
  }
  const floorFactor = options.eigenFloor ?? 1e-6;
  if (!(floorFactor >= 0)) {
    throw new Error(`fitNormalizer: eigenFloor must be ≥ 0, got ${floorFactor}`);
  }
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const warnings: string[] = [];
  const note = (message: string) => {
    warnings.push(message);
    warn(`fitNormalizer(${kind}): ${message}`);
  };
  const moments = momentsOf(source);
  const c = moments.width;
  const count = moments.count;
  if (count < 2) {
    throw new Error(`fitNormalizer: needs at least 2 rows to estimate a covariance, got ${count}`);
  }
  const base = { kind, width: c, count, warnings };
  if (kind === "none") {
    const i = Array.from(identity(c).data);
    return new Normalizer({ ...base, mean: new Array(c).fill(0), forward: i, inverse: i });
  }
  const cov = moments.covariance();
  const diag = Array.from({ length: c }, (_, j) => cov.data[j * c + j]);
  const meanVariance = diag.reduce((s, v) => s + v, 0) / c;
  if (!(meanVariance > 0)) {
    throw new Error(
      `fitNormalizer(${kind}): the features are constant (zero variance); nothing to normalise`,
    );
  }
  if (kind === "global-std") {
    const mu = moments.mean.reduce((s, v) => s + v, 0) / c;
    const spread = moments.mean.reduce((s, v) => s + (v - mu) ** 2, 0) / c;
    const sigma = Math.sqrt(meanVariance + spread);
    return new Normalizer({
      ...base,
      mean: new Array(c).fill(mu),
      forward: Array.from(identity(c, 1 / sigma).data),
      inverse: Array.from(identity(c, sigma).data),
      alpha: 1 / sigma,
    });
  }
  if (kind === "per-dim-std") {
    const floor = floorFactor * meanVariance;
    const low = diag.filter((v) => v < floor).length;
    if (low > 0) {
      note(`${low} of ${c} channels have variance below ${floor.toExponential(2)}; raised to it`);
    }
    const sigma = diag.map((v) => Math.sqrt(Math.max(v, floor)));
    const forward = matrix(c, c);
    const inverse = matrix(c, c);
    sigma.forEach((s, j) => {
      forward.data[j * c + j] = 1 / s;
      inverse.data[j * c + j] = s;
    });
    return new Normalizer({
      ...base,
      mean: Array.from(moments.mean),
      forward: Array.from(forward.data),
      inverse: Array.from(inverse.data),
    });
  }
  const { values, vectors: u } = eigenWithJitter(cov, meanVariance, note);
  const lambda = values.map((v) => Math.max(v, 0));
  const meanLambda = lambda.reduce((s, v) => s + v, 0) / c;
  const ut = transpose(u);
  const rotation = () => {
    if (options.rotation) {
      if (options.rotation.rows !== c || options.rotation.cols !== c) {
        throw new Error(`fitNormalizer: rotation must be ${c}×${c}`);
      }
      return options.rotation;
    }
    if (!hadamardConstruction(c)) {
      throw new Error(
        `fitNormalizer(${kind}): no Hadamard matrix of order ${c} (the feature width) can be built; ` +
          "project the features to a width listed by hadamardOrders(), or pass options.rotation",
      );
    }
    return hadamard(c);
  };
  const rows = (m: Matrix, scales: ArrayLike<number>) =>
    matrix(m.rows, m.cols, m.data.map((v, i) => v * scales[Math.floor(i / m.cols)]));
  const cols = (m: Matrix, scales: ArrayLike<number>) =>
    matrix(m.rows, m.cols, m.data.map((v, i) => v * scales[i % m.cols]));
  let forward: Matrix;
  let inverse: Matrix;
  let alpha: number | undefined;
  if (kind === "phi-s") {
    const h = rotation();
    alpha = 1 / Math.sqrt(meanLambda);
    forward = multiply(h, ut);
    forward = matrix(c, c, forward.data.map((v) => v * alpha!));
    inverse = matrix(c, c, multiply(u, transpose(h)).data.map((v) => v / alpha!));
  } else {
    const floor = floorFactor * meanLambda;
    const low = lambda.filter((v) => v < floor).length;
    if (low > 0) {
      note(
        `covariance is rank-deficient or ill-conditioned: ${low} of ${c} eigenvalues below ` +
          `${floor.toExponential(2)} (eigenFloor × mean) were raised to it` +
          (count <= c ? ` (only ${count} rows for width ${c})` : ""),
      );
    }
    const root = lambda.map((v) => Math.sqrt(Math.max(v, floor)));
    const invRoot = root.map((v) => 1 / v);
    const pca = rows(ut, invRoot); // Λ^-½·Uᵀ
    const pcaInverse = cols(u, root); // U·Λ^½
    if (kind === "pca-whiten") {
      forward = pca;
      inverse = pcaInverse;
    } else if (kind === "zca-whiten") {
      forward = multiply(u, pca);
      inverse = multiply(pcaInverse, ut);
    } else {
      const h = rotation();
      forward = multiply(h, pca);
      inverse = multiply(pcaInverse, transpose(h));
    }
  }
  return new Normalizer({
    ...base,
    mean: Array.from(moments.mean),
    forward: Array.from(forward.data),
    inverse: Array.from(inverse.data),
    eigenvalues: Array.from(lambda),
    ...(alpha !== undefined ? { alpha } : {}),
  });
}
