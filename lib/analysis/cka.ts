/**
 * Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton, ICML 2019, "Similarity of
 * Neural Network Representations Revisited", Eq. 5 in its feature-space form): for two
 * representations of the same n examples, X `[n, p]` and Y `[n, q]`, with columns centred,
 * CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F·‖YᵀY‖_F) ∈ [0, 1]. It is invariant to orthogonal transforms and
 * isotropic scaling of either representation (not to arbitrary invertible maps) and compares
 * representations of different widths, so it says how alike a student's features are to its
 * teacher's. Computed in float64 on the host, in O(n·(p² + q² + pq)).
 *
 * @module
 */

/** Column-centred copy of a row-major `[n, d]` matrix, in float64. */
function centredColumns(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const out = Float64Array.from(x);
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += out[i * d + j];
    mean /= n;
    for (let i = 0; i < n; i++) out[i * d + j] -= mean;
  }
  return out;
}

/** ‖AᵀB‖²_F for row-major A `[n, p]` and B `[n, q]`. */
function crossFrobeniusSquared(a: Float64Array, p: number, b: Float64Array, q: number, n: number) {
  const product = new Float64Array(p * q);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const aij = a[i * p + j];
      if (aij === 0) continue;
      const row = j * q;
      for (let k = 0; k < q; k++) product[row + k] += aij * b[i * q + k];
    }
  }
  return product.reduce((s, v) => s + v * v, 0);
}

/**
 * Linear CKA between row-major representations `x` `[n, p]` and `y` `[n, q]` of the same n ≥ 2
 * examples. Throws on mismatched sizes, non-finite values, or a constant representation (its
 * centred features are all zero, so CKA is undefined).
 */
export function linearCKA(
  x: ArrayLike<number>,
  p: number,
  y: ArrayLike<number>,
  q: number,
): number {
  for (const [name, v, d] of [["x", x, p], ["y", y, q]] as const) {
    if (!(Number.isInteger(d) && d >= 1) || v.length % d !== 0) {
      throw new Error(`linearCKA: ${name} must be [n, ${d}] row-major, got ${v.length} values`);
    }
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) {
        throw new Error(
          `linearCKA: ${name} holds a non-finite value (${v[i]}) at row ${Math.floor(i / d)}`,
        );
      }
    }
  }
  const n = x.length / p;
  if (y.length / q !== n) {
    throw new Error(
      `linearCKA: x and y must describe the same examples, got ${n} and ${y.length / q} rows`,
    );
  }
  if (n < 2) throw new Error(`linearCKA: needs at least 2 examples, got ${n}`);
  const cx = centredColumns(x, n, p), cy = centredColumns(y, n, q);
  const xx = crossFrobeniusSquared(cx, p, cx, p, n);
  const yy = crossFrobeniusSquared(cy, q, cy, q, n);
  if (xx === 0 || yy === 0) {
    throw new Error(
      `linearCKA: ${xx === 0 ? "x" : "y"} is constant over the examples (CKA is undefined)`,
    );
  }
  return crossFrobeniusSquared(cy, q, cx, p, n) / Math.sqrt(xx * yy);
}
