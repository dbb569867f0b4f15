import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { pairedComparisons } from "../analysis/mod.ts";
import { checkScorecardRows, scorecardHtml, scorecardTally, scorecardText } from "./scorecard.ts";
import { formatCell, tableHtml } from "./table.ts";

Deno.test("scorecard: text counts the claims that hold among the tested ones", () => {
  const text = scorecardText({
    title: "T",
    rows: [
      { claim: "a", paper: "1", ours: "1", holds: true },
      { claim: "b", paper: "1", ours: "2", holds: false },
      { claim: "c", paper: "1", ours: "-", holds: null },
    ],
  });
  assert.match(text, /^T: 1\/2 claims hold/);
  assert.match(text, /✗ fails {2}b/);
});

Deno.test("scorecard: bad rows are named", () => {
  assert.throws(() => checkScorecardRows([]), /non-empty array/);
  assert.throws(
    () => checkScorecardRows([{ claim: "", paper: "1", ours: "1", holds: true }]),
    /rows\[0\]\.claim/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => checkScorecardRows([{ claim: "x", paper: "1", ours: "1", holds: "yes" as any }]),
    /rows\[0\]\.holds/,
  );
});

Deno.test("scorecard: paired evidence is shown, and an interval holding 0 is within seed noise", () => {
  const compare = pairedComparisons(
    [
      { method: "a", seed: 1, ce: 1.0 },
      { method: "a", seed: 2, ce: 1.1 },
      { method: "a", seed: 3, ce: 1.2 },
      { method: "b", seed: 1, ce: 2.0 },
      { method: "b", seed: 2, ce: 2.1 },
      { method: "b", seed: 3, ce: 2.25 },
      { method: "c", seed: 1, ce: 0.6 },
      { method: "c", seed: 2, ce: 1.4 },
      { method: "c", seed: 3, ce: 1.0 },
    ],
    { group: "method", metric: "ce" },
  );
  const card = {
    title: "T",
    rows: [
      { claim: "a beats b", paper: "-", ours: "-", holds: true, evidence: compare("a", "b") },
      { claim: "c beats a", paper: "-", ours: "-", holds: true, evidence: compare("c", "a") },
      { claim: "b beats c", paper: "-", ours: "-", holds: false, evidence: compare("b", "c") },
      { claim: "untested", paper: "-", ours: "-", holds: null, evidence: compare("c", "a") },
      { claim: "no pair", paper: "-", ours: "-", holds: true },
    ],
  };
  const text = scorecardText(card);
  assert.equal(scorecardTally(card), "3/4 claims hold; 1 verdict within seed noise");
  assert.match(text, /^T: 3\/4 claims hold; 1 verdict within seed noise\n/);
  assert.match(text, /✓ holds {2}a beats b\n.*\| Δ ce a − b −1\.017 \[−1\.088, −0\.945\]/);
  assert.match(text, /✓ holds \(within seed noise\) {2}c beats a/);
  assert.match(text, /✗ fails {2}b beats c/, "an interval excluding 0 is not noise");
  assert.match(text, /– n\/a {2}untested/, "an untested row is never counted as noise");
  const html = scorecardHtml(card);
  assert.match(html, /<th>Δ paired over seeds \(95% CI\)<\/th>/);
  assert.equal(html.match(/within seed noise/g)?.length, 1);
  assert.match(html, /<td>no pair<\/td><td>-<\/td><td>-<\/td><td><\/td>/, "empty Δ cell");
  const plain = scorecardHtml({ title: "U", rows: [card.rows[4]] });
  assert.doesNotMatch(plain, /Δ/, "no Δ column when no row compares methods");
  assert.throws(
    () => checkScorecardRows([{ ...card.rows[0], evidence: { ...compare("a", "b"), mean: NaN } }]),
    /rows\[0\]\.evidence must be a paired comparison/,
  );
});

Deno.test("table: HTML escapes cells and formats floats", () => {
  const html = tableHtml(pl.DataFrame({ name: ["<b>"], x: [1 / 3] }), { digits: 3 });
  assert.match(html, /&#60;b&#62;/);
  assert.match(html, /<td>0\.333<\/td>/);
  assert.equal(formatCell(null), "");
  assert.equal(formatCell(2), "2");
});
