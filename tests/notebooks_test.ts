import assert from "node:assert/strict";
import { join } from "node:path";
import { renderedDom } from "./chromium.ts";
import { publishHtml } from "../lib/notebook/publish.ts";
import { listNotebooks, ROOT, runNotebook } from "../tools/runner.ts";

const workspace = join(ROOT, "notebooks", "00_workspace.ipynb");

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "kdlab-nb-test-" });
}

Deno.test("workspace notebook executes headless, and Chromium draws its figure", async () => {
  const outDir = await tempDir();
  const result = await runNotebook(workspace, {
    params: { size: 64, repeats: 2 },
    outDir,
    echo: false,
  });
  assert.ok(result.ok, result.stderr);
  const nb = JSON.parse(await Deno.readTextFile(result.ipynb));
  const outputs = nb.cells.flatMap((c: { outputs?: unknown[] }) => c.outputs ?? []);
  assert.equal(outputs.filter((o: { output_type: string }) => o.output_type === "error").length, 0);
  const plotly = outputs.filter((o: { data?: Record<string, unknown> }) =>
    o.data?.["application/vnd.plotly.v1+json"]
  );
  assert.equal(plotly.length, 1, "one plotly bundle");
  assert.equal(result.scorecards.length, 1);
  assert.equal(result.scorecards[0].rows[0].holds, true);

  const dom = await renderedDom(result.html);
  const svgs = dom.match(/<svg[^>]*class="main-svg"/g) ?? [];
  assert.ok(svgs.length >= 1, "plotly drew an SVG in the exported HTML");
  assert.match(dom, /class="[^"]*js-plotly-plot/);
  // Published next to a shared plotly.min.js (as data/results/ holds them), it still draws.
  const published = join(outDir, "results", "00_workspace_full.html");
  assert.equal(await publishHtml(result.html, published), 1);
  const publishedDom = await renderedDom(published);
  assert.ok((publishedDom.match(/<svg[^>]*class="main-svg"/g) ?? []).length >= 1);
  await Deno.remove(outDir, { recursive: true });
});

Deno.test("a notebook that raises fails the run and names the error", async () => {
  const dir = await tempDir();
  const notebook = join(dir, "raises.ipynb");
  const cell = (id: string, source: string) => ({
    cell_type: "code",
    id,
    metadata: {},
    execution_count: null,
    outputs: [],
    source,
  });
  await Deno.writeTextFile(
    notebook,
    JSON.stringify({
      cells: [
        cell("a", "const x = 1;"),
        cell("b", 'throw new Error("boom from the second cell");'),
      ],
      metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  const result = await runNotebook(notebook, { outDir: dir, echo: false });
  assert.equal(result.ok, false);
  assert.match(result.stderr, /boom from the second cell/);
  assert.match(result.stderr, /failed/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task nb: malformed or mistyped params exit non-zero with a clear message", async () => {
  const nb = (params: string) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tools", "nb.ts"),
        workspace,
        "--params",
        params,
        "--out",
        "/tmp/kdlab-nb-bad",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const malformed = await nb("{size: 64");
  assert.notEqual(malformed.code, 0);
  assert.match(new TextDecoder().decode(malformed.stderr), /--params is not valid JSON/);

  const mistyped = await nb('{"size": "big"}');
  assert.notEqual(mistyped.code, 0);
  assert.match(new TextDecoder().decode(mistyped.stderr), /"size" must be a number/);
});

Deno.test("every notebook executes at quick scale with no error cell and a scorecard", async () => {
  const outDir = await tempDir();
  for (const notebook of await listNotebooks()) {
    if (notebook.endsWith("00_workspace.ipynb")) continue; // covered above, with a smaller size
    // A fresh runs folder: nothing is read back from earlier runs, everything trains.
    const result = await runNotebook(notebook, {
      params: { scale: "quick" },
      outDir,
      echo: false,
      env: { KDLAB_RUNS: `${outDir}/runs` },
    });
    assert.ok(result.ok, `${notebook}:\n${result.stderr}`);
    assert.ok(result.scorecards.length >= 1, `${notebook} displays a scorecard`);
  }
  await Deno.remove(outDir, { recursive: true });
});
