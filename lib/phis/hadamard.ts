/**
 * Hadamard matrices: H ∈ {±1}ⁿˣⁿ with H·Hᵀ = n·I. PHI-S needs one of the teacher's feature width
 * (Ranzinger et al., "PHI-S: Distribution Balancing for Label-Free Multi-Teacher Distillation",
 * arXiv 2410.01680, §2.2.4 and App. A.1.1): only a true Hadamard matrix spreads the variance
 * equally over all output channels (Theorem 2.1).
 *
 * Constructions, tried in this order for an order n:
 * - **Sylvester** (1867): n a power of two, [[A, A], [A, −A]] from [1].
 * - **Sylvester ⊗ Paley**: the largest power-of-two factor 2ⁱ whose cofactor n/2ⁱ has a Paley
 *   matrix (the order the reference code, NVlabs/RADIO `hadamard.py`, prefers).
 * - **Paley I** (1933): n = q + 1, q ≡ 3 (mod 4) a prime power: I + [[0, 1ᵀ], [−1, Q]] with the
 *   Jacobsthal matrix Q_ij = χ(a_i − a_j) over GF(q).
 * - **Paley II**: n = 2(q + 1), q ≡ 1 (mod 4) a prime power: C = [[0, 1ᵀ], [1, Q]], each 0 replaced
 *   by [[1, −1], [−1, −1]] and each ±1 by ±[[1, 1], [1, −1]].
 * - **Kronecker** products of any two constructible orders (e.g. Paley ⊗ Paley).
 *
 * Unlike the reference code, prime *powers* q (GF(pᵏ) arithmetic) and Paley ⊗ Paley are covered,
 * and an order with no construction throws instead of silently returning a random orthogonal
 * matrix. The reference code falls back to random for 158 of the 512 multiples of 4 up to 2048
 * (67 up to 1024: 52 92 100 116 156 172 184 188 232 236 244 260 268 292 324 340 344 356 372 376
 * 404 412 428 436 452 472 476 508 520 532 536 580 584 596 604 612 652 668 680 688 712 716 724 732
 * 756 764 772 808 836 852 856 872 876 892 904 932 940 944 952 956 964 980 988 996 1004 1012 1016),
 * and for every width > 2 not divisible by 4. Of those up to 1024, 52, 100, 244, 340, 344, 580,
 * 680, 688 and 724 are constructed here; 668 is the smallest order for which no Hadamard matrix
 * is known at all, and the other 57 up to 1024 (92 needs Williamson's construction) are not covered.
 *
 * @module
 */
import { kronecker, type Matrix, matrix } from "../linalg/mod.ts";
import { FiniteField, primePower } from "./finite_field.ts";

/** How an order is built. */
export type HadamardConstruction =
  | { kind: "sylvester"; n: number }
  | { kind: "paley1"; n: number; q: number }
  | { kind: "paley2"; n: number; q: number }
  | { kind: "kronecker"; n: number; left: HadamardConstruction; right: HadamardConstruction };

const isPowerOfTwo = (n: number) => n >= 1 && (n & (n - 1)) === 0;

function paley(n: number): HadamardConstruction | undefined {
  if (primePower(n - 1) && (n - 1) % 4 === 3) return { kind: "paley1", n, q: n - 1 };
  if (n % 2 === 0 && primePower(n / 2 - 1) && (n / 2 - 1) % 4 === 1) {
    return { kind: "paley2", n, q: n / 2 - 1 };
  }
  return undefined;
}

const constructions = new Map<number, HadamardConstruction | null>();

/** The construction used for order n, or undefined when there is none here. */
export function hadamardConstruction(n: number): HadamardConstruction | undefined {
  if (!Number.isInteger(n) || n < 1) return undefined;
  if (constructions.has(n)) return constructions.get(n) ?? undefined;
  let found: HadamardConstruction | undefined;
  if (isPowerOfTwo(n)) found = { kind: "sylvester", n };
  else if (n % 4 === 0) {
    // Largest Sylvester factor with a Paley cofactor.
    for (let s = n & -n; s >= 1 && !found; s /= 2) {
      const p = paley(n / s);
      if (p) {
        found = s === 1 ? p : { kind: "kronecker", n, left: { kind: "sylvester", n: s }, right: p };
      }
    }
    // Any factorisation into two constructible orders.
    for (let a = 2; a * a <= n && !found; a++) {
      if (n % a !== 0) continue;
      const left = hadamardConstruction(a);
      const right = left && hadamardConstruction(n / a);
      if (left && right) found = { kind: "kronecker", n, left, right };
    }
  }
  constructions.set(n, found ?? null);
  return found;
}

/** A readable name of a construction, e.g. "Sylvester(32) ⊗ Paley I(q=11)". */
export function describeConstruction(c: HadamardConstruction): string {
  switch (c.kind) {
    case "sylvester":
      return `Sylvester(${c.n})`;
    case "paley1":
      return `Paley I(q=${c.q})`;
    case "paley2":
      return `Paley II(q=${c.q})`;
    case "kronecker":
      return `${describeConstruction(c.left)} ⊗ ${describeConstruction(c.right)}`;
  }
}

/** Orders 1..max that {@link hadamard} can build. */
export function hadamardOrders(max: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= max; n++) if (hadamardConstruction(n)) out.push(n);
  return out;
}

function sylvester(n: number): Matrix {
  let h = matrix(1, 1, [1]);
  const two = matrix(2, 2, [1, 1, 1, -1]);
  while (h.rows < n) h = kronecker(two, h);
  return h;
}

function jacobsthal(q: number): (i: number, j: number) => number {
  const field = new FiniteField(q);
  const chi = new Int8Array(q);
  for (let x = 0; x < q; x++) chi[x] = field.character(x);
  return (i, j) => chi[field.subtract(i, j)];
}

function paley1(q: number): Matrix {
  const n = q + 1;
  const chi = jacobsthal(q);
  const h = matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s: number;
      if (i === 0) s = j === 0 ? 0 : 1;
      else if (j === 0) s = -1;
      else s = chi(i - 1, j - 1);
      h.data[i * n + j] = s + (i === j ? 1 : 0);
    }
  }
  return h;
}

function paley2(q: number): Matrix {
  const m = q + 1;
  const n = 2 * m;
  const chi = jacobsthal(q);
  const h = matrix(n, n);
  const zero = [1, -1, -1, -1];
  const one = [1, 1, 1, -1];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const c = i === 0 ? (j === 0 ? 0 : 1) : j === 0 ? 1 : chi(i - 1, j - 1);
      const block = c === 0 ? zero : one.map((v) => v * c);
      h.data[2 * i * n + 2 * j] = block[0];
      h.data[2 * i * n + 2 * j + 1] = block[1];
      h.data[(2 * i + 1) * n + 2 * j] = block[2];
      h.data[(2 * i + 1) * n + 2 * j + 1] = block[3];
    }
  }
  return h;
}

function build(c: HadamardConstruction): Matrix {
  switch (c.kind) {
    case "sylvester":
      return sylvester(c.n);
    case "paley1":
      return paley1(c.q);
    case "paley2":
      return paley2(c.q);
    case "kronecker":
      return kronecker(build(c.left), build(c.right));
  }
}

/**
 * A Hadamard matrix of order n. By default it is **normalised**: entries ±1/√n, so H·Hᵀ = I (the
 * form PHI-S uses, paper eq. 18); `{ normalized: false }` gives the ±1 matrix with H·Hᵀ = n·I.
 * Throws for an order with no construction here, naming it (never a random fallback).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hadamard } from "./hadamard.ts";
 * import { identity, maxAbsDifference, multiply, transpose } from "../linalg/mod.ts";
 * const h = hadamard(12, { normalized: false }); // Paley I, q = 11
 * assert.ok(h.data.every((v) => v === 1 || v === -1));
 * assert.equal(maxAbsDifference(multiply(h, transpose(h)), identity(12, 12)), 0); // H·Hᵀ = n·I
 * assert.throws(() => hadamard(6), /multiple of 4/);
 * ```
 */
export function hadamard(n: number, options: { normalized?: boolean } = {}): Matrix {
  const c = hadamardConstruction(n);
  if (!c) {
    const hint = Number.isInteger(n) && n > 2 && n % 4 !== 0
      ? " (a Hadamard order above 2 must be a multiple of 4)"
      : n === 668
      ? " (668 is the smallest order for which no Hadamard matrix is known)"
      : "";
    throw new Error(
      `hadamard: no Hadamard matrix of order ${n} can be built here${hint}; ` +
        "hadamardOrders(max) lists the supported orders",
    );
  }
  const h = build(c);
  if (options.normalized === false) return h;
  const s = 1 / Math.sqrt(n);
  return { rows: n, cols: n, data: h.data.map((v) => v * s) };
}
