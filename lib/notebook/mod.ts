/**
 * Notebook display helpers over `Deno.jupyter`: plotly figures, tables, progress bars,
 * scorecards and papermill-style parameters. This is the analysis/display layer: it may import
 * polars and plotly; compute code (`lib/losses`, `lib/models`, `lib/train`) must not import it.
 *
 * @module
 */
export * from "./display.ts";
export * from "./plot.ts";
export * from "./table.ts";
export * from "./progress.ts";
export * from "./scorecard.ts";
export * from "./params.ts";
