/**
 * Headless notebook execution: runs a notebook through nbclient with the Deno kernel, writes the
 * executed `.ipynb` and an HTML export, and reads back the scorecards it displayed.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { PARAMS_ENV, parseJsonObject } from "../lib/notebook/params.ts";
import { type Scorecard, SCORECARD_MIME } from "../lib/notebook/scorecard.ts";
import { ROOT } from "./deno.ts";
import { SYSTEM_PYTHON } from "./setup.ts";

/** The project's root folder (defined in `deno.ts`). */
export { ROOT };

/** Options of {@linkcode runNotebook}. */
export interface RunNotebookOptions {
  /** Parameter overrides: a JSON object, or its text (validated before the kernel starts). */
  params?: Record<string, unknown> | string;
  /** Folder for the executed notebook and its HTML (default `runs/notebooks`). */
  outDir?: string;
  /** Seconds one cell may run (default 3600). */
  cellTimeoutS?: number;
  /** Set on the one retry after a transport error (internal). */
  retried?: boolean;
  /** Extra environment for the kernel (e.g. `KD_BACKEND`). */
  env?: Record<string, string>;
  /** Echo the runner's stderr (default true). */
  echo?: boolean;
}

/** What {@linkcode runNotebook} returns. */
export interface RunNotebookResult {
  ok: boolean;
  ipynb: string;
  html: string;
  seconds: number;
  /** The runner's stderr: on failure it names the failing cell and holds the traceback. */
  stderr: string;
  scorecards: Scorecard[];
}

/** Parses parameter overrides (an object, or its JSON text from `--params`). */
export function parseParams(params: RunNotebookOptions["params"]): Record<string, unknown> {
  if (params === undefined) return {};
  return typeof params === "string" ? parseJsonObject(params, "--params") : params;
}

/** Executes `notebook` headless; see {@linkcode RunNotebookOptions}. */
export async function runNotebook(
  notebook: string,
  options: RunNotebookOptions = {},
): Promise<RunNotebookResult> {
  const params = parseParams(options.params);
  const source = resolve(notebook);
  await Deno.stat(source).catch(() => {
    throw new Error(`notebook not found: ${notebook}`);
  });
  const outDir = resolve(options.outDir ?? join(ROOT, "runs", "notebooks"));
  await Deno.mkdir(outDir, { recursive: true });
  const stem = basename(source).replace(/\.ipynb$/, "");
  const ipynb = join(outDir, `${stem}.ipynb`);
  const html = join(outDir, `${stem}.html`);
  const started = performance.now();
  const child = new Deno.Command(SYSTEM_PYTHON, {
    args: [
      join(ROOT, "tools", "run_notebook.py"),
      source,
      "--ipynb",
      ipynb,
      "--html",
      html,
      "--timeout",
      String(options.cellTimeoutS ?? 3600),
    ],
    env: { ...options.env, [PARAMS_ENV]: JSON.stringify(params), XDG_RUNTIME_DIR: "/tmp" },
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const stderr = await new Response(child.stderr).text();
  const status = await child.status;
  if (options.echo ?? true) await Deno.stderr.write(new TextEncoder().encode(stderr));
  // jupyter_client occasionally rejects a kernel message's HMAC ("Invalid Signature") on a fresh
  // machine, before any cell has failed; that is the transport, not the notebook: run it once more.
  if (!status.success && /ValueError: Invalid Signature/.test(stderr) && !options.retried) {
    return runNotebook(notebook, { ...options, retried: true });
  }
  const scorecards = await readScorecards(ipynb).catch(() => []);
  return {
    ok: status.success,
    ipynb,
    html,
    seconds: (performance.now() - started) / 1000,
    stderr,
    scorecards,
  };
}

/** The scorecards displayed by an executed notebook, in order. */
export async function readScorecards(ipynb: string): Promise<Scorecard[]> {
  const nb = JSON.parse(await Deno.readTextFile(ipynb));
  const cards: Scorecard[] = [];
  for (const cell of nb.cells ?? []) {
    for (const output of cell.outputs ?? []) {
      const card = output.data?.[SCORECARD_MIME];
      if (card) cards.push(card as Scorecard);
    }
  }
  return cards;
}

/** Lists the notebooks under `notebooks/`, sorted by name. */
export async function listNotebooks(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "notebooks"))) {
    if (entry.isFile && entry.name.endsWith(".ipynb")) names.push(entry.name);
  }
  return names.sort().map((name) => join(ROOT, "notebooks", name));
}
