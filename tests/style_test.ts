/**
 * The repository's style gates, so that CI holds every landing to them: `deno fmt --check`,
 * `deno lint`, `deno check` of every folder with the JSDoc examples and the README's code blocks,
 * and the library's documentation lint (`tools/doc_lint.ts`: JSDoc on every export and every
 * member of an exported type, and an `@example` on every folder's `mod.ts`). The examples
 * themselves run as tests (`deno test --doc` in the test task), each asserting its known answer.
 *
 * Notebooks are outside `deno fmt` (deno.json's `fmt.exclude`): Deno 2.9.6's `fmt --check` reports
 * every `.ipynb` as unformatted without a warm cache, although `deno fmt` leaves their bytes as
 * they are (seen on a fresh clone in CI), so the gate would fail on a clean checkout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { docFindings, hasAssertingExample } from "../tools/doc_lint.ts";
import { buildDocs, documentedModules } from "../tools/docs.ts";
import { type DenoOutput, ROOT, runDeno } from "../tools/deno.ts";

async function deno(...args: string[]): Promise<DenoOutput> {
  const { code, output } = await runDeno(args);
  return { code, output: output.slice(-4000) };
}

Deno.test("style: deno fmt --check and deno lint are clean", async () => {
  const fmt = await deno("fmt", "--check");
  assert.equal(fmt.code, 0, fmt.output);
  const lint = await deno("lint");
  assert.equal(lint.code, 0, lint.output);
});

Deno.test("style: deno check of lib, tools, tests, bench and the JSDoc examples is clean", async () => {
  const check = await deno("check", "--doc", "lib/", "tools/", "tests/", "bench/");
  assert.equal(check.code, 0, check.output);
});

Deno.test("style: the README's code blocks type-check", async () => {
  const check = await deno("check", "--doc-only", "README.md");
  assert.equal(check.code, 0, check.output);
  // The same check sees a wrong type in a Markdown code block.
  const dir = await Deno.makeTempDir({ prefix: "kdlab-md-check-" });
  const page = join(dir, "page.md");
  await Deno.writeTextFile(page, '```ts\nconst n: number = "two";\n```\n');
  const bad = await deno("check", "--doc-only", page);
  await Deno.remove(dir, { recursive: true });
  assert.notEqual(bad.code, 0, bad.output);
  assert.match(bad.output, /TS2322/);
});

Deno.test("style: every library export and exported member has JSDoc", async () => {
  const findings = await docFindings();
  assert.deepEqual(findings.map((f) => `${f.location}: ${f.rule}`), []);
  // The lint itself sees an undocumented member and a missing return type.
  const dir = await Deno.makeTempDir({ prefix: "kdlab-doc-lint-" });
  const module = join(dir, "undocumented.ts");
  await Deno.writeTextFile(
    module,
    "/** A shape. */\nexport interface Shape {\n  width: number;\n}\n" +
      "/** Twice. */\nexport function twice(x: number) {\n  return 2 * x;\n}\n",
  );
  // ...and a folder's mod.ts whose example asserts nothing.
  const mod = join(dir, "mod.ts");
  await Deno.writeTextFile(
    mod,
    '/**\n * Shapes.\n *\n * @example\n * ```ts\n * import { twice } from "./mod.ts";\n' +
      ' * console.log(twice(2));\n * ```\n *\n * @module\n */\nexport * from "./undocumented.ts";\n',
  );
  const found = await docFindings([module, mod]);
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(found.map((f) => f.rule).sort(), [
    "missing-jsdoc",
    "missing-module-example",
    "missing-return-type",
  ]);
  assert.ok(hasAssertingExample(Deno.readTextFileSync(join(ROOT, "lib", "taid", "mod.ts"))));
});

Deno.test("style: deno task docs builds the API reference with every folder's example", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kdlab-docs-" });
  try {
    const { code, output } = await buildDocs(dir);
    assert.equal(code, 0, output);
    const modules = documentedModules();
    assert.ok(modules.includes("lib/taid/mod.ts") && modules.includes("lib/backend.ts"));
    for (const module of modules.filter((m) => m.endsWith("/mod.ts"))) {
      const page = Deno.readTextFileSync(join(dir, module.slice("lib/".length), "index.html"));
      assert.match(page, /Examples/, `${module}: no example on its page`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
