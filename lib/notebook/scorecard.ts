/**
 * The closing scorecard of every reproduction notebook: each claim of the paper, the paper's
 * value, ours, and whether the claim holds at our scale. It is shown as a table and also carried
 * as `application/vnd.kdlab.scorecard+json`, which `deno task reproduce` reads back from the
 * executed notebook. A row that compares two methods can carry the paired seed comparison it
 * rests on; when that difference's 95% interval holds 0, the verdict says it is within seed noise.
 *
 * @module
 */
import { formatComparison, type PairedComparison } from "../analysis/stats.ts";
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
  /**
   * The paired seed comparison the verdict rests on (from `pairedComparisons`), when the claim
   * compares two methods: shown with its 95% interval, and an interval holding 0 marks the
   * verdict as within seed noise, whichever way the means point.
   */
  evidence?: PairedComparison;
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
    const e = row.evidence;
    if (e !== undefined && !(Number.isFinite(e.mean) && e.n >= 1 && e.a && e.b && e.metric)) {
      throw new Error(
        `scorecard: rows[${i}].evidence must be a paired comparison (a, b, metric, a finite ` +
          `mean over n ≥ 1 seeds), got ${JSON.stringify(e)}`,
      );
    }
  });
}

/** True when a tested row rests on a paired difference whose 95% interval holds 0. */
export function withinSeedNoise(row: ScorecardRow): boolean {
  return row.holds !== null && row.evidence !== undefined && Number.isFinite(row.evidence.low) &&
    !row.evidence.excludesZero;
}

/** Plain-text rendering of a scorecard (used outside the kernel and by `reproduce`). */
export function scorecardText(card: Scorecard): string {
  const mark = (h: boolean | null) => h === true ? "✓ holds" : h === false ? "✗ fails" : "– n/a";
  const lines = card.rows.map((r) =>
    `  ${mark(r.holds)}${withinSeedNoise(r) ? " (within seed noise)" : ""}  ${r.claim}\n` +
    `      paper: ${r.paper} | ours: ${r.ours}${
      r.evidence ? ` | Δ ${formatComparison(r.evidence)}` : ""
    }${r.note ? ` (${r.note})` : ""}`
  );
  return `${card.title}: ${scorecardTally(card)}\n${lines.join("\n")}`;
}

/** A scorecard's count: "4/9 claims hold; 2 verdicts within seed noise". */
export function scorecardTally(card: Scorecard): string {
  const held = card.rows.filter((r) => r.holds === true).length;
  const tested = card.rows.filter((r) => r.holds !== null).length;
  const noisy = card.rows.filter(withinSeedNoise).length;
  const caveat = noisy > 0 ? `; ${noisy} verdict${noisy > 1 ? "s" : ""} within seed noise` : "";
  return `${held}/${tested} claims hold${caveat}`;
}

/** HTML rendering of a scorecard: a table with a Δ column when some row carries evidence. */
export function scorecardHtml(card: Scorecard): string {
  const cell = (s: string) => `<td>${escapeHtml(s)}</td>`;
  // The Δ column only where some row compares two methods over seeds.
  const paired = card.rows.some((r) => r.evidence !== undefined);
  const body = card.rows.map((r) => {
    const color = r.holds === true ? "#1a7f37" : r.holds === false ? "#cf222e" : "#6e7781";
    const word = r.holds === true ? "holds" : r.holds === false ? "does not hold" : "not tested";
    const noise = withinSeedNoise(r)
      ? `<br><small style="color:#6e7781">within seed noise</small>`
      : "";
    const delta = paired ? cell(r.evidence ? formatComparison(r.evidence) : "") : "";
    const verdict = `<td style="color:${color}"><b>${word}</b>${noise}</td>`;
    return `<tr>${cell(r.claim)}${cell(r.paper)}${cell(r.ours)}${delta}${verdict}` +
      `${cell(r.note ?? "")}</tr>`;
  }).join("\n");
  return `<table class="kdlab-scorecard"><caption><b>${escapeHtml(card.title)}</b></caption>` +
    `<thead><tr><th>claim</th><th>paper</th><th>ours</th>` +
    (paired ? "<th>Δ paired over seeds (95% CI)</th>" : "") +
    `<th>verdict</th><th>note</th></tr></thead>` +
    `<tbody>${body}</tbody></table>`;
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
  const html = scorecardHtml(card);
  await emit({ [SCORECARD_MIME]: card, "text/html": html, "text/plain": scorecardText(card) });
  return card;
}
