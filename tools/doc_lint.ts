/**
 * `deno doc --lint` over the library (every non-test module of `lib/`): every export, and every
 * member of an exported interface or class, has JSDoc, and exported functions and constants have
 * explicit types. Deno's `private-type-ref` rule is not applied: it asks for re-exports of the
 * tfjs and polars types our signatures use, which are theirs to document, not ours.
 *
 * One rule of ours is added (`missing-module-example`): every folder's `mod.ts` opens with a
 * module doc holding an `@example` that asserts something, a known answer that `deno test --doc`
 * runs, so that each folder's entry point shows how it is used and the example cannot go stale.
 *
 * Usage: `deno run -A tools/doc_lint.ts` (part of `deno task check`; tests/style_test.ts runs it).
 * Exits 1 and prints each finding when there is one.
 *
 * @module
 */
import { basename, join, relative } from "node:path";
import { ROOT, runDeno } from "./deno.ts";

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

/** True when the module doc (the file's first JSDoc block) has an `@example` with an assertion. */
export function hasAssertingExample(source: string): boolean {
  const moduleDoc = source.match(/\/\*\*[\s\S]*?\*\//)?.[0] ?? "";
  const example = moduleDoc.indexOf("@example");
  return moduleDoc.includes("@module") && example >= 0 &&
    /\bassert\b/.test(moduleDoc.slice(example));
}

/**
 * Runs `deno doc --lint` on `modules`, and the module-example rule on each `mod.ts` among them;
 * returns the findings, ignored rules left out.
 */
export async function docFindings(modules: string[] = libraryModules()): Promise<DocFinding[]> {
  const { output: text } = await runDeno(["doc", "--lint", ...modules]);
  const findings: DocFinding[] = modules.filter((m) => basename(m) === "mod.ts")
    .filter((m) => !hasAssertingExample(Deno.readTextFileSync(m)))
    .map((m) => ({
      rule: "missing-module-example",
      location: `${relative(ROOT, m)}:1:1`,
      message: "a folder's mod.ts needs an @example in its module doc that asserts its result",
    }));
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
