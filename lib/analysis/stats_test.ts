import assert from "node:assert/strict";
import { describe, formatMeanStd, groupStats, stepJitter } from "./mod.ts";

Deno.test("describe: mean, sample std and Student-t 95% half-width", () => {
  const d = describe([1, 2, 3, NaN]);
  assert.equal(d.n, 3);
  assert.equal(d.mean, 2);
  assert.equal(d.std, 1);
  assert.ok(Math.abs(d.ci95 - 4.303 / Math.sqrt(3)) < 1e-12);
  assert.ok(Number.isNaN(describe([5]).std));
  assert.equal(describe([]).n, 0);
});

Deno.test("groupStats groups in first-seen order; helpers format and measure jitter", () => {
  const rows = [
    { method: "b", acc: 0.5 },
    { method: "a", acc: 0.7 },
    { method: "b", acc: 0.7 },
  ];
  const g = groupStats(rows, "method", ["acc"]);
  assert.deepEqual(g.map((r) => r.method), ["b", "a"]);
  assert.ok(Math.abs((g[0].acc_mean as number) - 0.6) < 1e-12);
  assert.equal(g[1].n, 1);
  const missing = groupStats([{ m: "sft", kl: null }, { m: "sft", kl: undefined }], "m", ["kl"]);
  assert.ok(Number.isNaN(missing[0].kl_mean), "missing values are not zeros");
  assert.equal(formatMeanStd(0.61234, 0.01, 3), "0.612 ± 0.010");
  assert.equal(formatMeanStd(0.5, NaN, 2), "0.50");
  assert.equal(formatMeanStd(NaN, NaN), "—");
  assert.equal(stepJitter([1, 2, 3, 4]), 0);
  assert.ok(Math.abs(stepJitter([0, 1, 0, 1]) - Math.sqrt(4 / 3)) < 1e-12);
});
