/**
 * `deno doc --lint` over the library (every non-test module of `lib/`): every export, and every
 * member of an exported interface or class, has JSDoc, and exported functions and constants have
 * explicit types. Deno's `private-type-ref` rule is not applied: it asks for re-exports of the
 * tfjs and polars types our signatures use, which are theirs to document, not ours.
 *
 * Usage: `deno run -A tools/doc_lint.ts` (part of `deno task check`; tests/style_test.ts runs it).
 * Exits 1 and prints each finding when there is one.
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const IGNORED_RULES = new Set(["private-type-ref"]);

/** A finding of `deno doc --lint`: its rule, where, and what it says. */
export interface DocFinding {
  /** The lint rule, e.g. `missing-jsdoc`. */
  rule: string;
  /** `path:line:column`, relative to the repository. */
  location: string;
  /** The message. */
  message: string;
}

/** The library's modules: every `.ts` file under `lib/` but the tests. */
export function libraryModules(dir = join(ROOT, "lib")): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...libraryModules(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) out.push(path);
  }
  return out.sort();
}

/** Runs `deno doc --lint` on `modules`; returns its findings, ignored rules left out. */
export async function docFindings(modules: string[] = libraryModules()): Promise<DocFinding[]> {
  const { stderr, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...modules],
    env: { NO_COLOR: "1" },
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr) + new TextDecoder().decode(stdout);
  const findings: DocFinding[] = [];
  const pattern = /^error\[([\w-]+)\]: (.*)\n\s*--> (.*)$/gm;
  for (const [, rule, message, where] of text.matchAll(pattern)) {
    if (IGNORED_RULES.has(rule)) continue;
    const location = where.startsWith("/") ? relative(ROOT, where) : where;
    findings.push({ rule, location, message });
  }
  return findings;
}

if (import.meta.main) {
  const findings = await docFindings();
  for (const f of findings) console.log(`${f.location}: ${f.rule}: ${f.message}`);
  if (findings.length > 0) {
    console.log(`${findings.length} documentation findings`);
    Deno.exit(1);
  }
  console.log("doc lint: clean");
}
