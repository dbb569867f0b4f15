/**
 * Tables in notebooks: a polars DataFrame (or an array of row objects) as an HTML table plus a
 * text/plain rendering.
 *
 * @module
 */
import pl from "nodejs-polars";
import { emit, escapeHtml } from "./display.ts";

/** Options of {@linkcode table}. */
export interface TableOptions {
  /** A caption above the table. */
  caption?: string;
  /** Significant digits for floats (default 4). */
  digits?: number;
  /** At most this many rows are shown (default 50). */
  maxRows?: number;
}

/** Renders a DataFrame as an HTML `<table>` string. */
export function tableHtml(df: pl.DataFrame, options: TableOptions = {}): string {
  const digits = options.digits ?? 4;
  const maxRows = options.maxRows ?? 50;
  const rows = df.head(maxRows).toRecords();
  const head = df.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = rows.map((row) =>
    `<tr>${
      df.columns.map((c) => `<td>${escapeHtml(formatCell(row[c], digits))}</td>`).join("")
    }</tr>`
  ).join("\n");
  const more = df.height > maxRows
    ? `<tr><td colspan="${df.width}">… ${df.height - maxRows} more rows</td></tr>`
    : "";
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  return `<table class="kdlab-table">${caption}<thead><tr>${head}</tr></thead><tbody>${body}${more}</tbody></table>`;
}

/** Formats one cell: floats to `digits` significant digits, null as empty. */
export function formatCell(value: unknown, digits = 4): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Number.isFinite(value) ? String(Number(value.toPrecision(digits))) : String(value);
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/**
 * Displays a DataFrame (or row objects) as a table in the notebook; prints it outside a kernel.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import { table } from "./table.ts";
 * await table(pl.DataFrame({ method: ["fkl", "taid"], val_ce: [3.1, 3.0] }));
 * ```
 */
export async function table(
  data: pl.DataFrame | Record<string, unknown>[],
  options: TableOptions = {},
): Promise<void> {
  const df = Array.isArray(data) ? pl.DataFrame(data) : data;
  await emit({
    "text/html": tableHtml(df, options),
    "text/plain": (options.caption ? `${options.caption}\n` : "") + df.toString(),
  });
}
