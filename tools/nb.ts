/**
 * `deno task nb notebooks/X.ipynb [--params '{...}'] [--out DIR] [--timeout S]`: executes one
 * notebook headless with the Deno kernel, writes the executed notebook and its HTML (default
 * under `runs/notebooks/`), and exits non-zero when a cell fails.
 *
 * @module
 */
import { parseArgs } from "./args.ts";
import { scorecardText } from "../lib/notebook/scorecard.ts";
import { runNotebook } from "./runner.ts";
import { ensureSetup } from "./setup.ts";

const usage = 'usage: deno task nb notebooks/X.ipynb [--params \'{"scale":"full"}\'] ' +
  "[--out runs/notebooks] [--timeout SECONDS_PER_CELL]";

if (import.meta.main) {
  try {
    const { options, positional } = parseArgs(Deno.args, ["params", "out", "timeout"]);
    if (positional.length !== 1) throw new Error(usage);
    const notebook = positional[0];
    const args = options as { params?: string; out?: string; timeout?: string };
    await ensureSetup("run");
    const timeout = args.timeout === undefined ? undefined : Number(args.timeout);
    if (timeout !== undefined && !(timeout > 0)) {
      throw new Error(`--timeout must be a positive number of seconds, got ${args.timeout}`);
    }
    const result = await runNotebook(notebook, {
      params: args.params,
      outDir: args.out,
      cellTimeoutS: timeout,
    });
    for (const card of result.scorecards) console.log(scorecardText(card));
    console.log(
      `${result.ok ? "ok" : "FAILED"}: ${notebook} in ${result.seconds.toFixed(1)} s → ` +
        `${result.ipynb}, ${result.html}`,
    );
    Deno.exit(result.ok ? 0 : 1);
  } catch (error) {
    console.error(`nb: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
