import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { checkScorecardRows, scorecardText } from "./scorecard.ts";
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

Deno.test("table: HTML escapes cells and formats floats", () => {
  const html = tableHtml(pl.DataFrame({ name: ["<b>"], x: [1 / 3] }), { digits: 3 });
  assert.match(html, /&#60;b&#62;/);
  assert.match(html, /<td>0\.333<\/td>/);
  assert.equal(formatCell(null), "");
  assert.equal(formatCell(2), "2");
});
