import assert from "node:assert/strict";
import {
  describe,
  formatComparison,
  formatFixed,
  formatMeanStd,
  formatPaired,
  groupStats,
  pairedComparisons,
  pairedDifference,
  stepJitter,
} from "./mod.ts";

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

Deno.test("pairedDifference: matched seeds, Student-t interval, named errors", () => {
  // Differences 1, 2, 6: mean 3, std √7, half-width t(0.975, 2)·√7/√3.
  const d = pairedDifference({ 1: 6, 2: 7, 3: 16, 9: 0 }, { 1: 5, 2: 5, 3: 10 });
  assert.equal(d.n, 3, "seed 9 has no partner");
  assert.equal(d.mean, 3);
  assert.ok(Math.abs(d.std - Math.sqrt(7)) < 1e-12);
  const half = 4.303 * Math.sqrt(7) / Math.sqrt(3);
  assert.ok(Math.abs(d.low - (3 - half)) < 1e-12 && Math.abs(d.high - (3 + half)) < 1e-12);
  assert.equal(d.excludesZero, false, "3 − 6.99 < 0");
  const tight = pairedDifference({ 1: 1.0, 2: 1.1, 3: 1.2 }, { 1: 2.0, 2: 2.1, 3: 2.25 });
  assert.equal(tight.excludesZero, true);
  assert.equal(formatPaired(tight), "−1.017 [−1.088, −0.945]");
  const one = pairedDifference({ 1: 2 }, { 1: 1.5 });
  assert.ok(Number.isNaN(one.low) && one.excludesZero === false);
  assert.equal(formatPaired(one), "0.500");
  assert.equal(formatPaired(tight, 2, { scale: 100, plus: true }), "−101.67 [−108.84, −94.49]");
  assert.equal(formatPaired(one, 1, { scale: 100, plus: true }), "+50.0");
  assert.throws(() => pairedDifference({ 1: 1 }, { 2: 1 }), /share no seed \(a: 1; b: 2\)/);
  assert.throws(() => pairedDifference({ 1: NaN }, { 1: 1 }), /seed 1 is not finite/);
});

Deno.test("pairedComparisons: groups of rows paired by seed, named errors", () => {
  const rows = [
    { method: "taid", seed: 1, val_ce: 6 },
    { method: "taid", seed: 2, val_ce: 7 },
    { method: "taid", seed: 3, val_ce: 16 },
    { method: "fkl", seed: 3, val_ce: 10 }, // order within a group does not matter
    { method: "fkl", seed: 1, val_ce: 5 },
    { method: "fkl", seed: 2, val_ce: 5 },
    { method: "sft", seed: 1, val_ce: null },
  ];
  const compare = pairedComparisons(rows, { group: "method", metric: "val_ce" });
  const d = compare("taid", "fkl");
  // The same differences as the pairedDifference test above: 1, 2, 6.
  assert.deepEqual(
    { a: d.a, b: d.b, metric: d.metric, mean: d.mean, n: d.n },
    { a: "taid", b: "fkl", metric: "val_ce", mean: 3, n: 3 },
  );
  assert.equal(
    formatComparison(compare("fkl", "taid")),
    "val_ce fkl − taid −3.000 [−9.573, 3.573]",
  );
  assert.throws(
    () => compare("taid", "gkd"),
    /no row has method = gkd \(there are: taid, fkl, sft\)/,
  );
  assert.throws(() => compare("sft", "fkl"), /seed 1 is not finite \(a NaN, b 5\)/);
  const twoSettings = pairedComparisons([...rows, { method: "fkl", seed: 2, val_ce: 4 }], {
    group: "method",
    metric: "val_ce",
  });
  assert.throws(() => twoSettings("taid", "fkl"), /fkl has two rows with seed = 2/);
  const byRun = pairedComparisons(
    [{ m: "a", run: "x", acc: 0.9 }, { m: "b", run: "x", acc: 0.8 }],
    { group: "m", metric: "acc", seed: "run" },
  );
  assert.ok(Math.abs(byRun("a", "b").mean - 0.1) < 1e-12);
});

Deno.test("formatFixed: decimals, and a dash for a missing metric", () => {
  assert.equal(formatFixed(1 / 3), "0.333");
  assert.equal(formatFixed(12.5, 0), "13");
  assert.equal(formatFixed(NaN), "—");
  assert.equal(formatFixed(undefined, 1), "—");
  assert.equal(formatFixed(null), "—");
  assert.equal(formatFixed(Infinity), "—");
});
