/**
 * The test task's runner (`tools/test.ts`): how it reads Deno's summary and JUnit report, when it
 * accepts a run that died after every test passed, and end to end on fixture modules that pass,
 * fail, fail to load, and abort the process during the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../tools/deno.ts";
import { judgeTestRun, junitTotals, testArgs, testSummary } from "../tools/test.ts";

const OK = { ok: true, passed: 378, failed: 0 };
const REPORT = { tests: 380, failures: 0, errors: 0 };
const ABORT = { code: 134, signal: "SIGABRT" as const };

Deno.test("testSummary reads Deno's closing line, colour codes, steps and all", () => {
  const colour =
    "\x1b[0m\x1b[32mok\x1b[0m | 378 passed | 0 failed \x1b[0m\x1b[38;5;245m(5m47s)\x1b[0m\n";
  assert.deepEqual(testSummary("noise\n" + colour), OK);
  assert.deepEqual(testSummary("ok | 5 passed (3 steps) | 0 failed | 1 ignored (1s)\n"), {
    ok: true,
    passed: 5,
    failed: 0,
  });
  assert.deepEqual(testSummary("FAILED | 0 passed | 1 failed (0ms)\n"), {
    ok: false,
    passed: 0,
    failed: 1,
  });
  assert.equal(
    testSummary("a test printed ok | 3 passed | 0 failed? no: not at a line start"),
    undefined,
  );
  assert.equal(testSummary(""), undefined);
});

Deno.test("junitTotals reads the root element's counts, and nothing else", () => {
  const xml = '<?xml version="1.0"?>\n<testsuites name="deno test" tests="3" failures="1" ' +
    'errors="0" time="0.6">\n<testsuite name="a" tests="9" failures="0" errors="0">';
  assert.deepEqual(junitTotals(xml), { tests: 3, failures: 1, errors: 0 });
  assert.equal(junitTotals('<testsuite tests="9" failures="0" errors="0">'), undefined);
  assert.equal(junitTotals('<testsuites tests="3" errors="0">'), undefined);
});

Deno.test("judgeTestRun: exit 0 passes, any failure keeps its code", () => {
  assert.deepEqual(judgeTestRun({ code: 0, signal: null }, OK, REPORT), { code: 0 });
  assert.deepEqual(judgeTestRun({ code: 1, signal: null }, OK, REPORT), { code: 1 });
  assert.deepEqual(judgeTestRun({ code: 137, signal: "SIGKILL" }, OK, REPORT), { code: 137 });
  assert.equal(judgeTestRun({ code: 0, signal: "SIGABRT" }, undefined, undefined).code, 1);
});

Deno.test("judgeTestRun accepts a crash signal only after an ok summary and a clean report", () => {
  for (const signal of ["SIGABRT", "SIGSEGV", "SIGBUS"] as const) {
    const verdict = judgeTestRun({ code: 134, signal }, OK, REPORT);
    assert.equal(verdict.code, 0);
    assert.match(verdict.note ?? "", new RegExp(`all 378 tests passed.*${signal}`));
  }
  const refused: [string, Parameters<typeof judgeTestRun>][] = [
    ["no summary", [ABORT, undefined, REPORT]],
    ["no report", [ABORT, OK, undefined]],
    ["a failed summary", [ABORT, { ok: false, passed: 377, failed: 1 }, REPORT]],
    ["a module that failed to load", [ABORT, { ok: false, passed: 378, failed: 1 }, REPORT]],
    ["no test run", [ABORT, { ok: true, passed: 0, failed: 0 }, { ...REPORT, tests: 0 }]],
    ["a failure in the report", [ABORT, OK, { ...REPORT, failures: 1 }]],
    ["an error in the report", [ABORT, OK, { ...REPORT, errors: 2 }]],
  ];
  for (const [what, args] of refused) {
    const verdict = judgeTestRun(...args);
    assert.equal(verdict.code, 134, what);
    assert.ok(verdict.note, what);
  }
});

Deno.test("testArgs: the suite's paths unless paths are given, the caller's options kept", () => {
  assert.deepEqual(testArgs([], "/t/j.xml"), [
    "test",
    "-A",
    "--doc",
    "--parallel",
    "--junit-path=/t/j.xml",
    "lib/",
    "tests/",
  ]);
  assert.deepEqual(testArgs(["--filter=gelu", "lib/gpu/"], "/t/j.xml").slice(5), [
    "--filter=gelu",
    "lib/gpu/",
  ]);
  assert.deepEqual(testArgs(["--filter", "gelu", "--fail-fast"], "/t/j.xml").slice(5), [
    "--filter",
    "gelu",
    "--fail-fast",
    "lib/",
    "tests/",
  ]);
});

Deno.test("tools/test.ts end to end: pass, fail, a module that fails to load, an abort", async () => {
  const run = async (fixture: string) => {
    // Core dumps off: the aborting fixture would leave a core file of ~0.6 GB in the repository.
    const { code, stderr } = await new Deno.Command("sh", {
      args: [
        "-c",
        'ulimit -c 0 && exec "$@"',
        "sh",
        Deno.execPath(),
        "run",
        "-A",
        "tools/test.ts",
        join("tests/fixtures/test_runner", fixture),
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code, stderr: new TextDecoder().decode(stderr) };
  };
  assert.equal((await run("passes.ts")).code, 0);
  assert.equal((await run("fails.ts")).code, 1);
  assert.equal((await run("broken.ts")).code, 1);
  const aborted = await run("aborts.ts");
  assert.equal(aborted.code, 134);
  assert.match(aborted.stderr, /died of SIGABRT before its summary/);
});
