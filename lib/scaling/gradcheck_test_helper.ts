/**
 * Test helper: compares an objective's analytic gradient with central finite differences.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Objective } from "./lbfgs.ts";

/** Asserts |∂f/∂xᵢ − FD| < atol + rtol·|FD| for every coordinate at `x`. */
export function assertGradient(
  f: Objective,
  x: number[],
  atol: number,
  rtol: number,
  h = 1e-6,
): void {
  const at = Float64Array.from(x);
  const g = new Float64Array(x.length);
  f(at, g);
  for (let i = 0; i < x.length; i++) {
    const xp = Float64Array.from(at), xm = Float64Array.from(at);
    xp[i] += h, xm[i] -= h;
    const fd = (f(xp, new Float64Array(x.length)) - f(xm, new Float64Array(x.length))) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) < atol + rtol * Math.abs(fd), `∂/∂x${i}: ${g[i]} vs ${fd}`);
  }
}
