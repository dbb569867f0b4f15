import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import {
  identity,
  type Matrix,
  matrix,
  maxAbsDifference,
  multiply,
  orthonormalColumns,
  transpose,
} from "./matrix.ts";
import { symmetricEigen } from "./symmetric_eigen.ts";

/** Independent reference: cyclic Jacobi rotations (Golub & Van Loan, Alg. 8.5.3). Values only. */
function jacobiEigenvalues(a: Matrix): number[] {
  const n = a.rows;
  const m = Float64Array.from(a.data);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p];
          const akq = m[k * n + q];
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k];
          const aqk = m[q * n + k];
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => m[i * n + i]).sort((x, y) => x - y);
}

function randomSymmetric(n: number, seed: number, spectrum?: number[]): Matrix {
  const rng = new Rng(seed);
  const x = matrix(n, n);
  for (let i = 0; i < n * n; i++) x.data[i] = rng.next() * 2 - 1;
  if (!spectrum) return matrix(n, n, multiply(x, transpose(x)).data.map((v) => v - 1));
  // Q·diag(spectrum)·Qᵀ with Q orthogonal from Gram-Schmidt on x.
  const q = orthonormalColumns(x);
  const qd = matrix(n, n, q.data.map((v, idx) => v * spectrum[idx % n]));
  const out = multiply(qd, transpose(q));
  const sym = transpose(out);
  return matrix(n, n, out.data.map((v, i) => (v + sym.data[i]) / 2));
}

function checkDecomposition(a: Matrix, tol: number) {
  const { values, vectors } = symmetricEigen(a);
  const n = a.rows;
  const vtv = multiply(transpose(vectors), vectors);
  assert.ok(maxAbsDifference(vtv, identity(n)) < tol, "eigenvectors are orthonormal");
  const av = multiply(a, vectors);
  const vl = matrix(n, n, vectors.data.map((v, idx) => v * values[idx % n]));
  const scaleA = Math.max(1, ...a.data.map(Math.abs));
  assert.ok(maxAbsDifference(av, vl) < tol * scaleA, "A·V = V·Λ");
  for (let i = 1; i < n; i++) assert.ok(values[i] >= values[i - 1], "ascending");
  return values;
}

Deno.test("symmetricEigen matches a Jacobi reference on random symmetric matrices", () => {
  for (const [n, seed] of [[1, 1], [2, 2], [5, 3], [17, 4], [64, 5]]) {
    const a = randomSymmetric(n, seed);
    const values = checkDecomposition(a, 1e-11);
    const ref = jacobiEigenvalues(a);
    ref.forEach((r, i) =>
      assert.ok(Math.abs(r - values[i]) < 1e-10 * Math.max(1, Math.abs(r)), `n=${n} λ${i}`)
    );
  }
});

Deno.test("symmetricEigen: known spectra, repeated, zero and negative eigenvalues, diagonal input", () => {
  const spectrum = [-3, 0, 0, 1e-12, 2, 2, 2, 7];
  const values = checkDecomposition(randomSymmetric(8, 9, spectrum), 1e-12);
  spectrum.forEach((s, i) =>
    assert.ok(Math.abs(values[i] - s) < 1e-12, `λ${i}=${values[i]} vs ${s}`)
  );
  const diag = matrix(3, 3, [5, 0, 0, 0, -1, 0, 0, 0, 2]);
  assert.deepEqual(Array.from(symmetricEigen(diag).values), [-1, 2, 5]);
  const zero = symmetricEigen(matrix(4, 4));
  assert.deepEqual(Array.from(zero.values), [0, 0, 0, 0]);
  assert.ok(maxAbsDifference(multiply(transpose(zero.vectors), zero.vectors), identity(4)) < 1e-15);
  // Condition 1e12 spread: small eigenvalues keep absolute accuracy ~ eps·‖A‖.
  const wide = [1e-6, 1e-3, 1, 1e3, 1e6];
  const w = checkDecomposition(randomSymmetric(5, 11, wide), 1e-9);
  wide.forEach((s, i) => assert.ok(Math.abs(w[i] - s) < 1e-9, `λ${i}`));
});

Deno.test("symmetricEigen rejects bad input with a clear error", () => {
  assert.throws(() => symmetricEigen(matrix(2, 3)), /square/);
  assert.throws(() => symmetricEigen(matrix(2, 2, [1, 2, 3, 4])), /not symmetric/);
  assert.throws(() => symmetricEigen(matrix(2, 2, [1, NaN, NaN, 1])), /NaN/);
  assert.throws(() => symmetricEigen(matrix(0, 0)), /empty/);
});

Deno.test("orthonormalColumns: QᵀQ = I, the first column keeps its direction, dependent columns throw", () => {
  const rng = new Rng(5);
  const a = matrix(6, 4, Array.from({ length: 24 }, () => rng.gaussian()));
  const q = orthonormalColumns(a);
  assert.ok(maxAbsDifference(multiply(transpose(q), q), identity(4)) < 1e-14);
  const norm0 = Math.hypot(...Array.from({ length: 6 }, (_, i) => a.data[i * 4]));
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(q.data[i * 4] - a.data[i * 4] / norm0) < 1e-15);
  const dependent = matrix(3, 2, [1, 2, 2, 4, 3, 6]);
  assert.throws(() => orthonormalColumns(dependent), /column 1 depends on the ones before it/);
});
