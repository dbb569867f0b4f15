import assert from "node:assert/strict";
import { type Matrix } from "../linalg/mod.ts";
import { FiniteField, irreduciblePolynomial, primePower } from "./finite_field.ts";
import {
  describeConstruction,
  hadamard,
  hadamardConstruction,
  hadamardOrders,
} from "./hadamard.ts";

/** Exact check that a ±1 matrix has H·Hᵀ = n·I (integer arithmetic, stops at the first failure). */
function isHadamard(h: Matrix): boolean {
  const n = h.rows;
  const rows = Array.from(
    { length: n },
    (_, i) => Int8Array.from(h.data.subarray(i * n, (i + 1) * n)),
  );
  if (!rows.every((r) => r.every((v) => v === 1 || v === -1))) return false;
  for (let i = 0; i < n; i++) {
    const a = rows[i];
    for (let j = i + 1; j < n; j++) {
      const b = rows[j];
      let dot = 0;
      for (let k = 0; k < n; k++) dot += a[k] * b[k];
      if (dot !== 0) return false;
    }
  }
  return true;
}

Deno.test("finite fields: prime powers, irreducible moduli, field axioms on GF(9), GF(25), GF(27), GF(81)", () => {
  assert.deepEqual(primePower(243), { p: 3, k: 5 });
  assert.deepEqual(primePower(2039), { p: 2039, k: 1 });
  assert.equal(primePower(667), undefined); // 23·29
  assert.equal(primePower(1), undefined);
  assert.deepEqual(irreduciblePolynomial(3, 2), [1, 0, 1]); // x² + 1 has no root mod 3
  for (const q of [9, 25, 27, 81]) {
    const f = new FiniteField(q);
    // Every non-zero element has an inverse, and exactly (q−1)/2 non-zero squares exist.
    for (let a = 1; a < q; a++) {
      let inverse = -1;
      for (let b = 1; b < q; b++) if (f.multiply(a, b) === 1) inverse = b;
      assert.ok(inverse > 0, `GF(${q}): ${a} has no inverse`);
    }
    let squares = 0;
    for (let a = 1; a < q; a++) squares += f.character(a) === 1 ? 1 : 0;
    assert.equal(squares, (q - 1) / 2);
    // χ is multiplicative, and a − a = 0.
    for (let a = 1; a < q; a += 3) {
      for (let b = 1; b < q; b += 5) {
        assert.equal(f.character(f.multiply(a, b)), f.character(a) * f.character(b));
      }
      assert.equal(f.subtract(a, a), 0);
    }
  }
  assert.throws(() => new FiniteField(12), /prime power/);
});

Deno.test("hadamard: H·Hᵀ = n·I exactly for every order ≤ 512 that hadamardOrders claims", () => {
  const orders = hadamardOrders(512);
  assert.ok(orders.length > 90, `${orders.length} orders`);
  for (const n of orders) {
    assert.ok(
      isHadamard(hadamard(n, { normalized: false })),
      `order ${n}: ${describeConstruction(hadamardConstruction(n)!)}`,
    );
  }
});

Deno.test("hadamard: common feature widths 768..1536, large prime-power Paley orders, the normalised form", () => {
  // 580 = Paley II(q = 17²) and 724 = Paley II(q = 19²) exercise GF(p²) arithmetic at size.
  for (const n of [580, 724, 768, 1024, 1152, 1280, 1536]) {
    assert.ok(isHadamard(hadamard(n, { normalized: false })), `order ${n}`);
  }
  const h = hadamard(12);
  for (let i = 0; i < 12; i++) {
    for (let j = 0; j < 12; j++) {
      let dot = 0;
      for (let k = 0; k < 12; k++) dot += h.data[i * 12 + k] * h.data[j * 12 + k];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-15);
    }
  }
  assert.ok(h.data.every((v) => Math.abs(Math.abs(v) - 1 / Math.sqrt(12)) < 1e-16));
});

Deno.test("hadamard: orders it covers and the ones it refuses", () => {
  // Prime-power Paley (GF(pᵏ)) and Kronecker products recover orders the reference code fakes.
  for (const n of [28, 52, 100, 244, 340, 344, 580, 680, 688, 724, 1360, 1904]) {
    assert.ok(hadamardConstruction(n), `order ${n} should be constructible`);
  }
  for (const n of [384, 768, 1024, 1152, 1280, 1408, 1536, 2048]) {
    assert.ok(hadamardConstruction(n), `${n}`);
  }
  assert.equal(describeConstruction(hadamardConstruction(768)!), "Sylvester(64) ⊗ Paley I(q=11)");
  assert.equal(hadamardOrders(2048).filter((n) => n % 4 === 0).length, 372);
  assert.throws(() => hadamard(668), /order 668.*no Hadamard matrix is known/);
  assert.throws(() => hadamard(92), /order 92/);
  assert.throws(() => hadamard(6), /multiple of 4/);
  assert.throws(() => hadamard(0), /order 0/);
  assert.deepEqual(hadamardOrders(12), [1, 2, 4, 8, 12]);
});
