/**
 * Host linear algebra in float64: dense matrices and the symmetric eigendecomposition that
 * feature normalisers (PCA/ZCA whitening, PHI-S) are built on.
 *
 * @example A covariance's eigendecomposition rebuilds it: Σ = U·diag(λ)·Uᵀ
 * ```ts
 * import assert from "node:assert/strict";
 * import { diagonal, matrix, maxAbsDifference, multiply, symmetricEigen, transpose } from "./mod.ts";
 *
 * const sigma = matrix(3, 3, [4, 1, 0, 1, 3, 1, 0, 1, 2]);
 * const { values, vectors } = symmetricEigen(sigma); // ascending eigenvalues, vectors as columns
 * assert.ok(Math.abs(values[0] + values[1] + values[2] - 9) < 1e-12); // the trace
 * const rebuilt = multiply(multiply(vectors, diagonal(values)), transpose(vectors));
 * assert.ok(maxAbsDifference(rebuilt, sigma) < 1e-12);
 * assert.ok(maxAbsDifference(multiply(transpose(vectors), vectors), diagonal([1, 1, 1])) < 1e-12);
 * ```
 *
 * @module
 */
export * from "./matrix.ts";
export * from "./symmetric_eigen.ts";
