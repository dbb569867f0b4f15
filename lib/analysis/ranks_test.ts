import assert from "node:assert/strict";
import { averageRanks, ranksWithTies } from "./ranks.ts";

Deno.test("ranksWithTies: order, direction, shared ranks for ties, non-finite rejected", () => {
  assert.deepEqual(ranksWithTies([3, 1, 2], { lowerIsBetter: true }), [3, 1, 2]);
  assert.deepEqual(ranksWithTies([3, 1, 2], { lowerIsBetter: false }), [1, 3, 2]);
  assert.deepEqual(ranksWithTies([5, 1, 5, 0], { lowerIsBetter: true }), [3.5, 2, 3.5, 1]);
  assert.throws(() => ranksWithTies([1, NaN], { lowerIsBetter: true }), /value 1 is NaN/);
});

Deno.test("averageRanks: mean within groups, then over groups (the PHI-S Tab. 1 recipe)", () => {
  const rows = [
    // group A: two criteria, lower is better
    ["x", "A", "a1", 1, true],
    ["y", "A", "a1", 2, true],
    ["z", "A", "a1", 3, true],
    ["x", "A", "a2", 3, true],
    ["y", "A", "a2", 2, true],
    ["z", "A", "a2", 1, true],
    // group B: one criterion, higher is better
    ["x", "B", "b1", 0.9, false],
    ["y", "B", "b1", 0.5, false],
    ["z", "B", "b1", 0.5, false],
  ].map(([method, group, criterion, value, lowerIsBetter]) => ({
    method: method as string,
    group: group as string,
    criterion: criterion as string,
    value: value as number,
    lowerIsBetter: lowerIsBetter as boolean,
  }));
  const out = averageRanks(rows);
  assert.deepEqual(out.map((r) => r.method), ["x", "y", "z"]);
  assert.deepEqual(out[0], { method: "x", A: 2, B: 1, average: 1.5 });
  assert.deepEqual(out[1], { method: "y", A: 2, B: 2.5, average: 2.25 });
  assert.throws(() => averageRanks(rows.slice(1)), /method "x" has 0 values for A\/a1/);
});
