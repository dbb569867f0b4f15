import assert from "node:assert/strict";
import { linearCKA } from "./cka.ts";

/** Deterministic values in [−1, 1). */
function values(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** CKA through the n×n Gram matrices: HSIC(K, L)/√(HSIC(K, K)·HSIC(L, L)), H the centring matrix. */
function gramCKA(x: number[], p: number, y: number[], q: number): number {
  const n = x.length / p;
  const gram = (v: number[], d: number) =>
    Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => {
        let s = 0;
        for (let k = 0; k < d; k++) s += v[i * d + k] * v[j * d + k];
        return s;
      }));
  const centre = (k: number[][]) => {
    const rowMean = k.map((r) => r.reduce((a, b) => a + b, 0) / n);
    const all = rowMean.reduce((a, b) => a + b, 0) / n;
    return k.map((r, i) => r.map((v, j) => v - rowMean[i] - rowMean[j] + all));
  };
  const hsic = (a: number[][], b: number[][]) =>
    a.reduce((s, r, i) => s + r.reduce((t, v, j) => t + v * b[i][j], 0), 0);
  const [k, l] = [centre(gram(x, p)), centre(gram(y, q))];
  return hsic(k, l) / Math.sqrt(hsic(k, k) * hsic(l, l));
}

Deno.test("linearCKA: matches the Gram-matrix (HSIC) form, and is 1 for a representation and itself", () => {
  const n = 12, p = 3, q = 5;
  const x = values(n * p, 1), y = values(n * q, 2);
  const got = linearCKA(x, p, y, q);
  assert.ok(Math.abs(got - gramCKA(x, p, y, q)) < 1e-12, `${got}`);
  assert.ok(got > 0 && got < 1);
  assert.ok(Math.abs(linearCKA(x, p, x, p) - 1) < 1e-12);
  assert.ok(Math.abs(linearCKA(x, p, y, q) - linearCKA(y, q, x, p)) < 1e-12, "symmetric");
});

Deno.test("linearCKA: invariant to rotation, isotropic scale, a shift and padding; not to anisotropic scale", () => {
  const n = 10, p = 2;
  const x = values(n * p, 3), y = values(n * 4, 4);
  const base = linearCKA(x, p, y, 4);
  const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
  const moved: number[] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = [x[2 * i], x[2 * i + 1]];
    moved.push(3 * (c * a - s * b) + 5, 3 * (s * a + c * b) - 2, 0);
  }
  assert.ok(Math.abs(linearCKA(moved, 3, y, 4) - base) < 1e-12);
  const stretched = x.map((v, i) => i % 2 === 0 ? 10 * v : v);
  assert.ok(Math.abs(linearCKA(stretched, p, y, 4) - base) > 1e-3);
});

Deno.test("linearCKA: named errors for mismatched rows, NaN, constants", () => {
  assert.throws(() => linearCKA([1, 2, 3, 4], 2, [1, 2, 3], 1), /same examples, got 2 and 3 rows/);
  assert.throws(
    () => linearCKA([1, NaN, 3, 4], 2, [1, 2], 1),
    /x holds a non-finite value \(NaN\) at row 0/,
  );
  assert.throws(() => linearCKA([1, 1, 1, 1], 2, [1, 2], 1), /x is constant over the examples/);
  assert.throws(
    () => linearCKA([1, 2, 3], 2, [1], 1),
    /x must be \[n, 2\] row-major, got 3 values/,
  );
  assert.throws(() => linearCKA([1, 2], 2, [1], 1), /at least 2 examples, got 1/);
});
