/**
 * The main job (`deno task reproduce`): executes every notebook under `notebooks/` at quick scale
 * on the best available backend (or `KD_BACKEND`), writes executed notebooks and HTML under
 * `runs/notebooks/`, and prints each notebook's scorecard. `--scale full` runs the full scale and
 * publishes the HTML of each notebook that wrote its results table to `data/results/` as
 * `data/results/<notebook>_full.html`, beside that table and one shared `plotly.min.js`.
 *
 * @module
 */
import { parseArgs } from "./args.ts";
import { basename, join } from "node:path";
import { publishHtml } from "../lib/notebook/publish.ts";
import { scorecardTally, scorecardText } from "../lib/notebook/scorecard.ts";
import { listNotebooks, ROOT, runNotebook } from "./runner.ts";
import { ensureSetup } from "./setup.ts";

const RESULTS = join(ROOT, "data", "results");

/** Modification times of the files in data/results/, by name. */
function resultFiles(): Map<string, number> {
  const files = new Map<string, number>();
  for (const entry of Deno.readDirSync(RESULTS)) {
    if (entry.isFile) {
      files.set(entry.name, Deno.statSync(join(RESULTS, entry.name)).mtime!.getTime());
    }
  }
  return files;
}

/** Whether a file other than a published page appeared or changed in data/results/ since `before`. */
function wroteResults(before: Map<string, number>): boolean {
  return [...resultFiles()].some(([name, mtime]) =>
    !name.endsWith(".html") && !name.endsWith(".js") && before.get(name) !== mtime
  );
}

if (import.meta.main) {
  let args: { scale: string; only?: string };
  try {
    const { options } = parseArgs(Deno.args, ["scale", "only"]);
    args = { scale: "quick", ...options } as { scale: string; only?: string };
    if (args.scale !== "quick" && args.scale !== "full") {
      throw new Error(`--scale must be quick or full, got ${args.scale}`);
    }
  } catch (error) {
    console.error(`reproduce: ${(error as Error).message}`);
    Deno.exit(2);
  }
  await ensureSetup("run");
  const notebooks = (await listNotebooks()).filter((n) => !args.only || n.includes(args.only));
  const summary: string[] = [];
  let failures = 0;
  for (const notebook of notebooks) {
    console.log(`\n=== ${basename(notebook)} (scale ${args.scale})`);
    const resultsBefore = args.scale === "full" ? resultFiles() : undefined;
    // Full-scale notebooks train for up to ~90 minutes in one cell (runs are resumable).
    const result = await runNotebook(notebook, {
      params: { scale: args.scale },
      cellTimeoutS: args.scale === "full" ? 6 * 3600 : undefined,
    });
    for (const card of result.scorecards) console.log(scorecardText(card));
    // A notebook with full-scale results (it wrote a table to data/results/) is published there.
    if (result.ok && resultsBefore && wroteResults(resultsBefore)) {
      const published = join(RESULTS, `${basename(notebook, ".ipynb")}_full.html`);
      await publishHtml(result.html, published);
      console.log(`published ${published}`);
    }
    const tally = result.scorecards.map(scorecardTally).join("; ");
    summary.push(
      `${result.ok ? "ok    " : "FAILED"} ${basename(notebook)}  ${result.seconds.toFixed(1)} s  ` +
        `${tally ? `${tally}  ` : ""}${result.html}`,
    );
    if (!result.ok) failures++;
  }
  console.log(`\n${summary.join("\n")}`);
  console.log(`${notebooks.length - failures} notebooks ok, ${failures} failed`);
  Deno.exit(failures === 0 ? 0 : 1);
}
