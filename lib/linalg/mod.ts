/**
 * Host linear algebra in float64: dense matrices and the symmetric eigendecomposition that
 * feature normalisers (PCA/ZCA whitening, PHI-S) are built on.
 *
 * @module
 */
export * from "./matrix.ts";
export * from "./symmetric_eigen.ts";
