/**
 * The test task: set-up for tests (`tools/setup.ts test`), then `deno test -A --doc --parallel`
 * over `lib/` and `tests/` (or the paths given), with a JUnit report, and a verdict that tells a
 * failing suite from a runtime that dies after every test has passed.
 *
 * Why the second case exists: Deno 2.9 can abort while it tears the process down, after the
 * summary `ok | N passed | 0 failed` is printed (CI saw glibc's `corrupted size vs. prev_size in
 * fastbins`, exit 134). Native-addon finalizers run during isolate disposal are the known cause
 * (denoland/deno#35692, #36556; gjsify/gjsify#773 traces one such crash to a stale finalizer on
 * a tokio thread); this suite loads two such addons (nodejs-polars and WebGPU's Vulkan driver).
 * Such an exit is accepted only when it was a crash signal (SIGABRT, SIGSEGV, SIGBUS), Deno
 * printed its final summary as `ok | N passed | 0 failed` (which counts a module that failed to
 * load, as the JUnit report does not), and the JUnit report, which this run writes to a fresh
 * temporary folder once every module has finished, exists with N ≥ 1 tests, no failure and no
 * error. Anything else fails as before: a failing test, a crash before the end (no summary, no
 * report), any other exit code.
 *
 * Usage: `deno run -A tools/test.ts [deno test options] [paths]` (`deno task test` runs it).
 *
 * @module
 */
import { join } from "node:path";
import { ensureSetup } from "./setup.ts";
import { ROOT } from "./deno.ts";

/** How the `deno test` process ended: its exit code and, when a signal killed it, the signal. */
export interface TestExit {
  /** The exit code (128 + n when signal n killed it). */
  code: number;
  /** The signal that killed it, if any. */
  signal: Deno.Signal | null;
}

/** The totals of a JUnit report (the root `<testsuites>` element's attributes). */
export interface JunitTotals {
  tests: number;
  failures: number;
  errors: number;
}

/** The verdict on a test run: the exit code the task returns and, when it differs, why. */
export interface TestVerdict {
  code: number;
  note?: string;
}

/** What Deno's closing summary line says: `ok` or `FAILED`, and its counts. */
export interface TestSummary {
  ok: boolean;
  passed: number;
  failed: number;
}

/** Signals a runtime crash ends with. */
const CRASH_SIGNALS: readonly Deno.Signal[] = ["SIGABRT", "SIGSEGV", "SIGBUS"];

/**
 * Reads the totals off a JUnit report's root `<testsuites ...>` element, as Deno writes it.
 * @returns undefined when the text has no root element with the three counts.
 */
export function junitTotals(xml: string): JunitTotals | undefined {
  const root = xml.match(/<testsuites\b[^>]*>/)?.[0];
  if (!root) return undefined;
  const count = (name: string) => {
    const value = root.match(new RegExp(`\\b${name}="(\\d+)"`))?.[1];
    return value === undefined ? undefined : Number(value);
  };
  const [tests, failures, errors] = [count("tests"), count("failures"), count("errors")];
  if (tests === undefined || failures === undefined || errors === undefined) return undefined;
  return { tests, failures, errors };
}

/**
 * Finds Deno's closing summary (`ok | 3 passed | 0 failed | 1 ignored (1s)`, or `FAILED | …`)
 * in the test output, colour codes and all; the last one wins.
 * @returns undefined when the output has no summary line.
 */
export function testSummary(output: string): TestSummary | undefined {
  // deno-lint-ignore no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const lines = [
    ...plain.matchAll(/^(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/gm),
  ];
  const last = lines.at(-1);
  if (!last) return undefined;
  return { ok: last[1] === "ok", passed: Number(last[2]), failed: Number(last[3]) };
}

/**
 * Judges a `deno test` run from how it exited, its closing summary and the JUnit report it wrote
 * (undefined when it printed or wrote none this run). Exit 0 passes; a crash signal after an
 * `ok` summary and a complete report with every test passed passes with a note; everything else
 * keeps its exit code (1 when a signal-killed run reported 0).
 */
export function judgeTestRun(
  exit: TestExit,
  summary: TestSummary | undefined,
  report: JunitTotals | undefined,
): TestVerdict {
  if (exit.code === 0 && exit.signal === null) return { code: 0 };
  const code = exit.code === 0 ? 1 : exit.code;
  if (exit.signal === null || !CRASH_SIGNALS.includes(exit.signal)) return { code };
  if (!summary || !report) {
    return {
      code,
      note: `deno test died of ${exit.signal} before its ${summary ? "report" : "summary"}: ` +
        `a crash during the run`,
    };
  }
  if (
    !summary.ok || summary.failed > 0 || summary.passed === 0 || report.tests === 0 ||
    report.failures > 0 || report.errors > 0
  ) {
    return {
      code,
      note: `deno test died of ${exit.signal}; its summary says ${summary.passed} passed, ` +
        `${summary.failed} failed; its report counts ${report.tests} tests, ` +
        `${report.failures} failures, ${report.errors} errors`,
    };
  }
  return {
    code: 0,
    note: `all ${summary.passed} tests passed (summary and JUnit report); deno then died of ` +
      `${exit.signal} ` +
      `while tearing the process down, a runtime fault after the run (see tools/test.ts), ` +
      `not a test failure`,
  };
}

/** `deno test` options that take their value as the next argument (`--filter gelu`). */
const VALUED_OPTIONS = ["--filter", "--reporter"];

/**
 * `deno test` arguments: the suite's flags, the caller's options (with the values of
 * {@link VALUED_OPTIONS} given apart), and the caller's paths or `lib/` and `tests/`.
 */
export function testArgs(args: string[], junitPath: string): string[] {
  const paths: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith("-")) paths.push(args[i]);
    else if (VALUED_OPTIONS.includes(args[i]) && i + 1 < args.length) {
      options.push(args[i], args[++i]);
    } else options.push(args[i]);
  }
  return [
    "test",
    "-A",
    "--doc",
    "--parallel",
    `--junit-path=${junitPath}`,
    ...options,
    ...(paths.length > 0 ? paths : ["lib/", "tests/"]),
  ];
}

/** Copies a stream to stdout as it comes and returns its last `keep` bytes, decoded. */
async function echoKeepingTail(stream: ReadableStream<Uint8Array>, keep: number): Promise<string> {
  let tail = new Uint8Array(0);
  for await (const chunk of stream) {
    for (let written = 0; written < chunk.length;) {
      written += await Deno.stdout.write(chunk.subarray(written));
    }
    const joined = new Uint8Array(tail.length + chunk.length);
    joined.set(tail);
    joined.set(chunk, tail.length);
    tail = joined.length > keep ? joined.slice(joined.length - keep) : joined;
  }
  return new TextDecoder().decode(tail);
}

/** The totals of the JUnit report at `path`, or undefined when Deno wrote none. */
async function readReport(path: string): Promise<JunitTotals | undefined> {
  try {
    return junitTotals(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  try {
    await ensureSetup("test");
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
  // A fresh folder: a report found there is this run's.
  const dir = await Deno.makeTempDir({ prefix: "kdlab-test-" });
  const junitPath = join(dir, "junit.xml");
  const child = new Deno.Command(Deno.execPath(), {
    args: testArgs(Deno.args, junitPath),
    cwd: ROOT,
    stdin: "inherit",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const tail = await echoKeepingTail(child.stdout, 64 * 1024);
  const { code, signal } = await child.status;
  const verdict = judgeTestRun(
    { code, signal },
    testSummary(tail),
    await readReport(junitPath),
  );
  await Deno.remove(dir, { recursive: true });
  if (verdict.note) console.error(`[kdlab test] ${verdict.note}`);
  Deno.exit(verdict.code);
}
