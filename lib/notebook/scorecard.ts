/**
 * The closing scorecard of every reproduction notebook: each claim of the paper, the paper's
 * value, ours, and whether the claim holds at our scale. It is shown as a table and also carried
 * as `application/vnd.kdlab.scorecard+json`, which `deno task reproduce` reads back from the
 * executed notebook.
 *
 * @module
 */
import { emit, escapeHtml } from "./display.ts";

/** The MIME type under which scorecards travel in notebook outputs. */
export const SCORECARD_MIME = "application/vnd.kdlab.scorecard+json";

/** One claim of a paper checked against our result. */
export interface ScorecardRow {
  /** The claim, in words ("TAID beats every baseline"). */
  claim: string;
  /** The paper's value or finding, as text. */
  paper: string;
  /** Our value or finding, as text. */
  ours: string;
  /** True: holds; false: does not hold; null: not testable at this scale. */
  holds: boolean | null;
  /** Optional remark (scale caveats, seeds, ...). */
  note?: string;
}

/** A scorecard as carried in notebook outputs. */
export interface Scorecard {
  /** The heading. */
  title: string;
  /** One row per claim. */
  rows: ScorecardRow[];
}

/** Validates rows, throwing an error naming the first bad field. */
export function checkScorecardRows(rows: ScorecardRow[]): void {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new Error("scorecard: rows must be a non-empty array of {claim, paper, ours, holds}");
  }
  rows.forEach((row, i) => {
    for (const key of ["claim", "paper", "ours"] as const) {
      if (typeof row[key] !== "string" || row[key].length === 0) {
        throw new Error(`scorecard: rows[${i}].${key} must be a non-empty string`);
      }
    }
    if (row.holds !== true && row.holds !== false && row.holds !== null) {
      throw new Error(`scorecard: rows[${i}].holds must be true, false or null`);
    }
  });
}

/** Plain-text rendering of a scorecard (used outside the kernel and by `reproduce`). */
export function scorecardText(card: Scorecard): string {
  const mark = (h: boolean | null) => h === true ? "✓ holds" : h === false ? "✗ fails" : "– n/a";
  const lines = card.rows.map((r) =>
    `  ${mark(r.holds)}  ${r.claim}\n      paper: ${r.paper} | ours: ${r.ours}${
      r.note ? ` (${r.note})` : ""
    }`
  );
  const held = card.rows.filter((r) => r.holds === true).length;
  const tested = card.rows.filter((r) => r.holds !== null).length;
  return `${card.title}: ${held}/${tested} claims hold\n${lines.join("\n")}`;
}

/**
 * Displays a scorecard and returns it.
 *
 * @example
 * ```ts
 * import { scorecard } from "./scorecard.ts";
 * await scorecard("Demo", [{ claim: "1 + 1 = 2", paper: "2", ours: "2", holds: true }]);
 * ```
 */
export async function scorecard(title: string, rows: ScorecardRow[]): Promise<Scorecard> {
  if (typeof title !== "string") {
    throw new Error(
      `scorecard: title must be a string (scorecard(title, rows)), got ${typeof title}`,
    );
  }
  checkScorecardRows(rows);
  const card: Scorecard = { title, rows };
  const cell = (s: string) => `<td>${escapeHtml(s)}</td>`;
  const body = rows.map((r) => {
    const color = r.holds === true ? "#1a7f37" : r.holds === false ? "#cf222e" : "#6e7781";
    const word = r.holds === true ? "holds" : r.holds === false ? "does not hold" : "not tested";
    return `<tr>${cell(r.claim)}${cell(r.paper)}${cell(r.ours)}<td style="color:${color}">` +
      `<b>${word}</b></td>${cell(r.note ?? "")}</tr>`;
  }).join("\n");
  const html = `<table class="kdlab-scorecard"><caption><b>${escapeHtml(title)}</b></caption>` +
    `<thead><tr><th>claim</th><th>paper</th><th>ours</th><th>verdict</th><th>note</th></tr></thead>` +
    `<tbody>${body}</tbody></table>`;
  await emit({ [SCORECARD_MIME]: card, "text/html": html, "text/plain": scorecardText(card) });
  return card;
}
