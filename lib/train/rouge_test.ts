import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import { longestCommonSubsequence, rougeL } from "./rouge.ts";

/** The LCS by brute force: the longest subsequence of `a` (all 2^|a| of them) found in `b`. */
function bruteForceLCS(a: number[], b: number[]): number {
  const inB = (sub: number[]) => {
    let j = 0;
    for (const x of b) if (j < sub.length && x === sub[j]) j++;
    return j === sub.length;
  };
  let best = 0;
  for (let bits = 0; bits < 1 << a.length; bits++) {
    const sub = a.filter((_, i) => bits & (1 << i));
    if (sub.length > best && inB(sub)) best = sub.length;
  }
  return best;
}

Deno.test("longestCommonSubsequence matches brute force on random short sequences", () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 300; trial++) {
    const a = Array.from({ length: rng.int(11) }, () => rng.int(4));
    const b = Array.from({ length: rng.int(13) }, () => rng.int(4));
    const want = bruteForceLCS(a, b);
    assert.equal(longestCommonSubsequence(a, b), want, `${a} | ${b}`);
    assert.equal(longestCommonSubsequence(b, a), want, "symmetric");
  }
  assert.equal(longestCommonSubsequence([1, 2, 3], [1, 2, 3]), 3);
  assert.equal(longestCommonSubsequence([], [1, 2]), 0);
  assert.equal(longestCommonSubsequence(Int32Array.from([7, 8]), Int32Array.from([8, 7])), 1);
});

Deno.test("rougeL: precision, recall and F1 from the LCS; zero without one", () => {
  // LCS of [1, 2, 3, 4] and [2, 9, 4] is [2, 4]: precision 2/4, recall 2/3.
  const s = rougeL([1, 2, 3, 4], [2, 9, 4]);
  assert.equal(s.precision, 0.5);
  assert.equal(s.recall, 2 / 3);
  assert.ok(Math.abs(s.f1 - 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3)) < 1e-15);
  assert.deepEqual(rougeL([1, 1], [1, 1]), { precision: 1, recall: 1, f1: 1 });
  assert.deepEqual(rougeL([1, 2], [3, 4]), { precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(rougeL([], []), { precision: 0, recall: 0, f1: 0 });
});
