/**
 * Float64 reference of the fused divergences (`lib/gpu/fused_divergence.ts` on webgpu,
 * `lib/wasm/simd_divergence.ts` on wasm): per-row values and ∂D/∂z_S through the generic mapping
 * ∂D/∂z = (g − q·Σg)/T, written from the papers' formulas over Float64Array; the test cases and
 * logits both kernels' tests use.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";
import type { FusedDivergence } from "../../lib/gpu/fused_divergence.ts";

/** Deterministic pseudo-random logits with a given spread. */
export function logits(n: number, v: number, seed: number, scale: number): Float64Array {
  const out = new Float64Array(n * v);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = scale * (2 * u - 1) * (i % 7 === 0 ? 3 : 1);
  }
  return Float64Array.from(Float32Array.from(out)); // exactly representable in float32
}

/** One configuration of a fused divergence. */
export interface Case {
  divergence: FusedDivergence;
  temperature: number;
  interpolation: number;
}

/** float64 log-softmax of one row. */
export function logSoftmax(x: Float64Array): Float64Array {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return x.map((v) => v - lse);
}

/** float64 divergence of one row and ∂D/∂z_S (generic mapping from ∂D/∂ℓq). */
export function referenceRow(
  c: Case,
  t: Float64Array,
  s: Float64Array,
): { value: number; grad: Float64Array } {
  const T = c.temperature, lam = c.interpolation, beta = c.divergence.beta ?? 0.5;
  const alpha = c.divergence.alpha ?? 0.1;
  const lp = logSoftmax(t.map((z, i) => (lam * z + (1 - lam) * s[i]) / T));
  const lq = logSoftmax(s.map((z) => z / T));
  const v = lp.length;
  const g = new Float64Array(v);
  let value = 0;
  for (let i = 0; i < v; i++) {
    const p = Math.exp(lp[i]), q = Math.exp(lq[i]);
    switch (c.divergence.kind) {
      case "fkl":
        value += p * (lp[i] - lq[i]);
        g[i] = -p;
        break;
      case "ce":
        value -= p * lq[i];
        g[i] = -p;
        break;
      case "rkl":
        value += q * (lq[i] - lp[i]);
        g[i] = q * (lq[i] - lp[i] + 1);
        break;
      case "gjsd": {
        const lm = Math.log(beta * p + (1 - beta) * q);
        value += beta * p * (lp[i] - lm) + (1 - beta) * q * (lq[i] - lm);
        g[i] = (1 - beta) * q * (lq[i] - lm);
        break;
      }
      case "skl": {
        const m = alpha * p + (1 - alpha) * q;
        value += p * (lp[i] - Math.log(m));
        g[i] = -(1 - alpha) * p * q / m;
        break;
      }
      case "srkl": {
        const m = (1 - alpha) * p + alpha * q;
        value += q * (lq[i] - Math.log(m));
        g[i] = q * (lq[i] - Math.log(m) + 1) - alpha * q * q / m;
        break;
      }
      case "tvd":
        value += 0.5 * Math.abs(p - q);
        g[i] = 0.5 * Math.sign(q - p) * q;
        break;
    }
  }
  const sumG = g.reduce((a, b) => a + b, 0);
  const grad = g.map((gi, i) => (gi - Math.exp(lq[i]) * sumG) / T);
  return { value, grad };
}

/** Per-row values [n] and gradients [n·v] of a case over row-major logits. */
export function reference(c: Case, t: Float64Array, s: Float64Array, n: number, v: number) {
  const values = new Float64Array(n), grads = new Float64Array(n * v);
  for (let r = 0; r < n; r++) {
    const row = referenceRow(c, t.subarray(r * v, (r + 1) * v), s.subarray(r * v, (r + 1) * v));
    values[r] = row.value;
    grads.set(row.grad, r * v);
  }
  return { values, grads };
}

/** Largest elementwise |a − b| (lengths must match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  nodeAssert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Every divergence, at several temperatures, parameters and interpolations. */
export const CASES: Case[] = [
  { divergence: { kind: "fkl" }, temperature: 1, interpolation: 1 },
  { divergence: { kind: "fkl" }, temperature: 2.5, interpolation: 1 },
  { divergence: { kind: "ce" }, temperature: 1, interpolation: 0.4 },
  { divergence: { kind: "fkl" }, temperature: 1.5, interpolation: 0.7 },
  { divergence: { kind: "rkl" }, temperature: 1, interpolation: 1 },
  { divergence: { kind: "rkl" }, temperature: 2, interpolation: 1 },
  { divergence: { kind: "gjsd", beta: 0.5 }, temperature: 1, interpolation: 1 },
  { divergence: { kind: "gjsd", beta: 0.1 }, temperature: 3, interpolation: 1 },
  { divergence: { kind: "skl", alpha: 0.1 }, temperature: 1, interpolation: 1 },
  { divergence: { kind: "skl", alpha: 0.7 }, temperature: 2, interpolation: 1 },
  { divergence: { kind: "srkl", alpha: 0.1 }, temperature: 1, interpolation: 1 },
  { divergence: { kind: "srkl", alpha: 0.5 }, temperature: 1.5, interpolation: 1 },
  { divergence: { kind: "tvd" }, temperature: 1, interpolation: 1 },
  { divergence: { kind: "tvd" }, temperature: 2, interpolation: 1 },
];
