/**
 * Plotly figures in notebooks: the `application/vnd.plotly.v1+json` bundle for front ends that
 * render it (JupyterLab, VS Code) plus a `text/html` fallback that draws offline in the classic
 * notebook and in nbconvert's HTML export. plotly.js is read from the `plotly.js-dist-min` npm
 * package and inlined once per kernel session (the first figure carries it).
 *
 * @module
 */
import { createRequire } from "node:module";
import { emit, escapeHtml } from "./display.ts";

/** A plotly figure: traces, layout and config as plotly.js takes them. */
export interface Figure {
  /** The traces. */
  data: Record<string, unknown>[];
  /** Axes, titles, sizes. */
  layout?: Record<string, unknown>;
  /** Plotly's options (e.g. `{ responsive: true }`). */
  config?: Record<string, unknown>;
}

let libraryEmitted = false;
let figureCounter = 0;

/** The plotly.js bundle (minified, ~4.8 MB) as text. */
export function plotlyLibrary(): string {
  const require = createRequire(import.meta.url);
  return Deno.readTextFileSync(require.resolve("plotly.js-dist-min"));
}

/**
 * A standalone HTML fragment that draws `figure`. With `includeLibrary` the fragment carries
 * plotly.js itself; otherwise it waits for an earlier fragment to have loaded it.
 */
export function figureHtml(figure: Figure, includeLibrary: boolean): string {
  checkFigure(figure);
  const id = `kdlab-plot-${Date.now().toString(36)}-${figureCounter++}`;
  const json = JSON.stringify(figure).replace(/</g, "\\u003c");
  // plotly.js registers as an AMD module, not window.Plotly, where require.js is loaded (the
  // classic notebook, nbconvert's templates online): hide `define` while it loads.
  const library = includeLibrary
    ? `<script>window.__kdlabDefine = window.define; window.define = undefined;</script>
<script type="text/javascript">${plotlyLibrary().replace(/<\/script/gi, "<\\/script")}</script>
<script>window.define = window.__kdlabDefine;</script>\n`
    : "";
  return `${library}<div id="${id}" class="kdlab-plot" style="width:100%;min-height:420px"></div>
<script type="text/javascript">
(function () {
  var fig = ${json};
  var tries = 0;
  function draw() {
    if (window.Plotly) { window.Plotly.newPlot("${id}", fig.data, fig.layout || {}, fig.config || {}); return; }
    if (++tries < 200) { setTimeout(draw, 50); return; }
    document.getElementById("${id}").textContent = "plotly.js did not load: re-run the notebook's first plot cell";
  }
  draw();
})();
</script>`;
}

/**
 * Displays a plotly figure in the notebook (outside a kernel: prints a one-line summary).
 *
 * @example
 * ```ts
 * import { plot } from "./plot.ts";
 * await plot({ data: [{ x: [1, 2, 3], y: [2, 1, 3], type: "scatter" }], layout: { title: { text: "demo" } } });
 * ```
 */
export async function plot(figure: Figure): Promise<void> {
  const html = figureHtml(figure, !libraryEmitted);
  const shown = await emit({
    "application/vnd.plotly.v1+json": figure,
    "text/html": html,
    "text/plain": `[plotly figure: ${
      escapeHtml(figureTitle(figure))
    }, ${figure.data.length} trace(s)]`,
  });
  if (shown) libraryEmitted = true;
}

function figureTitle(figure: Figure): string {
  const title = figure.layout?.title;
  if (typeof title === "string") return title;
  if (title && typeof title === "object" && "text" in title) return String(title.text);
  return "untitled";
}

function checkFigure(figure: Figure): void {
  if (!figure || !Array.isArray(figure.data)) {
    throw new Error("plot: figure.data must be an array of plotly traces");
  }
}
