/**
 * Dense float64 matrices, row-major: the small amount of host linear algebra that feature
 * statistics and normalisers need (no tensors, exact enough to test against).
 *
 * @module
 */

/** A dense `rows × cols` float64 matrix stored row-major in `data`. */
export interface Matrix {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** Entries, row-major (`data[i·cols + j]`). */
  readonly data: Float64Array;
}

/** A zero matrix, or one over `data` (copied) when given. */
export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`matrix: rows and cols must be non-negative integers, got ${rows}×${cols}`);
  }
  const out = new Float64Array(rows * cols);
  if (data) {
    if (data.length !== rows * cols) {
      throw new Error(
        `matrix: data must have ${rows}×${cols} = ${rows * cols} values, got ${data.length}`,
      );
    }
    out.set(data);
  }
  return { rows, cols, data: out };
}

/** A matrix from an array of equal-length rows; `who` names the caller in errors. */
export function fromRows(rows: ArrayLike<number>[], who = "fromRows"): Matrix {
  if (rows.length === 0) throw new Error(`${who}: no rows`);
  const cols = rows[0].length;
  const out = matrix(rows.length, cols);
  rows.forEach((row, i) => {
    if (row.length !== cols) {
      throw new Error(`${who}: ragged rows: row 0 has ${cols} values, row ${i} has ${row.length}`);
    }
    out.data.set(row, i * cols);
  });
  return out;
}

/** Rows as arrays (for display and JSON). */
export function toRows(a: Matrix): number[][] {
  return Array.from(
    { length: a.rows },
    (_, i) => Array.from(a.data.subarray(i * a.cols, (i + 1) * a.cols)),
  );
}

/** The n×n identity, optionally times `scale`. */
export function identity(n: number, scale = 1): Matrix {
  const out = matrix(n, n);
  for (let i = 0; i < n; i++) out.data[i * n + i] = scale;
  return out;
}

/** A diagonal matrix. */
export function diagonal(values: ArrayLike<number>): Matrix {
  const n = values.length;
  const out = matrix(n, n);
  for (let i = 0; i < n; i++) out.data[i * n + i] = values[i];
  return out;
}

/** Aᵀ. */
export function transpose(a: Matrix): Matrix {
  const out = matrix(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j];
  }
  return out;
}

/** A·B (i-k-j loop order, so the inner loop runs along rows). */
export function multiply(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) {
    throw new Error(`multiply: inner sizes differ: ${a.rows}×${a.cols} · ${b.rows}×${b.cols}`);
  }
  const out = matrix(a.rows, b.cols);
  const n = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const row = out.data.subarray(i * n, (i + 1) * n);
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k];
      if (aik === 0) continue;
      const bk = b.data.subarray(k * n, (k + 1) * n);
      for (let j = 0; j < n; j++) row[j] += aik * bk[j];
    }
  }
  return out;
}

/**
 * The columns of A made orthonormal in order (modified Gram–Schmidt): column j of the result spans
 * what columns 0..j of A span. With A square and Gaussian, a random rotation.
 *
 * @throws Error when a column is (to 1e-12 of its norm) a combination of the ones before it.
 */
export function orthonormalColumns(a: Matrix): Matrix {
  const { rows: n, cols } = a;
  const q = matrix(n, cols);
  for (let j = 0; j < cols; j++) {
    const col = Array.from({ length: n }, (_, i) => a.data[i * cols + j]);
    const before = Math.hypot(...col);
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += col[i] * q.data[i * cols + k];
      for (let i = 0; i < n; i++) col[i] -= dot * q.data[i * cols + k];
    }
    const norm = Math.hypot(...col);
    if (!(norm > 1e-12 * before)) {
      throw new Error(`orthonormalColumns: column ${j} depends on the ones before it`);
    }
    for (let i = 0; i < n; i++) q.data[i * cols + j] = col[i] / norm;
  }
  return q;
}

/** s·A. */
export function scale(a: Matrix, s: number): Matrix {
  return { rows: a.rows, cols: a.cols, data: a.data.map((v) => v * s) };
}

/** The Kronecker product A ⊗ B. */
export function kronecker(a: Matrix, b: Matrix): Matrix {
  const out = matrix(a.rows * b.rows, a.cols * b.cols);
  const cols = out.cols;
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      const aij = a.data[i * a.cols + j];
      for (let k = 0; k < b.rows; k++) {
        const base = (i * b.rows + k) * cols + j * b.cols;
        for (let l = 0; l < b.cols; l++) out.data[base + l] = aij * b.data[k * b.cols + l];
      }
    }
  }
  return out;
}

/** max |A − B| over entries (shapes must match). */
export function maxAbsDifference(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new Error(`maxAbsDifference: shapes differ: ${a.rows}×${a.cols} vs ${b.rows}×${b.cols}`);
  }
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}
