/**
 * `deno task runs [PREFIX] [--json]`: where every run under `runs/` (or `KDLAB_RUNS`) stands:
 * finished (with its headline result), training (and by which process), stopped part-way
 * (resumable) or not started. PREFIX keeps the runs whose id starts with it
 * (`deno task runs taid-full`). Reads only; safe while notebooks train.
 *
 * @module
 */
import { parseArgs } from "./args.ts";
import { listRuns, runStatusText } from "../lib/runs/status.ts";

if (import.meta.main) {
  try {
    const { options, positional } = parseArgs(Deno.args, [], ["json"]);
    if (positional.length > 1) throw new Error("usage: deno task runs [PREFIX] [--json]");
    const runs = await listRuns({ prefix: positional[0] ?? "" });
    console.log(options.json ? JSON.stringify(runs, null, 2) : runStatusText(runs));
  } catch (error) {
    console.error(`runs: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
