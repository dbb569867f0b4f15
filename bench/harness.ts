/**
 * What the benchmarks share around their measurements: the backends a run covers, and the JSON
 * result they write under `bench/results/`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BackendInfo, initBackend } from "../lib/backend.ts";

/**
 * Starts each backend of `requested` (comma-separated; default "wasm,webgpu") in turn and yields
 * it. A backend that cannot start is skipped with a note; so is webgpu on a software adapter
 * unless the backends were asked for explicitly (`--backends webgpu`).
 */
export async function* benchBackends(
  requested: string | true | undefined,
  note: (line: string) => void,
  options: { log?: boolean } = {},
): AsyncGenerator<{ backend: string; info: BackendInfo }> {
  for (const backend of String(requested ?? "wasm,webgpu").split(",")) {
    let info;
    try {
      info = await initBackend(backend, { log: options.log ?? false });
    } catch (error) {
      note(`${backend}: unavailable (${(error as Error).message.split("\n")[0]})`);
      continue;
    }
    if (backend === "webgpu" && info.fallbackAdapter && !requested) {
      note("webgpu: software adapter only (llvmpipe); skipped (ask with --backends webgpu)");
      continue;
    }
    yield { backend, info };
  }
}

/**
 * Writes a benchmark's result, `{ benchmark, date, deno, machine, ...body }`, to `out` (default
 * `bench/results/<name>.json`) and says where.
 */
export async function writeBenchResult(
  name: string,
  body: Record<string, unknown>,
  out?: string,
): Promise<void> {
  const path = out ?? join(dirname(fileURLToPath(import.meta.url)), "results", `${name}.json`);
  const result = {
    benchmark: name,
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    machine: { cpus: navigator.hardwareConcurrency },
    ...body,
  };
  await Deno.writeTextFile(path, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path}`);
}
