/**
 * Worker entry of `lib/runs/pool.ts` and of exported cluster sweeps:
 *
 * - `deno run -A tools/job.ts <module> <input.json>`: one job;
 * - `deno run -A tools/job.ts --jobs jobs.jsonl --index N`: line N of a job list (Slurm array
 *   tasks and Kubernetes Indexed Jobs; see `lib/runs/export.ts`).
 *
 * It starts the backend (KD_BACKEND or automatic), imports the module, awaits `runJob(input)` and
 * prints `RESULT <json>` on stdout. Started by a pool (`KDLAB_WORKER_PARENT` set), it exits when
 * that process does.
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { initBackend } from "../lib/backend.ts";
import { PARENT_ENV } from "../lib/runs/pool.ts";
import { REPO_ROOT } from "../lib/runs/run.ts";
import { parseArgs } from "./args.ts";

const usage = "usage: deno run -A tools/job.ts <module> <input.json> | --jobs FILE --index N";
const { options, positional } = parseArgs(Deno.args, ["jobs", "index"]);
let module: string;
let input: unknown;
if (typeof options.jobs === "string") {
  const index = Number(options.index);
  const lines = (await Deno.readTextFile(options.jobs)).split("\n").filter((l) => l.trim());
  if (!Number.isInteger(index) || index < 0 || index >= lines.length) {
    console.error(
      `tools/job.ts: --index must be an integer in [0, ${lines.length}), got ${options.index}`,
    );
    Deno.exit(2);
  }
  const job = JSON.parse(lines[index]);
  module = isAbsolute(job.module) ? job.module : join(REPO_ROOT, job.module);
  input = job.input;
} else if (positional.length === 2) {
  module = positional[0];
  input = JSON.parse(await Deno.readTextFile(positional[1]));
} else {
  console.error(usage);
  Deno.exit(2);
}
// A pool worker stops when the process that started it is gone (reparented: another ppid).
const parent = Deno.env.get(PARENT_ENV);
if (parent !== undefined) {
  const watch = setInterval(() => {
    if (String(Deno.ppid) !== parent) {
      console.error(`tools/job.ts: parent process ${parent} exited; stopping`);
      Deno.exit(3);
    }
  }, 500);
  Deno.unrefTimer(watch);
}
await initBackend(undefined, { log: false });
const mod = await import(pathToFileURL(module).href);
if (typeof mod.runJob !== "function") {
  console.error(`tools/job.ts: ${module} does not export runJob(input)`);
  Deno.exit(2);
}
const result = await mod.runJob(input);
console.log(`RESULT ${JSON.stringify(result)}`);
