import assert from "node:assert/strict";
import { minimizeLBFGS, type Objective } from "./lbfgs.ts";

const rosenbrock = (n: number): Objective => (x, g) => {
  let f = 0;
  g.fill(0);
  for (let i = 0; i + 1 < n; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * x[i] * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
};

Deno.test("L-BFGS finds the Rosenbrock minimum (2-D and 10-D) from standard starts", () => {
  const r2 = minimizeLBFGS(rosenbrock(2), [-1.2, 1]);
  assert.ok(r2.converged, r2.reason);
  assert.ok(Math.abs(r2.x[0] - 1) < 1e-6 && Math.abs(r2.x[1] - 1) < 1e-6, `${r2.x}`);
  assert.ok(r2.iterations < 100, `${r2.iterations} iterations`);
  const r10 = minimizeLBFGS(rosenbrock(10), new Array(10).fill(-1));
  assert.ok(r10.x.every((v) => Math.abs(v - 1) < 1e-5), `${r10.x}`);
});

Deno.test("L-BFGS solves an ill-conditioned quadratic and stops on a tiny objective scale", () => {
  // f = ½ Σ k·(x_k − k)², condition number 1e4, scaled by 1e-9: a scale-dependent test would stop at once.
  const scale = 1e-9;
  const f: Objective = (x, g) => {
    let s = 0;
    for (let k = 0; k < x.length; k++) {
      const w = 10 ** (4 * k / (x.length - 1));
      s += 0.5 * w * (x[k] - k) ** 2;
      g[k] = scale * w * (x[k] - k);
    }
    return scale * s;
  };
  const r = minimizeLBFGS(f, new Array(8).fill(0), { gradTolerance: 1e-20 });
  r.x.forEach((v, k) => assert.ok(Math.abs(v - k) < 1e-6, `x[${k}] = ${v}`));
});

Deno.test("L-BFGS reports a non-finite start instead of returning nonsense", () => {
  const r = minimizeLBFGS((x, g) => (g.fill(0), Math.log(x[0])), [-1]);
  assert.equal(r.converged, false);
  assert.equal(r.reason, "non-finite");
});
