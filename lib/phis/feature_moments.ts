/**
 * Streaming, mergeable first and second moments of feature vectors in float64: the statistics
 * every normaliser is fitted from. Batches (or shards computed elsewhere) are combined with the
 * pairwise update of Chan, Golub & LeVeque ("Updating formulae and a pairwise algorithm for
 * computing sample variances", 1979): for parts a, b with means m_a, m_b, counts n_a, n_b and
 * co-moments M_a, M_b, δ = m_b − m_a gives M = M_a + M_b + δδᵀ·n_a·n_b/n and
 * m = m_a + δ·n_b/n. This is what NVIDIA TAO's `WhitenNormState` accumulates for PHI-S.
 *
 * @module
 */
import { type Matrix, matrix } from "../linalg/mod.ts";

/** Feature rows: a {@link Matrix} (one row per vector) or an array of equal-length rows. */
export type FeatureRows = Matrix | ArrayLike<number>[];

/** Rows as a matrix, validated: non-empty, not ragged, finite, of `width` columns when given. */
export function featureMatrix(rows: FeatureRows, who: string, width?: number): Matrix {
  let m: Matrix;
  if ("data" in rows && "rows" in rows && "cols" in rows) m = rows as Matrix;
  else {
    const list = rows as ArrayLike<number>[];
    if (list.length === 0) throw new Error(`${who}: empty batch (no rows)`);
    const cols = list[0].length;
    m = matrix(list.length, cols);
    for (let i = 0; i < list.length; i++) {
      if (list[i].length !== cols) {
        throw new Error(
          `${who}: ragged rows: row 0 has ${cols} values, row ${i} has ${list[i].length}`,
        );
      }
      m.data.set(list[i], i * cols);
    }
  }
  if (m.rows === 0) throw new Error(`${who}: empty batch (no rows)`);
  if (width !== undefined && m.cols !== width) {
    throw new Error(`${who}: rows must have width ${width}, got ${m.cols}`);
  }
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      throw new Error(
        `${who}: non-finite value ${m.data[i]} at row ${Math.floor(i / m.cols)}, column ${
          i % m.cols
        }`,
      );
    }
  }
  return m;
}

/** JSON form of {@link FeatureMoments}. */
export interface FeatureMomentsState {
  /** Feature width. */
  width: number;
  /** Rows accumulated. */
  count: number;
  /** Mean of the rows. */
  mean: number[];
  /** Σ (x − mean)(x − mean)ᵀ, row-major. */
  comoment: number[];
}

/** Count, mean and co-moment of feature vectors of one width. */
export class FeatureMoments {
  /** Feature width. */
  readonly width: number;
  /** Rows accumulated. */
  count = 0;
  /** Mean of the rows. */
  readonly mean: Float64Array;
  /** Σ (x − mean)(x − mean)ᵀ, row-major width × width. */
  readonly comoment: Float64Array;

  /** Empty statistics for vectors of `width` features. */
  constructor(width: number) {
    if (!Number.isInteger(width) || width < 1) {
      throw new Error(`FeatureMoments: width must be a positive integer, got ${width}`);
    }
    this.width = width;
    this.mean = new Float64Array(width);
    this.comoment = new Float64Array(width * width);
  }

  /** Moments of a distribution given by its mean and covariance (divisor count − 1). */
  static fromCovariance(
    mean: ArrayLike<number>,
    covariance: Matrix,
    count: number,
  ): FeatureMoments {
    const c = mean.length;
    if (covariance.rows !== c || covariance.cols !== c) {
      throw new Error(
        `FeatureMoments.fromCovariance: covariance must be ${c}×${c}, got ${covariance.rows}×${covariance.cols}`,
      );
    }
    if (!(Number.isInteger(count) && count >= 2)) {
      throw new Error(`FeatureMoments.fromCovariance: count must be an integer ≥ 2, got ${count}`);
    }
    const m = new FeatureMoments(c);
    m.count = count;
    m.mean.set(mean);
    for (let i = 0; i < c * c; i++) m.comoment[i] = covariance.data[i] * (count - 1);
    return m;
  }

  /** Adds a batch of rows. */
  update(rows: FeatureRows): this {
    const x = featureMatrix(rows, "FeatureMoments.update", this.width);
    const c = this.width;
    const part = new FeatureMoments(c);
    part.count = x.rows;
    for (let r = 0; r < x.rows; r++) {
      for (let j = 0; j < c; j++) part.mean[j] += x.data[r * c + j];
    }
    for (let j = 0; j < c; j++) part.mean[j] /= x.rows;
    const centred = new Float64Array(c);
    for (let r = 0; r < x.rows; r++) {
      for (let j = 0; j < c; j++) centred[j] = x.data[r * c + j] - part.mean[j];
      for (let i = 0; i < c; i++) {
        const ci = centred[i];
        if (ci === 0) continue;
        const row = i * c;
        for (let j = i; j < c; j++) part.comoment[row + j] += ci * centred[j];
      }
    }
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < i; j++) part.comoment[i * c + j] = part.comoment[j * c + i];
    }
    return this.merge(part);
  }

  /** Merges another part's moments into this one (Chan et al.'s pairwise update). */
  merge(other: FeatureMoments): this {
    if (other.width !== this.width) {
      throw new Error(`FeatureMoments.merge: widths differ: ${this.width} vs ${other.width}`);
    }
    if (other.count === 0) return this;
    const n = this.count + other.count;
    const c = this.width;
    const delta = Float64Array.from(other.mean, (m, j) => m - this.mean[j]);
    const w = this.count * other.count / n;
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        this.comoment[i * c + j] += other.comoment[i * c + j] + delta[i] * delta[j] * w;
      }
    }
    for (let j = 0; j < c; j++) this.mean[j] += delta[j] * other.count / n;
    this.count = n;
    return this;
  }

  /** The sample covariance (divisor count − 1), exactly symmetric. */
  covariance(): Matrix {
    if (this.count < 2) {
      throw new Error(`FeatureMoments.covariance: needs at least 2 rows, has ${this.count}`);
    }
    const c = this.width;
    const out = matrix(c, c);
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        out.data[i * c + j] = (this.comoment[i * c + j] + this.comoment[j * c + i]) / 2 /
          (this.count - 1);
      }
    }
    return out;
  }

  /** JSON-able state. */
  toJSON(): FeatureMomentsState {
    return {
      width: this.width,
      count: this.count,
      mean: Array.from(this.mean),
      comoment: Array.from(this.comoment),
    };
  }

  /** Restores {@link toJSON}'s output. */
  static fromJSON(state: FeatureMomentsState): FeatureMoments {
    const m = new FeatureMoments(state.width);
    if (state.mean.length !== state.width || state.comoment.length !== state.width ** 2) {
      throw new Error("FeatureMoments.fromJSON: mean/comoment lengths do not match width");
    }
    m.count = state.count;
    m.mean.set(state.mean);
    m.comoment.set(state.comoment);
    return m;
  }
}
