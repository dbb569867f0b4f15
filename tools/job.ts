/**
 * Worker entry of `lib/runs/pool.ts`: `deno run -A tools/job.ts <module> <input.json>` starts the
 * backend (KD_BACKEND or automatic), imports the module, awaits `runJob(input)` and prints
 * `RESULT <json>` on stdout.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { initBackend } from "../lib/backend.ts";

const [module, inputFile] = Deno.args;
if (!module || !inputFile) {
  console.error("usage: deno run -A tools/job.ts <module> <input.json>");
  Deno.exit(2);
}
await initBackend(undefined, { log: false });
const mod = await import(pathToFileURL(module).href);
if (typeof mod.runJob !== "function") {
  console.error(`tools/job.ts: ${module} does not export runJob(input)`);
  Deno.exit(2);
}
const result = await mod.runJob(JSON.parse(await Deno.readTextFile(inputFile)));
console.log(`RESULT ${JSON.stringify(result)}`);
