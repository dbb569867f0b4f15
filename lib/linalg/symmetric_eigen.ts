/**
 * Eigendecomposition of a real symmetric matrix in float64: Householder reduction to tridiagonal
 * form, then the implicit QL algorithm with Wilkinson-style shifts (Bowdler, Martin, Reinsch &
 * Wilkinson, "The QR and QL algorithms for symmetric matrices", Numer. Math. 11, 1968: the EISPACK
 * routines tred2/tql2, as in the public-domain JAMA package). O(n³), backward stable; a 128×128
 * covariance takes milliseconds, 1024×1024 a few seconds.
 *
 * @module
 */
import { type Matrix, matrix } from "./matrix.ts";

/** Eigenvalues (ascending) and orthonormal eigenvectors (the columns of `vectors`). */
export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** Column j is the unit eigenvector of `values[j]`. */
  vectors: Matrix;
}

/**
 * A = V·diag(λ)·Vᵀ for a symmetric A. Throws on a non-square, non-finite or asymmetric input
 * (|Aᵢⱼ − Aⱼᵢ| > 1e-10·max|A|); symmetrise first if rounding made it so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matrix, symmetricEigen } from "./mod.ts";
 * const { values } = symmetricEigen(matrix(2, 2, [2, 1, 1, 2]));
 * assert.ok(Math.abs(values[0] - 1) < 1e-12 && Math.abs(values[1] - 3) < 1e-12);
 * ```
 */
export function symmetricEigen(a: Matrix): SymmetricEigen {
  const n = a.rows;
  if (a.cols !== n) {
    throw new Error(`symmetricEigen: matrix must be square, got ${a.rows}×${a.cols}`);
  }
  if (n === 0) throw new Error("symmetricEigen: empty matrix");
  let maxAbs = 0;
  for (const v of a.data) {
    if (!Number.isFinite(v)) throw new Error("symmetricEigen: matrix has NaN or infinite entries");
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(a.data[i * n + j] - a.data[j * n + i]) > 1e-10 * maxAbs) {
        throw new Error(`symmetricEigen: matrix is not symmetric (entry ${i},${j} vs ${j},${i})`);
      }
    }
  }
  // A is symmetric, so its rows are also its columns: w starts as A and ends as Vᵀ.
  const w = Array.from(
    { length: n },
    (_, i) => Float64Array.from(a.data.subarray(i * n, (i + 1) * n)),
  );
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // Eigenvectors are kept as rows of w throughout, so the Householder updates and the QL
  // rotations run over contiguous memory (about 3× faster than column access at n = 1024).
  tridiagonalize(w, d, e);
  diagonalize(w, d, e);
  // Sort ascending, moving eigenvectors along.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = matrix(n, n);
  for (let c = 0; c < n; c++) {
    const vec = w[order[c]];
    for (let r = 0; r < n; r++) vectors.data[r * n + c] = vec[r];
  }
  return { values, vectors };
}

/**
 * Householder reduction of the symmetric matrix in `u` (in place) to tridiagonal d (diagonal), e
 * (sub-diagonal), leaving the accumulated transformation transposed in `u` (row i = column i of V).
 * EISPACK's tred2 written on the transpose, so every inner loop runs along a row.
 */
function tridiagonalize(u: Float64Array[], d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let j = 0; j < n; j++) d[j] = u[j][n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = u[j][i - 1];
        u[j][i] = 0;
        u[i][j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        u[i][j] = f;
        g = e[j] + u[j][j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += u[j][k] * d[k];
          e[k] += u[j][k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) u[j][k] -= f * e[k] + g * d[k];
        d[j] = u[j][i - 1];
        u[j][i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    u[i][n - 1] = u[i][i];
    u[i][i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = u[i + 1][k] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += u[i + 1][k] * u[j][k];
        for (let k = 0; k <= i; k++) u[j][k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) u[i + 1][k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = u[j][n - 1];
    u[j][n - 1] = 0;
  }
  u[n - 1][n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e), accumulating rotations into W = Vᵀ (row i = vector i). */
function diagonalize(w: Float64Array[], d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 60) throw new Error("symmetricEigen: QL iteration did not converge");
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const wi = w[i];
          const wj = w[i + 1];
          for (let k = 0; k < n; k++) {
            h = wj[k];
            wj[k] = s * wi[k] + c * h;
            wi[k] = c * wi[k] - s * h;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
