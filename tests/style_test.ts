/**
 * The repository's style gates, so that CI holds every landing to them: `deno fmt --check`,
 * `deno lint`, `deno check` of every folder, and the library's documentation lint
 * (`tools/doc_lint.ts`: JSDoc on every export and every member of an exported type).
 *
 * Notebooks are outside `deno fmt` (deno.json's `fmt.exclude`): Deno 2.9.6's `fmt --check` reports
 * every `.ipynb` as unformatted without a warm cache, although `deno fmt` leaves their bytes as
 * they are (seen on a fresh clone in CI), so the gate would fail on a clean checkout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { docFindings } from "../tools/doc_lint.ts";
import { ROOT } from "../tools/runner.ts";

async function deno(...args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: (decode(out.stdout) + decode(out.stderr)).slice(-4000) };
}

Deno.test("style: deno fmt --check and deno lint are clean", async () => {
  const fmt = await deno("fmt", "--check");
  assert.equal(fmt.code, 0, fmt.output);
  const lint = await deno("lint");
  assert.equal(lint.code, 0, lint.output);
});

Deno.test("style: deno check of lib, tools, tests and bench is clean", async () => {
  const check = await deno("check", "lib/", "tools/", "tests/", "bench/");
  assert.equal(check.code, 0, check.output);
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
  const found = await docFindings([module]);
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(found.map((f) => f.rule).sort(), ["missing-jsdoc", "missing-return-type"]);
});
