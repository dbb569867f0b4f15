import assert from "node:assert/strict";
import { join } from "node:path";
import { externalizePlotly, figureHtml, PLOTLY_FILE, plotlyLibrary, publishHtml } from "./mod.ts";

Deno.test("publishing a page: plotly.js once next to it, every figure kept", async () => {
  const figure = { data: [{ x: [1, 2], y: [3, 4] }] };
  const page = `<html><body>${figureHtml(figure, true)}${figureHtml(figure, false)}</body></html>`;
  const library = plotlyLibrary();
  assert.ok(page.length > library.length, "the first figure carries the library");

  const { html, replaced } = externalizePlotly(page);
  assert.equal(replaced, 1);
  assert.ok(html.length < 20_000, `${html.length} characters left`);
  assert.equal(
    html.match(/<script type="text\/javascript" src="plotly\.min\.js"><\/script>/g)?.length,
    1,
  );
  assert.equal(html.match(/class="kdlab-plot"/g)?.length, 2, "both figures' divs and data stay");
  assert.deepEqual(
    externalizePlotly(html),
    { html, replaced: 0 },
    "a published page is left as is",
  );

  const dir = await Deno.makeTempDir();
  try {
    const source = join(dir, "executed.html");
    await Deno.writeTextFile(source, page);
    const dest = join(dir, "results", "demo_full.html");
    assert.equal(await publishHtml(source, dest), 1);
    assert.equal(await Deno.readTextFile(dest), html);
    assert.equal(await Deno.readTextFile(join(dir, "results", PLOTLY_FILE)), library);
    // An outdated copy of the library is replaced.
    await Deno.writeTextFile(join(dir, "results", PLOTLY_FILE), "old");
    await publishHtml(source, dest);
    assert.equal(await Deno.readTextFile(join(dir, "results", PLOTLY_FILE)), library);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
