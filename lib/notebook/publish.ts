/**
 * Publishing executed notebooks' HTML side by side in one folder (`data/results/`) with one shared
 * copy of plotly.js. An exported notebook carries the library inline in its first figure (~4.8 MB,
 * see `plot.ts`), so six published notebooks would hold six copies; here the inline script
 * becomes `<script src="plotly.min.js">` and the library is written once next to the pages, which
 * still open offline from the folder.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { plotlyLibrary } from "./plot.ts";

/** The file name of the shared plotly.js next to published pages. */
export const PLOTLY_FILE = "plotly.min.js";

/** The inline script tag that `figureHtml` writes for the library. */
function inlineLibraryTag(): string {
  return `<script type="text/javascript">${
    plotlyLibrary().replace(/<\/script/gi, "<\\/script")
  }</script>`;
}

/**
 * `html` with every inline copy of plotly.js (as the first figure of a notebook writes it)
 * replaced by a script loading `src`; `replaced` counts them (0: the page has no figure).
 */
export function externalizePlotly(
  html: string,
  src: string = PLOTLY_FILE,
): { html: string; replaced: number } {
  const parts = html.split(inlineLibraryTag());
  const tag = `<script type="text/javascript" src="${src}"></script>`;
  return { html: parts.join(tag), replaced: parts.length - 1 };
}

/**
 * Writes the executed notebook page `source` to `dest` with plotly.js external, and the library
 * as `plotly.min.js` next to `dest` when it is missing or differs (a newer plotly.js package).
 * Returns how many inline copies were replaced.
 */
export async function publishHtml(source: string, dest: string): Promise<number> {
  const { html, replaced } = externalizePlotly(await Deno.readTextFile(source));
  await Deno.mkdir(dirname(dest), { recursive: true });
  await Deno.writeTextFile(dest, html);
  if (replaced > 0) {
    const libraryPath = join(dirname(dest), PLOTLY_FILE);
    const library = plotlyLibrary();
    let current: string | undefined;
    try {
      current = await Deno.readTextFile(libraryPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (current !== library) await Deno.writeTextFile(libraryPath, library);
  }
  return replaced;
}
