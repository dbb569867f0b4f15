/**
 * Notebook display helpers over `Deno.jupyter`: plotly figures, tables, progress bars,
 * scorecards and papermill-style parameters. This is the analysis/display layer: it may import
 * polars and plotly; compute code (`lib/losses`, `lib/models`, `lib/train`) must not import it.
 *
 * @example A notebook's first and last cells: parameters, then the scorecard
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedComparisons } from "../analysis/mod.ts";
 * import { params, type Scale, scorecard, scorecardText } from "./mod.ts";
 *
 * // Defaults, overridden by `deno task nb X.ipynb --params '{"scale": "full"}'` (here: a string).
 * const p = params({ scale: "quick" as Scale, seeds: 3 }, '{"scale": "full"}');
 * assert.deepEqual(p, { scale: "full", seeds: 3 });
 * assert.throws(() => params({ scale: "quick" as Scale, seeds: 3 }, '{"seed": 2}'), /unknown/);
 *
 * // A claim comparing two methods carries their difference paired over seeds (95% interval).
 * const runs = [[1, 2.90, 2.96], [2, 2.93, 2.94], [3, 2.90, 2.95]].flatMap(([seed, taid, fkl]) => [
 *   { method: "taid", seed, val_ce: taid },
 *   { method: "fkl", seed, val_ce: fkl },
 * ]);
 * const compare = pairedComparisons(runs, { group: "method", metric: "val_ce" });
 *
 * // In a kernel this renders as a table; elsewhere it prints "Demo: 1/2 claims hold" and rows.
 * const card = await scorecard(`Demo (${p.scale} scale)`, [
 *   {
 *     claim: "TAID ≥ FKL",
 *     paper: "Table 1",
 *     ours: "2.91 vs 2.95",
 *     holds: true,
 *     evidence: compare("taid", "fkl"), // −0.040 [−0.106, 0.026]: within seed noise
 *   },
 *   { claim: "RKL is mode seeking", paper: "Table 3", ours: "head 0.20 vs 0.23", holds: false },
 * ]);
 * assert.equal(card.rows.filter((r) => r.holds).length, 1);
 * assert.match(scorecardText(card), /1\/2 claims hold; 1 verdict within seed noise/);
 * assert.match(scorecardText(card), /Δ val_ce taid − fkl −0\.040 \[−0\.106, 0\.026\]/);
 * ```
 *
 * @module
 */
export * from "./display.ts";
export * from "./plot.ts";
export * from "./table.ts";
export * from "./progress.ts";
export * from "./scorecard.ts";
export * from "./params.ts";
export * from "./publish.ts";
