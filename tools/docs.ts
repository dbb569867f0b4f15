/**
 * The library's API reference as a static site: `deno doc --html` over every folder's `mod.ts`
 * and the top-level modules of `lib/`. Each folder's page opens with its module doc and the
 * example that the test task runs (`deno test --doc`).
 *
 * Usage: `deno task docs [--out DIR]` (default `runs/docs/`; open `index.html`).
 *
 * @module
 */
import { join, relative } from "node:path";
import { parseArgs } from "./args.ts";
import { type DenoOutput, ROOT, runDeno } from "./deno.ts";
import { libraryModules } from "./doc_lint.ts";

/** The entry points documented: every `lib/<folder>/mod.ts`, and `lib/*.ts` but the tests. */
export function documentedModules(): string[] {
  return libraryModules().map((p) => relative(ROOT, p))
    .filter((p) => /^lib\/([^/]+\/mod|[^/]+)\.ts$/.test(p));
}

/** Writes the site to `outDir`; returns `deno doc`'s exit code and output. */
export function buildDocs(outDir: string): Promise<DenoOutput> {
  return runDeno(["doc", "--html", "--name=kdlab", `--output=${outDir}`, ...documentedModules()]);
}

if (import.meta.main) {
  const { options } = parseArgs(Deno.args, ["out"]);
  const outDir = typeof options.out === "string" ? options.out : join(ROOT, "runs", "docs");
  const { code, output } = await buildDocs(outDir);
  console.log(output.trim());
  if (code !== 0) Deno.exit(code);
  console.log(`open ${join(outDir, "index.html")}`);
}
